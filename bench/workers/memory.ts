import { setTimeout as sleep } from 'node:timers/promises';
import { createFeed, FEED_WINDOW_START } from '../lib/engine-feed.ts';
import type { BenchSource } from '../lib/events.ts';

/**
 * Memory per active window key: a fresh process (run with --expose-gc), a full GC before
 * and after, and the difference in V8 heap (`heapUsed`) and resident set size (RSS)
 * divided by the number of keys. Two states are measured: windows open with their
 * events' raw rows still pending (before the first write), and the same windows after
 * they were written (raw rows released; they stay in memory for the allowed lateness).
 */

export interface MemoryRun {
  keys: number;
  /** Every key of this one source, or (absent) the four sources taking turns. */
  only?: BenchSource;
  eventsPerKey: number;
  windows: number;
  open: { heapBytesPerKey: number; rssBytesPerKey: number };
  written: { heapBytesPerKey: number; rssBytesPerKey: number };
  feedMs: number;
}

async function settle(): Promise<NodeJS.MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  for (let i = 0; i < 3; i += 1) {
    gc();
    await sleep(20);
  }
  return process.memoryUsage();
}

export async function run(p: { keys: number; eventsPerKey: number; only?: BenchSource }): Promise<MemoryRun> {
  const feed = createFeed(p.only);
  // Warm the code paths (and their caches) on a few keys that are then dropped.
  feed.add(feed.records(p.keys, p.keys + 100, 1));
  feed.engine.release(['probe', 'contact', 'survey', 'social'].flatMap((s) => [0, 1, 2, 3].map((i) => `cx.${s}.v1:${i}`)));
  const before = await settle();
  const started = performance.now();
  for (let k = 0; k < p.keys; k += 10_000) feed.add(feed.records(k, Math.min(p.keys, k + 10_000), p.eventsPerKey));
  const feedMs = performance.now() - started;
  const open = await settle();
  const due = feed.engine.due(FEED_WINDOW_START + 3_600_000, true);
  feed.engine.markWritten(
    due,
    due.map(() => 1),
    FEED_WINDOW_START + 3_600_000,
  );
  due.length = 0;
  const written = await settle();
  const windows = feed.engine.size;
  const per = (after: NodeJS.MemoryUsage) => ({
    heapBytesPerKey: (after.heapUsed - before.heapUsed) / p.keys,
    rssBytesPerKey: (after.rss - before.rss) / p.keys,
  });
  return {
    keys: p.keys,
    ...(p.only ? { only: p.only } : {}),
    eventsPerKey: p.eventsPerKey,
    windows,
    open: per(open),
    written: per(written),
    feedMs,
  };
}
