import type { Store } from '../store/store.ts';
import { type Bucketing, bucketOf } from './filter.ts';

/**
 * Daily rollups of the window tables (sql/0070_daily_rollups.sql): one row per key and UTC
 * day, the exact sum of that day's one-minute rows, so a read at step=1d, month or quarter
 * over a quarter reads 90 rows per key instead of 129,600.
 *
 * A rollup can be late, never wrong: `rollup_days` keeps, per table and day, the newest
 * `written_at` of the one-minute rows it summed, and a read takes a day from the rollup
 * only while none of that day's one-minute rows under its own filter was written later
 * (one scan of `written_at`, without FINAL or payloads). Anything written since (a late
 * event, a correction, a checkpoint, a back-dated maintenance window rewriting the
 * maintenance split) sends the day back to the one-minute rows until `rollUpDays` runs again.
 * The one exception is a tie at ClickHouse's millisecond: a row of that day stamped in the
 * very millisecond of the newest one a rollup summed, and stored after the rollup read the
 * day (only possible with concurrent writers, on a server), is not seen as newer: it is
 * counted once any later row of that day is written (the day is then rolled again).
 */

export const DAY_MS = 86_400_000;

/** The two window tables and their daily rollups: the columns a read sums, how a rollup sums them. */
export const ROLLUPS = {
  kpi_1m: {
    rollup: 'kpi_1d',
    keys: ['family', 'service', 'region', 'segment', 'channel', 'queue', 'origin'],
    sums: { sums: 'sumMap(sums)' },
  },
  probe_kpi_1m: {
    rollup: 'probe_kpi_1d',
    keys: ['service', 'region', 'origin'],
    sums: Object.fromEntries(
      ['samples', 'attempts', 'successes', 'planned_attempts', 'planned_successes', 'retro_attempts', 'retro_successes'].map(
        (c) => [c, `sum(${c})`],
      ),
    ),
  },
} as const satisfies Record<string, { rollup: string; keys: readonly string[]; sums: Record<string, string> }>;

export type WindowTable = keyof typeof ROLLUPS;

const dayNumberSql = 'intDiv(toUnixTimestamp64Milli(window_start), 86400000)';
/** rollup_days' day as an epoch day. */
const rollupDaySql = 'intDiv(toUnixTimestamp64Milli(day), 86400000)';

/** Per rolled day of {sourceTable:String} (and `where`, more conditions): its stamp, the newest written_at its rollup summed. */
const stampsSql = (store: Store, where = ''): string =>
  `SELECT ${rollupDaySql} AS d, toUnixTimestamp64Milli(max(source_written_at)) AS stamp
   FROM ${store.table('rollup_days')} FINAL WHERE source_table = {sourceTable:String} ${where} GROUP BY d`;

/** Holes between rolled days given to the one-minute side as time ranges, at most. */
const MAX_GAPS = 32;

/**
 * The source of a read of `table` under `where` (a whereClause over [from, to)): the table
 * itself with FINAL or, for the whole UTC days of the range whose rollup is current under
 * the same filter and which no bucket splits, their rollup rows instead. A subquery with
 * the table's columns, to follow `FROM`.
 */
export async function windowSource(
  store: Store,
  table: WindowTable,
  where: string,
  params: Record<string, unknown>,
  range: { from: number; to: number },
  bucketing: Bucketing,
): Promise<string> {
  const spec = ROLLUPS[table];
  const columns = [...spec.keys, 'window_start', ...Object.keys(spec.sums)].join(', ');
  const plain = `(SELECT ${columns} FROM ${store.table(table)} FINAL WHERE ${where})`;
  const days = wholeDays(range, bucketing);
  if (days.length === 0) return plain;
  const current = await currentDays(store, table, where, params, days);
  if (current.length === 0) return plain;
  params.rolledDays = current;
  // The one-minute side as time ranges (the primary key prunes on them), not a day list;
  // past MAX_GAPS holes, as the days it is not (no pruning, a bounded query).
  const gaps = unrolledRanges(range, current);
  gaps.forEach(([from, to], i) => {
    if (i >= MAX_GAPS) return;
    params[`gapFrom${i}`] = from;
    params[`gapTo${i}`] = to;
  });
  const gapFilter =
    gaps.length > MAX_GAPS
      ? `${dayNumberSql} NOT IN {rolledDays:Array(Int64)}`
      : `(${gaps
          .map(
            (_, i) =>
              `(window_start >= fromUnixTimestamp64Milli({gapFrom${i}:Int64}) AND window_start < fromUnixTimestamp64Milli({gapTo${i}:Int64}))`,
          )
          .join(' OR ')})`;
  const minutes =
    gaps.length === 0
      ? ''
      : `UNION ALL
    SELECT ${columns} FROM ${store.table(table)} FINAL WHERE ${where} AND ${gapFilter}`;
  return `(SELECT ${columns} FROM ${store.table(spec.rollup)} FINAL WHERE ${where} AND ${dayNumberSql} IN {rolledDays:Array(Int64)}
    ${minutes})`;
}

/** [from, to) without the rolled days (sorted epoch days), as [start, end) ranges in ms. */
export function unrolledRanges(range: { from: number; to: number }, rolled: readonly number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let at = Math.floor(range.from);
  for (const day of rolled) {
    const start = day * DAY_MS;
    if (start > at) out.push([at, start]);
    at = Math.max(at, start + DAY_MS);
  }
  const end = Math.ceil(range.to);
  if (end > at) out.push([at, end]);
  return out;
}

