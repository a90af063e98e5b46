import { emptyProbe } from '../../families/probe/accumulator.ts';
import type { KpiId } from '../kpi/catalog.ts';
import { builtInFamily } from '../kpi/families.ts';
import { flatten, unflatten } from '../kpi/flatten.ts';
import { initialSurgeState, surgeSkip, surgeStep } from '../kpi/surge.ts';
import { mergeWindows, type WindowAccumulators, windowKpis } from '../kpi/window.ts';
import { kpiValue } from '../sources/declared-kpi.ts';
import { declaredKpis } from '../sources/registry.ts';
import type { Store } from '../store/store.ts';
import {
  type Bucketing,
  bucketingOf,
  bucketOf,
  bucketSql,
  epochBuckets,
  type Grouping,
  type GroupRow,
  groupColumns,
  groupIdOf,
  type KeyFilter,
  type KpiFilter,
  whereClause,
} from './filter.ts';
import { type ProbeCounts, readProbeCounts } from './probe-counts.ts';
import { windowSource } from './rollup.ts';
import { Slices } from './slices.ts';

/**
 * KPI reads: per bucket the accumulators of every family, summed in ClickHouse
 * (`sumMap` over kpi_1m, sums over probe_kpi_1m), turned into KPI values in TypeScript
 * by the same functions the model uses. Coarse buckets and several regions or services
 * are exact sums; nothing is averaged.
 */

export interface KpiBucket {
  start: number;
  accumulators: WindowAccumulators;
  /** Declared sources' KPI sums: source → KPI name → numerator/denominator. */
  declared: Record<string, Record<string, { numerator: number; denominator: number }>>;
  /** Largest social-surge z of the bucket's minutes (null during warm-up or with no baseline). */
  socialSurge: number | null;
}

const MINUTE = 60_000;
/** Minutes before `from` read to warm up the surge baseline. */
const SURGE_HISTORY_MINUTES = 60;
const SURGE_GAP_CAP = 200;

export async function readKpiBuckets(store: Store, f: KpiFilter): Promise<KpiBucket[]> {
  return (await readBuckets(store, f, bucketingOf(f), { by: 'none' })).get('') ?? [];
}

/**
 * The whole of [from, to) as one bucket (starting at `from`), whatever its length or
 * alignment: a goal's value over its window. Equal to the API's bucket when the API's
 * step is the range and the range starts on a multiple of it. Undefined without data.
 */
export async function readKpiRange(store: Store, f: Omit<KpiFilter, 'stepSec'>): Promise<KpiBucket | undefined> {
  const whole = { stepMs: Math.max(1, Math.ceil(f.to) - Math.floor(f.from)), originMs: Math.floor(f.from) };
  return (await readBuckets(store, { ...f, stepSec: whole.stepMs / 1000 }, whole, { by: 'none' })).get('')?.[0];
}

/** Buckets of any size and origin (a feed's points); readKpiBuckets is the API's epoch-aligned case. */
export async function readKpiBucketsAt(store: Store, f: Omit<KpiFilter, 'stepSec'>, bucketing: Bucketing): Promise<KpiBucket[]> {
  return (await readBuckets(store, { ...f, stepSec: bucketing.stepMs / 1000 }, bucketing, { by: 'none' })).get('') ?? [];
}

/**
 * The buckets of each of `segments` under one filter (without a segment of its own), in
 * as many queries as one read: the same as reading each segment on its own, without a
 * round of queries per segment (chDB runs them one after another).
 */
export async function readKpiBucketsBySegment(
  store: Store,
  f: Omit<KpiFilter, 'segment'>,
  segments: readonly string[],
  bucketing: Bucketing = bucketingOf(f),
): Promise<Map<string, KpiBucket[]>> {
  if (segments.length === 0) return new Map();
  return readBuckets(store, { ...f, segment: undefined }, bucketing, { by: 'segment', segments });
}

/**
 * The buckets of several (service, region) keys at once, each on its own (all segments):
 * a handful of queries whatever the number of keys. The CSI materializer scores every
 * key a tick touched with it.
 */
