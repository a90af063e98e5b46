import type { ProbeKpiOptions } from '../../families/probe/accumulator.ts';
import type { KpiFamily, KpiId } from './catalog.ts';

/** What a window's KPIs may depend on beyond its accumulators. */
export interface WindowKpiOptions extends ProbeKpiOptions {
  /** The social surge z of this window, when the caller tracks it (surge.ts); else null. */
  socialSurge?: number | null;
}

/**
 * One built-in KPI family behind one interface: its accumulator (`empty`, `add`, `merge`)
 * and the KPIs it gives (`kpis`, catalog ids: catalog.ts lists each id's family). The
 * window, the read side and the model loop over `KPI_FAMILIES` (families.ts) instead of
 * naming the families. Each built-in family is one folder, services/families/<family>/:
 * `source.ts` (input schema, record), `accumulator.ts` (this interface), `catalog.ts` (its
 * KPI entries) and `binding.ts` (how the aggregator keys and stores it).
 *
 * The accumulator holds only sums, counts and mergeable sketches, so `merge` of two
 * windows is exact and is what ClickHouse's `sumMap` over the flattened `sums` gives
 * (flatten.ts).
 */
export interface KpiFamilyDefinition<A extends object = object, M = never, F extends KpiFamily = KpiFamily> {
  readonly name: F;
  empty(): A;
  /** Adds one measurement in place (with the family's default settings; the aggregator's binding may pass its own). */
  add(acc: A, measurement: M): A;
  /** The accumulator of both windows. Inputs are not changed. */
  merge(a: A, b: A): A;
  /** Every KPI of the family, by catalog id: null where undefined (no data). */
  kpis(acc: A, options: WindowKpiOptions): Partial<Record<KpiId, number | null>>;
  /**
   * The KPIs that are a share of events (good or bad ones / all), with the counts behind
   * them: a goal on one has an error budget and burn rates. Means, percentiles, scores and
   * counts are not shares.
   */
  readonly shares: Partial<Record<KpiId, ShareOf<A>>>;
}

/** The counts behind one share KPI. Declared as a method so a family's definition is also a `KpiFamilyDefinition<object>` (the registry's loop). */
type ShareOf<A> = { parts(acc: A, options: WindowKpiOptions): RatioParts }['parts'];

/** The counts behind a share KPI: its value is numerator / denominator. */
export interface RatioParts {
  numerator: number;
  denominator: number;
}
