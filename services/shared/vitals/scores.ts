import { explainCsi } from '../../model/explain.ts';
import { type CsiScore, scoreCsi } from '../../model/score.ts';
import { scoreValueWeightedCsi, type ValueWeightedCsi } from '../../model/segments.ts';
import type { CxModel } from '../../model/types.ts';
import { KPI_FAMILY_LIST } from '../kpi/families.ts';
import type { KpiFamilyDefinition, RatioParts, WindowKpiOptions } from '../kpi/family.ts';
import { declaredKpis } from '../sources/registry.ts';
import { type KpiBucket, kpiValues } from './buckets.ts';

/**
 * What a bucket's accumulators mean at the grain they were read at: KPI values, the
 * counts behind the ratio KPIs, KQI and CSI scores (plain and value-weighted). Pure
 * functions; the reads that fill the buckets are in buckets.ts.
 */

export type { RatioParts } from '../kpi/family.ts';

/**
 * The built-in KPIs that are a share of events, each with its family (family.ts `shares`):
 * a goal on one has an error budget and burn rates.
 */
const EVENT_SHARES = new Map<
  string,
  { family: KpiFamilyDefinition<object, never>; parts: (acc: object, options: WindowKpiOptions) => RatioParts }
>(KPI_FAMILY_LIST.flatMap((family) => Object.entries(family.shares).map(([kpi, parts]) => [kpi, { family, parts }] as const)));

/** Whether a KPI is a share of events (built-in, or a declared `share`). */
export function isEventShare(kpi: string): boolean {
  if (EVENT_SHARES.has(kpi)) return true;
  return declaredKpis().some((k) => k.id === kpi && k.aggregate === 'share');
}

/** The counts behind an event-share KPI in a bucket; undefined for other KPIs. */
export function ratioParts(b: KpiBucket, kpi: string, excuseRetroactive: boolean): RatioParts | undefined {
  const share = EVENT_SHARES.get(kpi);
  if (share) {
    const acc = (b.accumulators as Partial<Record<string, object>>)[share.family.name] ?? share.family.empty();
    return share.parts(acc, { excuseRetroactive });
  }
  const declared = declaredKpis().find((k) => k.id === kpi && k.aggregate === 'share');
  if (!declared) return undefined;
  return b.declared[declared.source]?.[declared.name] ?? { numerator: 0, denominator: 0 };
}

/** The KPI → KQI → CSI score of one bucket under the model. */
export const scoreBucket = (model: CxModel, b: KpiBucket, excuseRetroactive: boolean): CsiScore =>
  scoreCsi(model, kpiValues(b, excuseRetroactive));

/**
 * A segment's buckets by start, built once per list: a scan per bucket made a CSI read
 * quadratic in its buckets (issue 15, finding 2).
 */
const byStartOf = new WeakMap<readonly KpiBucket[], Map<number, KpiBucket>>();
function bucketsByStart(list: readonly KpiBucket[]): Map<number, KpiBucket> {
  let index = byStartOf.get(list);
  if (!index) {
    index = new Map(list.map((b) => [b.start, b]));
    byStartOf.set(list, index);
  }
  return index;
}

/**
 * The value-weighted CSI of the bucket starting at `start`, from each segment's bucket
 * (segments in the model's order); null when no segment has data there.
 */
export function valueWeightedAt(
  model: CxModel,
  bySegment: ReadonlyMap<string, readonly KpiBucket[]>,
  start: number,
  excuseRetroactive: boolean,
): ValueWeightedCsi | null {
  const scores = new Map<string, CsiScore>();
  for (const segment of Object.keys(model.segments)) {
    const list = bySegment.get(segment);
    const match = list ? bucketsByStart(list).get(start) : undefined;
    if (match) scores.set(segment, scoreBucket(model, match, excuseRetroactive));
  }
  return scores.size > 0 ? scoreValueWeightedCsi(model, scores) : null;
}

/** A CSI bucket as the API shows it: score, coverage, explanation and contributions. */
export function csiView(score: CsiScore) {
  return {
    csi: score.csi,
    coverage: score.coverage,
    explanation: explainCsi(score),
    contributions: score.contributions,
    kqis: score.kqis,
  };
}
