import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startPipeline } from '../../services/app.ts';
import type { Store } from '../../services/shared/store/store.ts';
import type { Channel } from '../lib/channel.ts';
import { benchConfig, benchLog, freshDataDir } from '../lib/setup.ts';

/**
 * The product as `npm start` runs it (embedded broker and chDB, simulator on), with a
 * store holding `days` of one-minute windows: the simulator's first minutes copied
 * back in time, so the heaviest read the limits allow reads real-shaped rows. The
 * parent drives reads, /livez and ingest over HTTP (bench/measure/reads.ts).
 */

/** The server's event-loop delay since the last request for it (then reset), milliseconds. */
export interface LoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface ReadsServerInfo {
  url: string;
  ingestToken: string;
  readToken: string;
  /** Window rows in kpi_1m and probe_kpi_1m after seeding. */
  rows: { kpi: number; probe: number };
  seedSec: number;
}

const MINUTE = 60_000;

async function columnsOf(store: Store, table: string): Promise<string[]> {
  const rows = await store.query<{ name: string }>(
    `SELECT name FROM system.columns WHERE database = {db:String} AND table = {table:String}
       AND default_kind NOT IN ('MATERIALIZED', 'ALIAS') ORDER BY position`,
    { db: store.database, table },
  );
  return rows.map((r) => r.name);
}

/** Copies the rows of [from, to) back in time, `copies` times, each `spanMin` minutes earlier than the last. */
async function copyBack(store: Store, table: string, from: number, to: number, copies: number): Promise<void> {
  const spanMin = Math.round((to - from) / MINUTE);
  const columns = await columnsOf(store, table);
  // Written when their window closed, long ago: the CSI materializer and the landing watcher,
  // which follow recently written rows, leave the copied history alone as they would real history.
  const shifted = 'window_start - toIntervalMinute({span:UInt32} * (copy.number + 1))';
  const select = columns.map((c) =>
    c === 'window_start' ? `${shifted} AS window_start` : c === 'written_at' ? `${shifted} + INTERVAL 1 MINUTE AS written_at` : c,
  );
  await store.command(
    `INSERT INTO ${store.table(table)} (${columns.join(', ')})
     SELECT ${select.join(', ')}
     FROM (SELECT * FROM ${store.table(table)} FINAL
           WHERE window_start >= fromUnixTimestamp64Milli({from:Int64}) AND window_start < fromUnixTimestamp64Milli({to:Int64})) AS src
     CROSS JOIN numbers({copies:UInt32}) AS copy`,
    { span: spanMin, from, to, copies },
  );
}

async function count(store: Store, table: string): Promise<number> {
  const [row] = await store.query<{ n: string }>(`SELECT count() AS n FROM ${store.table(table)}`);
  return Number(row?.n ?? 0);
}

export async function run(p: { days: number; env?: Record<string, string> }, channel: Channel): Promise<{ stopped: true }> {
  const log = benchLog();
  const config = benchConfig({
    CXV_DATA_DIR: await freshDataDir('reads'),
    CXV_SIMULATE: '1',
    // The phase measures reads against health and ingest, not the rate limiter.
    CXV_RATE_LIMIT_PER_ADDRESS: '1000000',
    CXV_RATE_LIMIT_PER_TOKEN: '1000000',
    ...p.env,
  });
  const pipeline = await startPipeline(config, log);
  const store = pipeline.store;
  // The simulator seeds its history; wait until those windows are written.
  const deadline = Date.now() + 120_000;
  let span: { from: number; to: number } | undefined;
  while (Date.now() < deadline) {
    const [row] = await store.query<{ lo: string; hi: string; n: string }>(
      `SELECT toString(toUnixTimestamp64Milli(min(window_start))) AS lo, toString(toUnixTimestamp64Milli(max(window_start))) AS hi,
              toString(count()) AS n FROM ${store.table('kpi_1m')}`,
    );
    const lo = Number(row?.lo ?? 0);
    const hi = Number(row?.hi ?? 0);
    if (Number(row?.n ?? 0) > 0 && hi - lo >= 10 * MINUTE) {
      span = { from: lo, to: hi };
      break;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  if (!span) throw new Error('the simulator wrote no 10 minutes of windows in 120 s');
  const seedStart = performance.now();
  const copies = Math.ceil((p.days * 1440 * MINUTE) / (span.to - span.from));
  for (const table of ['kpi_1m', 'probe_kpi_1m']) await copyBack(store, table, span.from, span.to, copies);
  const seedSec = (performance.now() - seedStart) / 1000;
  // How long callbacks (a /livez request among them) wait for the loop: the server's side of the probe.
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  channel.serve(() => {
    const ms = (ns: number) => ns / 1e6;
    const out: LoopDelay = { p50Ms: ms(delay.percentile(50)), p99Ms: ms(delay.percentile(99)), maxMs: ms(delay.max) };
    delay.reset();
    return out;
  });
  channel.ready({
    url: pipeline.url.replace('localhost', '127.0.0.1'),
    ingestToken: pipeline.ingestDemoToken ?? '',
    readToken: pipeline.readDemoToken ?? '',
    rows: { kpi: await count(store, 'kpi_1m'), probe: await count(store, 'probe_kpi_1m') },
    seedSec,
  } satisfies ReadsServerInfo);
  await channel.stopped;
  delay.disable();
  await pipeline.stop();
  return { stopped: true };
}
