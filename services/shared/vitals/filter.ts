/**
 * What a vitals read selects: services (one, several — a product's — or all), a region,
 * a segment, an origin (who supplied the data), a time range and a bucket size. Every
 * query of the window tables builds its WHERE clause here, with bound parameters only.
 */

export interface KpiFilter {
  /** One service, several (a product's), or all when empty. */
  services: string[];
  region: string | undefined;
  segment: string | undefined;
  /** customer, network, partner, manager or employee; every origin when absent. */
  origin?: string | undefined;
  from: number;
  to: number;
  /** Bucket size; for a calendar step, its longest bucket (31 or 92 days), for cost estimates. */
  stepSec: number;
  /** Calendar buckets (UTC months or quarters) instead of `stepSec`-long ones. */
  calendar?: Calendar | undefined;
}

/** Calendar steps: a planner's month or quarter as one bucket, whatever its number of days. */
export type Calendar = 'month' | 'quarter';

/** The longest bucket of each calendar step, in seconds (31 days; 92 for a quarter of July–September). */
export const CALENDAR_MAX_SEC: Record<Calendar, number> = { month: 31 * 86_400, quarter: 92 * 86_400 };

/** A (service, region) pair, the key the aggregator partitions by. */
export interface ServiceRegion {
  service: string;
  region: string;
}

export type KeyFilter = ReadonlyArray<ServiceRegion>;

/**
 * How one read splits its buckets: everything the filter selects together, per
 * (service, region) key, or per segment (probe_kpi_1m has no segment, so per-segment
 * buckets carry no Availability, as with a segment filter).
 */
export type Grouping = { by: 'none' } | { by: 'key'; keys: KeyFilter } | { by: 'segment'; segments: readonly string[] };

export interface GroupRow {
  service?: string;
  region?: string;
  segment?: string;
}

/** The id of a (service, region) in the maps readKpiBucketsByKey returns. */
export const kpiKeyId = (service: string, region: string): string => `${service}\u0000${region}`;

export const groupColumns = (g: Grouping): string =>
  g.by === 'key' ? 'service, region, ' : g.by === 'segment' ? 'segment, ' : '';

export const groupIdOf =
  (g: Grouping) =>
  (row: GroupRow): string =>
    g.by === 'key' ? kpiKeyId(row.service ?? '', row.region ?? '') : g.by === 'segment' ? (row.segment ?? '') : '';

/**
 * Buckets are [origin + k·step, origin + (k+1)·step). The API's origin is the epoch, so a
 * day is a calendar day (UTC); a feed reading a whole range as one value sets origin = from
 * and step = to − from. With `calendar`, buckets are UTC calendar months or quarters
 * instead (28 to 31, or 90 to 92 days) and `stepMs` is only their longest length.
 */
export interface Bucketing {
  stepMs: number;
  originMs: number;
  calendar?: Calendar | undefined;
}

export const epochBuckets = (stepSec: number, calendar?: Calendar): Bucketing =>
  calendar ? { stepMs: stepSec * 1000, originMs: 0, calendar } : { stepMs: stepSec * 1000, originMs: 0 };

/** The SQL of a row's bucket start (parameters stepMs and originMs). */
export const BUCKET_SQL =
  '{originMs:Int64} + intDiv(toUnixTimestamp64Milli(window_start) - {originMs:Int64}, {stepMs:Int64}) * {stepMs:Int64}';

const CALENDAR_SQL: Record<Calendar, string> = {
  month: "toUnixTimestamp64Milli(toDateTime64(toStartOfMonth(window_start), 3, 'UTC'))",
  quarter: "toUnixTimestamp64Milli(toDateTime64(toStartOfQuarter(window_start), 3, 'UTC'))",
};

/** The SQL of a row's bucket start under `b` (epoch milliseconds; window_start is UTC). */
export const bucketSql = (b: Bucketing): string => (b.calendar ? CALENDAR_SQL[b.calendar] : BUCKET_SQL);

const MONTHS_PER_BUCKET: Record<Calendar, number> = { month: 1, quarter: 3 };

/** The start of the bucket holding `ms`. */
export const bucketOf = (ms: number, b: Bucketing): number => {
  if (!b.calendar) return b.originMs + Math.floor((ms - b.originMs) / b.stepMs) * b.stepMs;
  const d = new Date(ms);
  const months = MONTHS_PER_BUCKET[b.calendar];
  return Date.UTC(d.getUTCFullYear(), Math.floor(d.getUTCMonth() / months) * months, 1);
};

/** The end (exclusive) of the bucket that starts at `start`. */
export const bucketEndOf = (start: number, b: Bucketing): number => {
  if (!b.calendar) return start + b.stepMs;
  const d = new Date(start);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + MONTHS_PER_BUCKET[b.calendar], 1);
};

/** The buckets a filter reads: calendar ones when it asks for them, else `stepSec` from the epoch. */
export const bucketingOf = (f: Pick<KpiFilter, 'stepSec' | 'calendar'>): Bucketing => epochBuckets(f.stepSec, f.calendar);

/** The WHERE clause of a read; fills `params`. */
export function whereClause(
  f: Omit<KpiFilter, 'stepSec'>,
  params: Record<string, unknown>,
  options: { segment: boolean; grouping?: Grouping },
): string {
  params.services = f.services;
  params.anyService = f.services.length === 0 ? 1 : 0;
  params.region = f.region ?? '';
  params.anyRegion = f.region === undefined ? 1 : 0;
  params.segment = f.segment ?? '';
  params.anySegment = f.segment === undefined ? 1 : 0;
  params.origin = f.origin ?? '';
  params.anyOrigin = f.origin === undefined ? 1 : 0;
  params.from = Math.floor(f.from);
  params.to = Math.ceil(f.to);
  const clauses = [
    '({anyService:UInt8} = 1 OR has({services:Array(String)}, service))',
    '({anyRegion:UInt8} = 1 OR region = {region:String})',
    options.segment ? '({anySegment:UInt8} = 1 OR segment = {segment:String})' : '1',
    '({anyOrigin:UInt8} = 1 OR origin = {origin:String})',
    'window_start >= fromUnixTimestamp64Milli({from:Int64}) AND window_start < fromUnixTimestamp64Milli({to:Int64})',
  ];
  const g = options.grouping;
  if (g?.by === 'segment') {
    params.segmentList = g.segments;
    clauses.push('has({segmentList:Array(String)}, segment)');
  }
  if (g?.by === 'key') {
    params.keyServices = g.keys.map((k) => k.service);
    params.keyRegions = g.keys.map((k) => k.region);
    // A hashed set of (service, region) pairs: one lookup per row however many keys.
    clauses.push(
      `(service, region) IN (SELECT tupleElement(k, 1), tupleElement(k, 2)
         FROM (SELECT arrayJoin(arrayZip({keyServices:Array(String)}, {keyRegions:Array(String)})) AS k))`,
    );
  }
  return clauses.join(' AND ');
}
