/**
 * KPI → KQI → CSI scoring with its explanation (design doc, "KPI → KQI → CSI").
 *
 * - A KPI scores 100 at `best`, 0 at `worst`, linearly between, clamped to [0, 100]; the
 *   same formula serves "higher is better" (best > worst) and "lower is better".
 * - A KQI is the weighted mean of the scores of its KPIs that have a value; the weights
 *   are renormalised over those (`weightShare`), and `coverage` is the share of the
 *   KQI's weight that had data. The CSI is the same over KQIs.
 * - The CSI's coverage is the share of its whole weight, down to the KPIs, that had data:
 *   Σ (KQI weight × KQI coverage) / Σ KQI weight. A KQI missing one of two equal KPIs
 *   counts as half present, not as present.
 * - pointsLost = weightShare × (100 − score). Within a KQI they add up to 100 − KQI
 *   score; over the CSI's KQIs to 100 − CSI. A KPI's `csiPointsLost` (its KQI's share ×
 *   its own points lost) also add up, over all KPIs, to 100 − CSI.
 */

import type { KpiUnit } from '../shared/kpi/catalog.ts';
import { mergeWindows, type WindowAccumulators, type WindowKpiOptions, windowKpis } from '../shared/kpi/window.ts';
import type { CxModel, KpiScale, KqiDefinition } from './types.ts';

/** KPI values by id (`windowKpis` output, plus declared KPIs); absent or null = no data. */
export type KpiValueMap = Readonly<Partial<Record<string, number | null>>>;

export interface KpiScore {
  kpi: string;
  label: string;
  unit: KpiUnit;
  value: number | null;
  score: number | null;
  best: number;
  worst: number;
  weight: number;
  /** weight / Σ weight of the KQI's KPIs that have a value; 0 without a value. */
  weightShare: number;
  /** weightShare × (100 − score): KQI points this KPI cost. */
  pointsLost: number;
  /** The KQI's share in the CSI × pointsLost: CSI points this KPI cost (0 when its KQI is not in the CSI). */
  csiPointsLost: number;
}

export interface KqiScore {
  kqi: string;
  label: string;
  score: number | null;
  coverage: number;
  kpis: KpiScore[];
}

export interface KqiContribution {
  kqi: string;
  label: string;
  weight: number;
  weightShare: number;
  score: number | null;
  /** weightShare × score: CSI points this KQI brought. */
  contribution: number;
  /** weightShare × (100 − score): CSI points this KQI cost. */
  pointsLost: number;
}

export interface CsiScore {
  csi: number | null;
  coverage: number;
  contributions: KqiContribution[];
  kqis: KqiScore[];
  modelVersion: number;
  modelHash: string;
}

/** 100 at best, 0 at worst, linear, clamped; null without a value. */
export function scoreKpi(value: number | null | undefined, scale: Pick<KpiScale, 'best' | 'worst'>): number | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  const score = (100 * (value - scale.worst)) / (scale.best - scale.worst);
  return Math.min(100, Math.max(0, score));
}

interface Weighted {
  weight: number;
  score: number | null;
}

/** Weighted mean over the inputs with a score, and the share of weight they hold. */
function weightedMean(inputs: readonly Weighted[]): { score: number | null; coverage: number; present: number } {
  let total = 0;
  let present = 0;
  let sum = 0;
  for (const { weight, score } of inputs) {
    total += weight;
    if (score === null) continue;
    present += weight;
    sum += weight * score;
  }
  return { score: present > 0 ? sum / present : null, coverage: total > 0 ? present / total : 0, present };
}

export function scoreKqi(model: CxModel, kqi: KqiDefinition, values: KpiValueMap): KqiScore {
  const scored = kqi.kpis.map((m) => {
    const scale = model.kpis[m.kpi];
    const value = values[m.kpi] ?? null;
    return { m, scale, value, score: scale ? scoreKpi(value, scale) : null };
  });
  const mean = weightedMean(scored.map((s) => ({ weight: s.m.weight, score: s.score })));
  return {
    kqi: kqi.name,
    label: kqi.label,
    score: mean.score,
    coverage: mean.coverage,
    kpis: scored.map(({ m, scale, value, score }) => {
      const weightShare = score === null ? 0 : m.weight / mean.present;
      return {
        kpi: m.kpi,
        label: scale?.label ?? m.kpi,
        unit: scale?.unit ?? 'score',
        value,
        score,
        best: scale?.best ?? Number.NaN,
        worst: scale?.worst ?? Number.NaN,
        weight: m.weight,
        weightShare,
        pointsLost: score === null ? 0 : weightShare * (100 - score),
        csiPointsLost: 0,
      };
    }),
  };
}

/** Every KQI of the model (CSI members first, in CSI order) and the CSI with its explanation. */
export function scoreCsi(model: CxModel, values: KpiValueMap): CsiScore {
  const byName = new Map(model.kqis.map((k) => [k.name, scoreKqi(model, k, values)]));
  const members = model.csi.map((m) => ({ m, kqi: byName.get(m.kqi) }));
  const mean = weightedMean(members.map(({ m, kqi }) => ({ weight: m.weight, score: kqi?.score ?? null })));
  const totalWeight = model.csi.reduce((s, m) => s + m.weight, 0);
  const coverage = totalWeight > 0 ? members.reduce((s, { m, kqi }) => s + m.weight * (kqi?.coverage ?? 0), 0) / totalWeight : 0;

  const contributions = members.map(({ m, kqi }): KqiContribution => {
    const score = kqi?.score ?? null;
    const weightShare = score === null ? 0 : m.weight / mean.present;
    if (kqi) for (const k of kqi.kpis) k.csiPointsLost = weightShare * k.pointsLost;
    return {
      kqi: m.kqi,
      label: kqi?.label ?? m.kqi,
      weight: m.weight,
      weightShare,
      score,
      contribution: score === null ? 0 : weightShare * score,
      pointsLost: score === null ? 0 : weightShare * (100 - score),
    };
  });
  const inCsi = new Set(model.csi.map((m) => m.kqi));
  const kqis = [
    ...model.csi.flatMap((m) => byName.get(m.kqi) ?? []),
    ...model.kqis.filter((k) => !inCsi.has(k.name)).flatMap((k) => byName.get(k.name) ?? []),
  ];
  return { csi: mean.score, coverage, contributions, kqis, modelVersion: model.version, modelHash: model.hash };
}

/**
 * The CSI of a coarse grain (5 minutes, an hour, a day, several regions or services):
 * the windows' accumulators are merged, KPIs are computed from the merged sums and
 * sketches, and those are scored. Never the mean of the windows' CSIs.
 */
export function scoreWindows(model: CxModel, windows: Iterable<WindowAccumulators>, options: WindowKpiOptions = {}): CsiScore {
  return scoreCsi(model, windowKpis(mergeWindows(windows), options));
}
