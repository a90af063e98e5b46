/**
 * The value-weighted CSI: the segments' CSIs weighted by customer value (`segments` in
 * the model), beside the plain CSI. The plain CSI counts every event alike, so a
 * segment with many customers dominates it; the value-weighted one lets a small,
 * valuable segment (business, VIP) weigh what it is worth.
 *
 * csi = Σ w_s · CSI_s / Σ w_s over model segments with a CSI; coverage is
 * Σ w_s · coverage_s / Σ w_s over every model segment; pointsLost_s =
 * weightShare_s × (100 − CSI_s), adding up to 100 − csi. Segments seen in the data but
 * absent from the model have no value weight: they are listed in `unweighted`, not guessed.
 */

import type { CsiScore } from './score.ts';
import type { CxModel } from './types.ts';

export interface SegmentContribution {
  segment: string;
  weight: number;
  weightShare: number;
  csi: number | null;
  coverage: number;
  contribution: number;
  pointsLost: number;
}

export interface ValueWeightedCsi {
  csi: number | null;
  coverage: number;
  segments: SegmentContribution[];
  /** Segments with a CSI but no weight in the model. */
  unweighted: string[];
}

export function scoreValueWeightedCsi(model: CxModel, bySegment: ReadonlyMap<string, CsiScore>): ValueWeightedCsi {
  const weights = Object.entries(model.segments);
  let total = 0;
  let present = 0;
  let sum = 0;
  let covered = 0;
  for (const [segment, weight] of weights) {
    total += weight;
    const s = bySegment.get(segment);
    if (!s || s.csi === null) continue;
    present += weight;
    sum += weight * s.csi;
    covered += weight * s.coverage;
  }
  const segments = weights.map(([segment, weight]): SegmentContribution => {
    const s = bySegment.get(segment);
    const csi = s?.csi ?? null;
    const weightShare = csi === null ? 0 : weight / present;
    return {
      segment,
      weight,
      weightShare,
      csi,
      coverage: s?.coverage ?? 0,
      contribution: csi === null ? 0 : weightShare * csi,
      pointsLost: csi === null ? 0 : weightShare * (100 - csi),
    };
  });
  return {
    csi: present > 0 ? sum / present : null,
    coverage: total > 0 ? covered / total : 0,
    segments,
    unweighted: [...bySegment.keys()].filter((s) => !Object.hasOwn(model.segments, s)).sort(),
  };
}
