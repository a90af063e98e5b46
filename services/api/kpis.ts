import { flatten, unflatten } from '../aggregator/flatten.ts';
import type { AvailabilityCounts } from '../shared/kpi/availability.ts';
import type { KpiId } from '../shared/kpi/catalog.ts';
import { emptyContact } from '../shared/kpi/contact.ts';
import { emptyProbe } from '../shared/kpi/probe.ts';
import { emptySocial } from '../shared/kpi/social.ts';
import { initialSurgeState, surgeSkip, surgeStep } from '../shared/kpi/surge.ts';
import { emptySurvey } from '../shared/kpi/survey.ts';
import { type WindowAccumulators, windowKpis } from '../shared/kpi/window.ts';
import { kpiValue } from '../shared/sources/declared-kpi.ts';
import { declaredKpis } from '../shared/sources/registry.ts';
import type { Store } from '../shared/store/store.ts';

/**
 * KPI reads: per bucket the accumulators of every family, summed in ClickHouse
 * (`sumMap` over kpi_1m, sums over probe_kpi_1m), turned into KPI values in TypeScript
 * by the same functions the model uses. Coarse buckets and several regions or services
 * are exact sums; nothing is averaged.
 */

export interface KpiFilter {
  /** One service, several (a product's), or all when empty. */
  services: string[];
  region: string | undefined;
  segment: string | undefined;
  from: number;
  to: number;
  stepSec: number;
}

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

function where(
  f: KpiFilter,
  params: Record<string, unknown>,
  options: { segment: boolean; keys?: KeyFilter; segments?: readonly string[] },
): string {
  params.services = f.services;
  params.anyService = f.services.length === 0 ? 1 : 0;
  params.region = f.region ?? '';
  params.anyRegion = f.region === undefined ? 1 : 0;
  params.segment = f.segment ?? '';
  params.anySegment = f.segment === undefined ? 1 : 0;
  const clauses = [
    '({anyService:UInt8} = 1 OR has({services:Array(String)}, service))',
    '({anyRegion:UInt8} = 1 OR region = {region:String})',
    options.segment ? '({anySegment:UInt8} = 1 OR segment = {segment:String})' : '1',
    'window_start >= fromUnixTimestamp64Milli({from:Int64}) AND window_start < fromUnixTimestamp64Milli({to:Int64})',
  ];
  if (options.segments) {
    params.segmentList = options.segments;
    clauses.push('has({segmentList:Array(String)}, segment)');
  }
  if (options.keys) {
    params.keyServices = options.keys.map((k) => k.service);
    params.keyRegions = options.keys.map((k) => k.region);
    // A hashed set of (service, region) pairs: one lookup per row however many keys.
    clauses.push(
      `(service, region) IN (SELECT tupleElement(k, 1), tupleElement(k, 2)
         FROM (SELECT arrayJoin(arrayZip({keyServices:Array(String)}, {keyRegions:Array(String)})) AS k))`,
    );
  }
  return clauses.join(' AND ');
}

type KeyFilter = ReadonlyArray<{ service: string; region: string }>;

/**
 * How one read splits its buckets: everything the filter selects together, per
 * (service, region) key, or per segment (probe_kpi_1m has no segment, so per-segment
 * buckets carry no Availability, as with a segment filter).
 */
type Grouping = { by: 'none' } | { by: 'key'; keys: KeyFilter } | { by: 'segment'; segments: readonly string[] };

interface GroupRow {
  service?: string;
  region?: string;
  segment?: string;
}

const groupColumns = (g: Grouping): string => (g.by === 'key' ? 'service, region, ' : g.by === 'segment' ? 'segment, ' : '');
const groupIdOf =
  (g: Grouping) =>
  (row: GroupRow): string =>
    g.by === 'key' ? kpiKeyId(row.service ?? '', row.region ?? '') : g.by === 'segment' ? (row.segment ?? '') : '';
const groupWhere = (g: Grouping) => (g.by === 'key' ? { keys: g.keys } : g.by === 'segment' ? { segments: g.segments } : {});

/** The id of a (service, region) in the maps readKpiBucketsByKey returns. */
export const kpiKeyId = (service: string, region: string): string => `${service}\u0000${region}`;

export async function readKpiBuckets(store: Store, f: KpiFilter): Promise<KpiBucket[]> {
  return (await readBuckets(store, f, { by: 'none' })).get('') ?? [];
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
): Promise<Map<string, KpiBucket[]>> {
  if (segments.length === 0) return new Map();
  return readBuckets(store, { ...f, segment: undefined }, { by: 'segment', segments });
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
    { by: 'key', keys: f.keys },
  );
}