/** Day numbers (epoch days, UTC) wholly inside [from, to) whose minutes all fall in one bucket. */
export function wholeDays(range: { from: number; to: number }, bucketing: Bucketing): number[] {
  const first = Math.ceil(range.from / DAY_MS);
  const end = Math.floor(range.to / DAY_MS);
  const days: number[] = [];
  for (let d = first; d < end; d += 1) {
    const start = d * DAY_MS;
    if (bucketOf(start, bucketing) === bucketOf(start + DAY_MS - 1, bucketing)) days.push(d);
  }
  return days;
}

/** Of `days`, those rolled up and not written since under this filter. */
async function currentDays(
  store: Store,
  table: WindowTable,
  where: string,
  params: Record<string, unknown>,
  days: readonly number[],
): Promise<number[]> {
  const p = { ...params, candidateDays: days, sourceTable: table };
  const rolled = await store.query<{ d: string; stamp: string }>(
    stampsSql(store, `AND ${rollupDaySql} IN {candidateDays:Array(Int64)}`),
    p,
  );
  if (rolled.length === 0) return [];
  // Only rows written after the oldest stamp can make a day stale: the minmax index on
  // written_at (sql/0070) skips every granule written before it.
  const written = await store.query<{ d: string; newest: string }>(
    `SELECT ${dayNumberSql} AS d, toUnixTimestamp64Milli(max(written_at)) AS newest
     FROM ${store.table(table)}
     WHERE ${where} AND written_at > fromUnixTimestamp64Milli({oldestStamp:Int64}) AND ${dayNumberSql} IN {candidateDays:Array(Int64)}
     GROUP BY d`,
    { ...p, oldestStamp: Math.min(...rolled.map((r) => Number(r.stamp))) },
  );
  const newest = new Map(written.map((r) => [Number(r.d), Number(r.newest)]));
  return rolled
    .filter((r) => (newest.get(Number(r.d)) ?? Number.NEGATIVE_INFINITY) <= Number(r.stamp))
    .map((r) => Number(r.d))
    .sort((a, b) => a - b);
}

export interface RollupOptions {
  /** Only days that ended at least this long ago are rolled up (their minutes are mostly final). */
  settleMs: number;
  now: number;
  /** At most this many days per call (the rest on the next). */
  maxDays?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Rolls up the settled days of both window tables that have no rollup yet or were written
 * since theirs; returns the days rolled per table. Each day: its newest `written_at` first,
 * then the sums, then the stamp, so a row written meanwhile is newer than the stamp.
 */
export async function rollUpDays(store: Store, o: RollupOptions): Promise<Record<WindowTable, number>> {
  const out = { kpi_1m: 0, probe_kpi_1m: 0 };
  const before = Math.floor((o.now - o.settleMs) / DAY_MS);
  for (const table of Object.keys(ROLLUPS) as WindowTable[]) {
    const stale = await staleDays(store, table, before);
    const todo = stale.slice(0, o.maxDays ?? stale.length);
    for (let i = 0; i < todo.length; i += DAYS_PER_INSERT) {
      const chunk = todo.slice(i, i + DAYS_PER_INSERT);
      await rollUp(store, table, chunk);
      out[table] += chunk.length;
      o.onProgress?.(i + chunk.length, todo.length);
    }
  }
  return out;
}

/** Days rolled in one INSERT … SELECT (a day of 10,000 keys is 14 million one-minute rows at most). */
const DAYS_PER_INSERT = 7;

interface StaleDay {
  day: number;
  newest: number;
  rows: number;
}

async function staleDays(store: Store, table: WindowTable, before: number): Promise<StaleDay[]> {
  const rows = await store.query<{ d: string; newest: string; n: string; stamp: string | null }>(
    `SELECT w.d AS d, w.newest AS newest, w.n AS n, r.stamp AS stamp
     FROM (SELECT ${dayNumberSql} AS d, toUnixTimestamp64Milli(max(written_at)) AS newest, count() AS n
           FROM ${store.table(table)} WHERE ${dayNumberSql} < {before:Int64} GROUP BY d) AS w
     LEFT JOIN (${stampsSql(store)}) AS r
       ON w.d = r.d
     ORDER BY d
     SETTINGS join_use_nulls = 1`,
    { before, sourceTable: table },
  );
  return rows
    .filter((r) => r.stamp === null || Number(r.newest) > Number(r.stamp))
    .map((r) => ({ day: Number(r.d), newest: Number(r.newest), rows: Number(r.n) }));
}

async function rollUp(store: Store, table: WindowTable, days: StaleDay[]): Promise<void> {
  const spec = ROLLUPS[table];
  const version = Date.now();
  const keys = spec.keys.join(', ');
  const sums = Object.entries(spec.sums)
    .map(([column, sql]) => `${sql} AS ${column}`)
    .join(', ');
  await store.command(
    `INSERT INTO ${store.table(spec.rollup)} (${keys}, window_start, ${Object.keys(spec.sums).join(', ')}, version)
     SELECT ${keys}, toDateTime64(toStartOfDay(window_start, 'UTC'), 3, 'UTC') AS day_start, ${sums}, {version:UInt64}
     FROM ${store.table(table)} FINAL WHERE ${dayNumberSql} IN {days:Array(Int64)}
     GROUP BY ${keys}, day_start`,
    { days: days.map((d) => d.day), version },
  );
  await store.insert(
    'rollup_days',
    days.map((d) => ({ source_table: table, day: d.day * DAY_MS, source_written_at: d.newest, source_rows: d.rows, version })),
  );
}
