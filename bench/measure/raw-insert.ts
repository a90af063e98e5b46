import { runWorker } from '../lib/worker-host.ts';
import type { RawInsertRun } from '../workers/raw-insert.ts';

/**
 * The raw_events write, before (row objects as JSONEachRow) and now (TabSeparated lines
 * built when an event is counted), on the same records in one process: CPU and wall per
 * event, medians over alternating rounds, and the ratio of each round's two sides.
 */

export interface RawInsertPhase {
  run: RawInsertRun;
  median: {
    jsonUsCpu: number;
    tsvUsCpu: number;
    jsonMsWall: number;
    tsvMsWall: number;
    cpuRatio: number;
    wallRatio: number;
    /** The JavaScript encoding alone, µs per row, and its ratio. */
    jsonEncodeUs: number;
    tsvEncodeUs: number;
    encodeRatio: number;
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};

export async function measureRawInsert(o: {
  events: number;
  batch: number;
  rounds: number;
  log: (line: string) => void;
}): Promise<RawInsertPhase> {
  const run = await runWorker<RawInsertRun>(
    'raw-insert',
    { events: o.events, batch: o.batch, rounds: o.rounds },
    { timeoutMs: 900_000 },
  );
  const m = {
    jsonUsCpu: median(run.rounds.map((r) => r.json.usPerEventCpu)),
    tsvUsCpu: median(run.rounds.map((r) => r.tsv.usPerEventCpu)),
    jsonMsWall: median(run.rounds.map((r) => r.json.wallMs)),
    tsvMsWall: median(run.rounds.map((r) => r.tsv.wallMs)),
    cpuRatio: median(run.rounds.map((r) => r.json.cpuMs / r.tsv.cpuMs)),
    wallRatio: median(run.rounds.map((r) => r.json.wallMs / r.tsv.wallMs)),
    jsonEncodeUs: median(run.rounds.map((r) => r.json.encodeUsPerEvent)),
    tsvEncodeUs: median(run.rounds.map((r) => r.tsv.encodeUsPerEvent)),
    encodeRatio: median(run.rounds.map((r) => r.json.encodeUsPerEvent / r.tsv.encodeUsPerEvent)),
  };
  o.log(
    `  raw_events, ${run.events.toLocaleString('en-US')} rows in inserts of ${run.batch.toLocaleString('en-US')}: JSONEachRow objects ${m.jsonUsCpu.toFixed(1)} µs CPU/row, TabSeparated lines ${m.tsvUsCpu.toFixed(1)} µs (×${m.cpuRatio.toFixed(2)} less CPU, ×${m.wallRatio.toFixed(2)} less wall; medians of ${run.rounds.length} rounds)`,
  );
  o.log(
    `  encoding alone (JavaScript thread): ${m.jsonEncodeUs.toFixed(2)} → ${m.tsvEncodeUs.toFixed(2)} µs/row (×${m.encodeRatio.toFixed(2)}); TabSeparated by insert size: ${run.byBatch
      .map((b) => `${b.batch.toLocaleString('en-US')} rows ${b.usPerEventCpu.toFixed(1)} µs`)
      .join(', ')}`,
  );
  return { run, median: m };
}
