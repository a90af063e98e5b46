import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { rawEventLine, rawEventRows, type WindowedRecord } from '../../services/aggregator/raw-events.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { migrate } from '../../services/shared/store/migrations.ts';
import { openStore } from '../../services/shared/store/store.ts';
import { sample, span } from '../lib/cpu.ts';
import { createFeed } from '../lib/engine-feed.ts';

/**
 * The raw_events write of the aggregator's flushes, two ways on the same records, back to
 * back in one process (embedded chDB): as before (an object per row kept until the flush,
 * JSONEachRow, the payload's JSON escaped again inside the row's) and as now (one
 * TabSeparated line per row, built when the event is counted). Each side's clock covers
 * building what it keeps per event and the inserts, in batches of a flush's size.
 */

/** The row object the aggregator kept per raw event before TabSeparated lines (the baseline). */
function jsonRawEventRow(source: string, record: WindowedRecord): Record<string, unknown> {
  return {
    source,
    event_id: record.eventId,
    service: record.service,
    region: record.region,
    segment: record.segment ?? '',
    ts: record.ts,
    received_at: record.receivedAt,
    payload: JSON.stringify(record),
  };
}

export interface RawInsertSide {
  wallMs: number;
  cpuMs: number;
  usPerEventCpu: number;
  /** The JavaScript part alone: what is kept per event, then the insert body, without inserting. */
  encodeUsPerEvent: number;
}

export interface RawInsertRun {
  events: number;
  batch: number;
  rounds: Array<{ json: RawInsertSide; tsv: RawInsertSide }>;
  /** TabSeparated at other insert sizes (one pass each): what a part costs ClickHouse. */
  byBatch: Array<{ batch: number; usPerEventCpu: number; wallMs: number }>;
}

export async function run(p: { events: number; batch: number; rounds: number }): Promise<RawInsertRun> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cxv-bench-raw-'));
  const store = await openStore({ mode: 'embedded', dataDir: dir, database: 'cxv_raw_bench', log: silentLogger });
  try {
    await migrate(store, silentLogger);
    const feed = createFeed();
    const keys = 1_000;
    const records = feed.records(0, keys, Math.max(1, Math.round(p.events / keys)));
    const side = async (
      write: (slice: typeof records) => Promise<void>,
      encode: (slice: typeof records) => string,
    ): Promise<RawInsertSide> => {
      const from = sample();
      for (let i = 0; i < records.length; i += p.batch) await write(records.slice(i, i + p.batch));
      const s = span(records.length, from, sample());
      const encodeFrom = sample();
      let bytes = 0;
      for (let i = 0; i < records.length; i += p.batch) bytes += encode(records.slice(i, i + p.batch)).length;
      const e = span(records.length, encodeFrom, sample());
      if (bytes === 0) throw new Error('nothing encoded');
      return {
        wallMs: s.wallMs,
        cpuMs: s.cpuMs,
        usPerEventCpu: (s.cpuMs * 1000) / records.length,
        encodeUsPerEvent: (e.cpuMs * 1000) / records.length,
      };
    };
    const encodeJson = (slice: typeof records) =>
      slice
        .map((r) => jsonRawEventRow(r.source, r.record))
        .map((row) => `${JSON.stringify(row)}\n`)
        .join('');
    const encodeTsv = (slice: typeof records) => rawEventRows(slice.map((r) => rawEventLine(r.source, r.record))).body();
    const json = (slice: typeof records) =>
      store.insert(
        'raw_events',
        slice.map((r) => jsonRawEventRow(r.source, r.record)),
      );
    const tsv = (slice: typeof records) =>
      store.insert('raw_events', rawEventRows(slice.map((r) => rawEventLine(r.source, r.record))));
    // One untimed pass each warms the JIT and the table's first parts.
    await json(records.slice(0, p.batch));
    await tsv(records.slice(0, p.batch));
    const rounds: RawInsertRun['rounds'] = [];
    for (let r = 0; r < p.rounds; r += 1) {
      // Alternate which goes first, so a slow moment of the shared machine is shared.
      if (r % 2 === 0) {
        const j = await side(json, encodeJson);
        rounds.push({ json: j, tsv: await side(tsv, encodeTsv) });
      } else {
        const t = await side(tsv, encodeTsv);
        rounds.push({ json: await side(json, encodeJson), tsv: t });
      }
    }
    const byBatch: RawInsertRun['byBatch'] = [];
    for (const batch of [1_000, 5_000, 20_000, records.length]) {
      const from = sample();
      for (let i = 0; i < records.length; i += batch) await tsv(records.slice(i, i + batch));
      const s = span(records.length, from, sample());
      byBatch.push({ batch, usPerEventCpu: (s.cpuMs * 1000) / records.length, wallMs: s.wallMs });
    }
    return { events: records.length, batch: p.batch, rounds, byBatch };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
