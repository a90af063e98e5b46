import type { Store } from '../shared/store/store.ts';
import { type AnyBinding, joinKey, splitKey } from './binding.ts';
import { eventIdHash } from './engine.ts';

/**
 * Reading windows back from the store: after a restart, a rebalance, or when a replayed
 * file reaches windows written long ago. A stored window comes back with its state,
 * version, the partition and last offset it counts, and the eventIds it counts (the
 * row's `event_ids`, sql/0005), so neither a redelivered message nor a re-sent or
 * replayed event counts twice, and the versions of corrected events it counts and gave
 * back (sql/0010). All of it comes from the one row, written in one insert.
 * Rows written before sql/0005 have no ids: theirs are read from raw_events.
 */

export interface StoredWindow {
  windowStart: number;
  version: number;
  busEpoch: string;
  partition: string;
  lastOffset: number;
  row: Record<string, unknown>;
  /** eventIdHash of every eventId the row counts. */
  idHashes: number[];
  /** eventIdHash → fingerprint of the version counted, where it is not the event's first (sql/0010). */
  versions: Map<number, number>;
  /** versionHash of the versions the row counted and gave back (sql/0010). */
  retired: number[];
}

const numbers = (value: unknown): number[] => (Array.isArray(value) ? value.map(Number) : []);

/** Per window key, the start of the newest stored window. */
export async function loadStoredWindowEnds(store: Store, binding: AnyBinding): Promise<Map<string, number>> {
  const columns = binding.keyColumns.join(', ');
  const { where, params } = fixedFilter(binding);
  const rows = await store.query<Record<string, string>>(
    `SELECT ${columns}, toUnixTimestamp64Milli(max(window_start)) AS last FROM ${store.table(binding.table)}
     WHERE ${where} GROUP BY ${columns}`,
    params,
  );
  return new Map(rows.map((r) => [joinKey(binding.keyColumns.map((c) => String(r[c] ?? ''))), Number(r.last)]));
}

export async function loadStoredWindows(
  store: Store,
  binding: AnyBinding,
  key: string,
  starts: number[],
  windowSizeMs: number,
): Promise<StoredWindow[]> {
  const values = splitKey(key);
  const fixed = fixedFilter(binding);
  const params: Record<string, unknown> = { starts, ...fixed.params };
  const conditions = [
    fixed.where,
    ...binding.keyColumns.map((column, i) => {
      params[`k${i}`] = values[i] ?? '';
      return `${column} = {k${i}:String}`;
    }),
  ];
  const rows = await store.query<Record<string, unknown> & { ws: string }>(
    `SELECT *, toUnixTimestamp64Milli(window_start) AS ws FROM ${store.table(binding.table)} FINAL
     WHERE ${conditions.join(' AND ')} AND toUnixTimestamp64Milli(window_start) IN {starts:Array(Int64)}`,
    params,
  );
  if (rows.length === 0) return [];
  const windows: StoredWindow[] = rows.map((row) => {
    const {
      event_ids: ids,
      corrected_ids: correctedIds,
      corrected_fingerprints: fingerprints,
      retired_versions: retired,
      ...rest
    } = row;
    const fingerprintList = numbers(fingerprints);
    return {
      windowStart: Number(row.ws),
      version: Number(row.version),
      busEpoch: String(row.bus_epoch ?? ''),
      partition: String(row.source_partition ?? ''),
      lastOffset: Number(row.last_offset ?? -1),
      row: rest,
      idHashes: numbers(ids),
      versions: new Map(numbers(correctedIds).map((id, i) => [id, fingerprintList[i] ?? 0])),
      retired: numbers(retired),
    };
  });
  const older = windows.filter((w) => w.idHashes.length === 0);
  if (older.length > 0) await idsFromRawEvents(store, binding, values, older, windowSizeMs);
  return windows;
}

/** Rows written before sql/0005 carry no ids: they come from raw_events, by time range. */
async function idsFromRawEvents(
  store: Store,
  binding: AnyBinding,
  keyValues: string[],
  windows: StoredWindow[],
  windowSizeMs: number,
): Promise<void> {
  const serviceIndex = binding.keyColumns.indexOf('service');
  const regionIndex = binding.keyColumns.indexOf('region');
  const starts = windows.map((w) => w.windowStart);
  const ids = await store.query<{ event_id: string; t: string }>(
    `SELECT event_id, toUnixTimestamp64Milli(ts) AS t FROM ${store.table('raw_events')} FINAL
     WHERE source = {source:String} AND service = {service:String} AND region = {region:String}
       AND ts >= fromUnixTimestamp64Milli({from:Int64}) AND ts < fromUnixTimestamp64Milli({to:Int64})`,
    {
      source: binding.source,
      service: keyValues[serviceIndex] ?? '',
      region: keyValues[regionIndex] ?? '',
      from: Math.min(...starts),
      to: Math.max(...starts) + windowSizeMs,
    },
  );
  for (const w of windows) {
    w.idHashes = ids
      .filter((r) => Number(r.t) >= w.windowStart && Number(r.t) < w.windowStart + windowSizeMs)
      .map((r) => eventIdHash(r.event_id));
  }
}

/** The WHERE part for a binding's fixed columns (column names come from code, values are bound). */
function fixedFilter(binding: AnyBinding): { where: string; params: Record<string, unknown> } {
  const entries = Object.entries(binding.fixedColumns ?? {});
  if (entries.length === 0) return { where: '1', params: {} };
  return {
    where: entries.map(([column], i) => `${column} = {f${i}:String}`).join(' AND '),
    params: Object.fromEntries(entries.map(([, value], i) => [`f${i}`, value])),
  };
}
