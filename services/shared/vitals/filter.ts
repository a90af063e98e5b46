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
  stepSec: number;
}

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
 * and step = to − from.
 */
export interface Bucketing {
  stepMs: number;
  originMs: number;
}

export const epochBuckets = (stepSec: number): Bucketing => ({ stepMs: stepSec * 1000, originMs: 0 });

/** The SQL of a row's bucket start (parameters stepMs and originMs). */
export const BUCKET_SQL =
  '{originMs:Int64} + intDiv(toUnixTimestamp64Milli(window_start) - {originMs:Int64}, {stepMs:Int64}) * {stepMs:Int64}';

export const bucketOf = (ms: number, b: Bucketing): number => b.originMs + Math.floor((ms - b.originMs) / b.stepMs) * b.stepMs;

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
