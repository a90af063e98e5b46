/**
 * The accumulators of one key over one period, all families together, and the KPI values
 * the model scores.
 *
 * Coarse grains (5 minutes, hours, days, several regions or services) are made by
 * merging base windows: `windowKpis(mergeWindows(minutes))`. Every KPI is then computed
 * from summed counts and merged sketches, so an hourly ratio is the exact ratio over
 * all the hour's events, never an average of minute ratios, and KQI and CSI at that
 * grain are scored from these KPIs, never averaged from minute scores.
 */

import type { KpiFamily, KpiId } from './catalog.ts';
import { type AccumulatorOf, KPI_FAMILY_LIST } from './families.ts';
import type { WindowKpiOptions } from './family.ts';

export type { WindowKpiOptions } from './family.ts';

/** A family absent from a window had no events in it. */
export type WindowAccumulators = { [F in KpiFamily]?: AccumulatorOf<F> };

/** Merges any number of windows (none gives an empty window). Inputs are not changed. */
export function mergeWindows(windows: Iterable<WindowAccumulators>): WindowAccumulators {
  const out: Partial<Record<KpiFamily, object>> = {};
  for (const w of windows) {
    const add = w as Partial<Record<KpiFamily, object>>;
    for (const family of KPI_FAMILY_LIST) {
      const b = add[family.name];
      if (b === undefined) continue;
      const a = out[family.name];
      // The first window's accumulator is kept as it is until a second one is merged into a new one.
      out[family.name] = a === undefined ? b : family.merge(a, b);
    }
  }
  return out as WindowAccumulators;
}

/**
 * Every KPI of a window by catalog id (catalog.ts), family by family (families.ts). A
 * family with no accumulator reads as an empty one: 0 for its counts, null for its
 * ratios, means and percentiles.
 */
export function windowKpis(w: WindowAccumulators, options: WindowKpiOptions = {}): Record<KpiId, number | null> {
  const accumulators = w as Partial<Record<KpiFamily, object>>;
  const out: Partial<Record<KpiId, number | null>> = {};
  for (const family of KPI_FAMILY_LIST) Object.assign(out, family.kpis(accumulators[family.name] ?? family.empty(), options));
  return out as Record<KpiId, number | null>;
}
