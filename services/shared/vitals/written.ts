import type { Store } from '../store/store.ts';
import type { ServiceRegion } from './filter.ts';

/**
 * What is in the window tables, rather than what it measures: which keys have rows in a
 * range or were written since a moment, and when windows landed. The CSI materializer,
 * the business gauges, the dashboard's filter choices and its landing watcher ask these;
 * like every other read of kpi_1m and probe_kpi_1m they live in the read model.
 */

/** Both window tables' (service, region, window_start, written_at) columns, for the queries below. */
const bothTables = (store: Store, columns: string, where: string): string =>
  `SELECT ${columns} FROM ${store.table('kpi_1m')} WHERE ${where}
   UNION ALL
   SELECT ${columns} FROM ${store.table('probe_kpi_1m')} WHERE ${where}`;

const IN_RANGE = 'window_start >= fromUnixTimestamp64Milli({from:Int64}) AND window_start < fromUnixTimestamp64Milli({to:Int64})';

/** Keys with rows written at or after `since`, each with the first and last window it touched. */
export async function keysWrittenSince(
  store: Store,
  since: number,
): Promise<Array<ServiceRegion & { first: number; last: number }>> {
  const rows = await store.query<ServiceRegion & { first: string; last: string }>(
    `SELECT service, region, toUnixTimestamp64Milli(min(window_start)) AS first, toUnixTimestamp64Milli(max(window_start)) AS last
     FROM (${bothTables(store, 'service, region, window_start', 'written_at >= fromUnixTimestamp64Milli({since:Int64})')})
     GROUP BY service, region`,
    { since },
  );
  return rows.map((r) => ({ service: r.service, region: r.region, first: Number(r.first), last: Number(r.last) }));
}

/**
 * Keys with windows in [from, to), sorted; `named` leaves out rows without a service or
 * region (labels need both), `limit` bounds the answer.
 */
export function keysWithData(
  store: Store,
  range: { from: number; to: number },
  options: { named?: boolean; limit?: number } = {},
): Promise<ServiceRegion[]> {
  const named = options.named ? "WHERE service != '' AND region != ''" : '';
  return store.query<ServiceRegion>(
    `SELECT service, region FROM (${bothTables(store, 'service, region', IN_RANGE)}) ${named}
     GROUP BY service, region ORDER BY service, region ${options.limit === undefined ? '' : 'LIMIT {limit:UInt32}'}`,
    { ...range, limit: options.limit ?? 0 },
  );
}

/** The distinct non-empty services or regions with windows since `since`, sorted, at most `limit`. */
export async function distinctWithData(
  store: Store,
  column: 'service' | 'region',
  since: number,
  limit: number,
): Promise<string[]> {
  const rows = await store.query<{ v: string }>(
    `SELECT v FROM (${bothTables(store, `${column} AS v`, 'window_start >= fromUnixTimestamp64Milli({since:Int64})')})
     WHERE v != '' GROUP BY v ORDER BY v LIMIT {limit:UInt32}`,
    { since, limit },
  );
  return rows.map((r) => r.v);
}

export interface LandedRow {
  family: string;
  service: string;
  k: string;
  ws: string;
  written: string;
  /** The first write at or after the window's end (0 when none yet: only checkpoints of it so far). */
  landed: string;
}

/** Per window, its first row written at or after its end ('0' when none: minIf of nothing is the epoch); earlier rows are checkpoints. */
const LANDED = 'toString(toUnixTimestamp64Milli(minIf(written_at, written_at >= window_start + INTERVAL 1 MINUTE)))';

/**
 * The rows written after `since` (both window tables), one per key and window, with its
 * newest write and its landing; windows starting before `minWindowStart` are left out.
 */
export function landedSince(store: Store, since: number, minWindowStart: number | null, maxRows: number): Promise<LandedRow[]> {
  const t = (name: string) => store.table(name);
  const windowFilter = minWindowStart === null ? '' : 'AND window_start >= fromUnixTimestamp64Milli({minStart:Int64})';
  return store.query<LandedRow>(
    `SELECT 'availability' AS family, service, region AS k, toString(toUnixTimestamp64Milli(window_start)) AS ws,
            toString(toUnixTimestamp64Milli(max(written_at))) AS written, ${LANDED} AS landed
     FROM ${t('probe_kpi_1m')} WHERE written_at > fromUnixTimestamp64Milli({since:Int64}) ${windowFilter}
     GROUP BY service, region, window_start
     UNION ALL
     SELECT family, service, concat(region, '|', segment, '|', channel, '|', queue) AS k,
            toString(toUnixTimestamp64Milli(window_start)) AS ws, toString(toUnixTimestamp64Milli(max(written_at))) AS written,
            ${LANDED} AS landed
     FROM ${t('kpi_1m')} WHERE written_at > fromUnixTimestamp64Milli({since:Int64}) ${windowFilter}
     GROUP BY family, service, k, window_start
     LIMIT ${Math.floor(maxRows)}`,
    { since, minStart: minWindowStart ?? 0 },
  );
}

/** The newest landed window (start) and its write, over windows starting no later than `future`; n = 0 when none. */
export async function newestLanded(
  store: Store,
  future: number,
): Promise<{ newest: number; written: number; n: number } | undefined> {
  const where = 'window_start <= fromUnixTimestamp64Milli({future:Int64}) AND written_at >= window_start + INTERVAL 1 MINUTE';
  const [fresh] = await store.query<{ newest: string; written: string; n: string }>(
    `SELECT toString(max(ws)) AS newest, toString(max(w)) AS written, toString(count()) AS n FROM (
       ${bothTables(store, 'toUnixTimestamp64Milli(window_start) AS ws, toUnixTimestamp64Milli(written_at) AS w', where)})`,
    { future },
  );
  return fresh ? { newest: Number(fresh.newest), written: Number(fresh.written), n: Number(fresh.n) } : undefined;
}