/** Buckets per group id: kpiKeyId per key, the segment per segment, '' for everything the filter selects. */
async function readBuckets(store: Store, f: KpiFilter, grouping: Grouping): Promise<Map<string, KpiBucket[]>> {
  const stepMs = f.stepSec * 1000;
  const keyColumns = groupColumns(grouping);
  const idOf = groupIdOf(grouping);
  const params: Record<string, unknown> = { from: f.from, to: f.to, stepMs };
  const families = await store.query<
    GroupRow & {
      family: string;
      bucket: string;
      sums: Record<string, number>;
    }
  >(
    `SELECT ${keyColumns}family, intDiv(toUnixTimestamp64Milli(window_start), {stepMs:Int64}) * {stepMs:Int64} AS bucket, sumMap(sums) AS sums
     FROM ${store.table('kpi_1m')} FINAL WHERE ${where(f, params, { segment: true, ...groupWhere(grouping) })}
     GROUP BY ${keyColumns}family, bucket ORDER BY bucket`,
    params,
  );
  // Availability and Serviceability come from probe_kpi_1m, which keeps the maintenance
  // split up to date; it has no segment, so a segment filter leaves them out.
  const availabilityParams: Record<string, unknown> = { from: f.from, to: f.to, stepMs };
  const availability =
    f.segment === undefined && grouping.by !== 'segment'
      ? await store.query<Record<string, string>>(
          `SELECT ${keyColumns}intDiv(toUnixTimestamp64Milli(window_start), {stepMs:Int64}) * {stepMs:Int64} AS bucket,
                  sum(attempts) AS attempts, sum(successes) AS successes,
                  sum(planned_attempts) AS plannedAttempts, sum(planned_successes) AS plannedSuccesses,
                  sum(retro_attempts) AS retroAttempts, sum(retro_successes) AS retroSuccesses
           FROM ${store.table('probe_kpi_1m')} FINAL WHERE ${where(f, availabilityParams, { segment: false, ...groupWhere(grouping) })}
           GROUP BY ${keyColumns}bucket ORDER BY bucket`,
          availabilityParams,
        )
      : [];
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
  for (const row of families) {
    const b = bucket(idOf(row), Number(row.bucket));
    const sums = row.sums;
    switch (row.family) {
      case 'probe':
        b.accumulators.probe = unflatten(emptyProbe(), sums);
        break;
      case 'contact':
        b.accumulators.contact = unflatten(emptyContact(), sums);
        break;
      case 'survey':
        b.accumulators.survey = unflatten(emptySurvey(), sums);
        break;
      case 'social':
        b.accumulators.social = unflatten(emptySocial(), sums);
        break;
      default:
        b.declared[row.family] = unflattenDeclared(sums);
        break;
    }
  }
  for (const row of availability) {
    const b = bucket(idOf(row), Number(row.bucket));
    const probe = b.accumulators.probe ?? emptyProbe();
    const counts: AvailabilityCounts = {
      attempts: Number(row.attempts),
      successes: Number(row.successes),
      plannedAttempts: Number(row.plannedAttempts),
      plannedSuccesses: Number(row.plannedSuccesses),
      retroAttempts: Number(row.retroAttempts),
      retroSuccesses: Number(row.retroSuccesses),
    };
    probe.availability = counts;
    b.accumulators.probe = probe;
  }
  await addSocialSurge(store, f, grouping, buckets);
  const out = new Map<string, KpiBucket[]>();
  for (const [id, ofKey] of buckets)
    out.set(
      id,
      [...ofKey.values()].sort((a, b) => a.start - b.start),
    );
  return out;
}

/** Surge is per minute against a trailing baseline, so it is read minute by minute with history before `from`. */
async function addSocialSurge(
  store: Store,
  f: KpiFilter,
  grouping: Grouping,
  buckets: Map<string, Map<number, KpiBucket>>,
): Promise<void> {
  const start = Math.floor(f.from / MINUTE) * MINUTE - SURGE_HISTORY_MINUTES * MINUTE;
  const params: Record<string, unknown> = { from: start, to: f.to };
  const keyColumns = groupColumns(grouping);
  const idOf = groupIdOf(grouping);
  const rows = await store.query<GroupRow & { minute: string; mentions: string }>(
    `SELECT ${keyColumns}toUnixTimestamp64Milli(window_start) AS minute, sum(sums['mentions']) AS mentions
     FROM ${store.table('kpi_1m')} FINAL WHERE family = 'social' AND ${where({ ...f, from: start }, params, { segment: true, ...groupWhere(grouping) })}
     GROUP BY ${keyColumns}minute ORDER BY ${keyColumns}minute`,
    params,
  );
  // Walk each key's minutes that have mentions; a gap is a run of zero-mention windows.
  // After GAP_CAP empty windows the baseline has decayed to nothing (0.9^200 ≈ 7e-10), so
  // a longer gap is fed as GAP_CAP windows: a year of history costs its data, not its minutes.
  const stepMs = f.stepSec * 1000;
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
    const b = buckets.get(id)?.get(Math.floor(minute / stepMs) * stepMs);
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
  const byId = new Map(declaredKpis().map((k) => [k.id, k]));
  for (const k of byId.values()) {
    const sums = b.declared[k.source]?.[k.name];
    values[k.id] = sums ? kpiValue(k, sums) : null;
  }
  return values as Record<KpiId, number | null> & Record<string, number | null>;
}

/** For tests and debugging: the flat sums of a bucket's accumulators. */
export const flatSums = (b: KpiBucket): Record<string, Record<string, number>> =>
  Object.fromEntries(Object.entries(b.accumulators).map(([family, acc]) => [family, flatten(acc as object)]));