export async function readKpiBucketsByKey(
  store: Store,
  f: { keys: KeyFilter; from: number; to: number; stepSec: number },
): Promise<Map<string, KpiBucket[]>> {
  if (f.keys.length === 0) return new Map();
  return readBuckets(
    store,
    { services: [], region: undefined, segment: undefined, from: f.from, to: f.to, stepSec: f.stepSec },
    epochBuckets(f.stepSec),
    { by: 'key', keys: f.keys },
  );
}

/** Buckets per group id: kpiKeyId per key, the segment per segment, '' for everything the filter selects. */
async function readBuckets(
  store: Store,
  f: KpiFilter,
  bucketing: Bucketing,
  grouping: Grouping,
): Promise<Map<string, KpiBucket[]>> {
  const keyColumns = groupColumns(grouping);
  const idOf = groupIdOf(grouping);
  const params: Record<string, unknown> = { stepMs: bucketing.stepMs, originMs: bucketing.originMs };
  // Whole days of the range from kpi_1d where its rollup is current (rollup.ts).
  const readFamilies = async () => {
    const source = await windowSource(store, 'kpi_1m', whereClause(f, params, { segment: true, grouping }), params, f, bucketing);
    return store.query<GroupRow & { family: string; bucket: string; sums: Record<string, number> }>(
      `SELECT ${keyColumns}family, ${bucketSql(bucketing)} AS bucket, sumMap(sums) AS sums
       FROM ${source}
       GROUP BY ${keyColumns}family, bucket ORDER BY bucket`,
      params,
    );
  };
  // The three reads side by side: embedded, each read connection runs one (a CSI read
  // waited for them one after another); a server runs them at once.
  const [families, probeCounts, surgeRows] = await Promise.all([
    readFamilies(),
    // Availability and Serviceability come from probe_kpi_1m, which keeps the maintenance
    // split up to date; it has no segment, so a segment filter leaves them out.
    f.segment === undefined && grouping.by !== 'segment'
      ? readProbeCounts(store, f, bucketing, grouping)
      : Promise.resolve(new Map<string, Map<number, ProbeCounts>>()),
    readSurgeMinutes(store, f, grouping),
  ]);
  const buckets = new Map<string, Map<number, KpiBucket>>();
  const bucket = (id: string, start: number) => {
    let ofKey = buckets.get(id);
    if (!ofKey) {
      ofKey = new Map();
      buckets.set(id, ofKey);
    }
    let b = ofKey.get(start);
    if (!b) {
      b = { start, accumulators: {}, declared: {}, socialSurge: null };
      ofKey.set(start, b);
    }
    return b;
  };
  // Tens of thousands of rows for the heaviest read the limits allow: in slices (slices.ts).
  const slices = new Slices();
  for (const row of families) {
    if (slices.due) await slices.turn();
    const b = bucket(idOf(row), Number(row.bucket));
    const sums = row.sums;
    const family = builtInFamily(row.family);
    if (family) (b.accumulators as Record<string, object>)[family.name] = unflatten(family.empty(), sums);
    else b.declared[row.family] = unflattenDeclared(sums);
  }
  for (const [id, ofGroup] of probeCounts) {
    for (const [start, counts] of ofGroup) {
      const b = bucket(id, start);
      const probe = b.accumulators.probe ?? emptyProbe();
      probe.availability = {
        attempts: counts.attempts,
        successes: counts.successes,
        plannedAttempts: counts.plannedAttempts,
        plannedSuccesses: counts.plannedSuccesses,
        retroAttempts: counts.retroAttempts,
        retroSuccesses: counts.retroSuccesses,
      };
      b.accumulators.probe = probe;
    }
  }
  addSocialSurge(surgeRows, f, bucketing, grouping, buckets);
  const out = new Map<string, KpiBucket[]>();
  for (const [id, ofKey] of buckets)
    out.set(
      id,
      [...ofKey.values()].sort((a, b) => a.start - b.start),
    );
  return out;
}

type SurgeMinute = GroupRow & { minute: string; mentions: string };

/** Surge is per minute against a trailing baseline, so it is read minute by minute with history before `from`. */
function readSurgeMinutes(store: Store, f: KpiFilter, grouping: Grouping): Promise<SurgeMinute[]> {
  const start = Math.floor(f.from / MINUTE) * MINUTE - SURGE_HISTORY_MINUTES * MINUTE;
  const params: Record<string, unknown> = {};
  const keyColumns = groupColumns(grouping);
  return store.query<SurgeMinute>(
    `SELECT ${keyColumns}toUnixTimestamp64Milli(window_start) AS minute, sum(sums['mentions']) AS mentions
     FROM ${store.table('kpi_1m')} FINAL WHERE family = 'social' AND ${whereClause({ ...f, from: start }, params, { segment: true, grouping })}
     GROUP BY ${keyColumns}minute ORDER BY ${keyColumns}minute`,
    params,
  );
}

/** Each bucket's largest surge z, from its key's minutes (`readSurgeMinutes`). */
function addSocialSurge(
  rows: readonly SurgeMinute[],
  f: KpiFilter,
  bucketing: Bucketing,
  grouping: Grouping,
  buckets: Map<string, Map<number, KpiBucket>>,
): void {
  const idOf = groupIdOf(grouping);
  // Walk each key's minutes that have mentions; a gap is a run of zero-mention windows.
  // After GAP_CAP empty windows the baseline has decayed to nothing (0.9^200 ≈ 7e-10), so
  // a longer gap is fed as GAP_CAP windows: a year of history costs its data, not its minutes.
  let id: string | undefined;
  let state = initialSurgeState();
  let previous: number | undefined;
  for (const row of rows) {
    if (idOf(row) !== id) {
      id = idOf(row);
      state = initialSurgeState();
      previous = undefined;
    }
    const minute = Number(row.minute);
    if (previous !== undefined) state = surgeSkip(state, Math.min((minute - previous) / MINUTE - 1, SURGE_GAP_CAP));
    const step = surgeStep(state, Number(row.mentions));
    state = step.state;
    previous = minute;
    if (minute < f.from || step.z === null) continue;
    const b = buckets.get(id)?.get(bucketOf(minute, bucketing));
    if (b && (b.socialSurge === null || step.z > b.socialSurge)) b.socialSurge = step.z;
  }
}

/** `name.numerator` / `name.denominator` sums back into contributions per KPI name. */
function unflattenDeclared(sums: Record<string, number>): Record<string, { numerator: number; denominator: number }> {
  const out: Record<string, { numerator: number; denominator: number }> = {};
  for (const [key, value] of Object.entries(sums)) {
    const cut = key.lastIndexOf('.');
    const name = key.slice(0, cut);
    const part = key.slice(cut + 1);
    const entry = out[name] ?? { numerator: 0, denominator: 0 };
    if (part === 'numerator' || part === 'denominator') entry[part] = Number(value);
    out[name] = entry;
  }
  return out;
}

/** Every KPI of a bucket: the built-in catalog's, and `<source>_<kpi>` of declared sources. */
export function kpiValues(
  b: KpiBucket,
  excuseRetroactive: boolean,
): Record<KpiId, number | null> & Record<string, number | null> {
  const values: Record<string, number | null> = windowKpis(b.accumulators, { excuseRetroactive, socialSurge: b.socialSurge });
  for (const k of declaredKpis()) {
    const sums = b.declared[k.source]?.[k.name];
    values[k.id] = kpiValue(k, sums);
  }
  return values as Record<KpiId, number | null> & Record<string, number | null>;
}

/** One bucket from several buckets: sums of counts, merged sketches, the largest surge. */
export function mergeBuckets(buckets: readonly KpiBucket[], start: number): KpiBucket {
  const declared: KpiBucket['declared'] = {};
  for (const b of buckets) {
    for (const [source, kpis] of Object.entries(b.declared)) {
      const into = declared[source] ?? {};
      for (const [name, sums] of Object.entries(kpis)) {
        const prior = into[name] ?? { numerator: 0, denominator: 0 };
        into[name] = { numerator: prior.numerator + sums.numerator, denominator: prior.denominator + sums.denominator };
      }
      declared[source] = into;
    }
  }
  const surges = buckets.map((b) => b.socialSurge).filter((z): z is number => z !== null);
  return {
    start,
    accumulators: mergeWindows(buckets.map((b) => b.accumulators)),
    declared,
    socialSurge: surges.length > 0 ? Math.max(...surges) : null,
  };
}

/** For tests and debugging: the flat sums of a bucket's accumulators. */
export const flatSums = (b: KpiBucket): Record<string, Record<string, number>> =>
  Object.fromEntries(Object.entries(b.accumulators).map(([family, acc]) => [family, flatten(acc as object)]));
