import { sample, span } from '../lib/cpu.ts';
import { createFeed, FEED_WINDOW_START } from '../lib/engine-feed.ts';

/**
 * CPU per event of the in-memory aggregation as the number of keys grows: the same
 * number of decoded events (made before the clock starts) spread over more keys, then
 * one pass that finds the due windows and marks them written (what a flush does besides
 * I/O). Constant cost per event means linear growth.
 */
export async function run(p: { keys: number; events: number }) {
  const feed = createFeed();
  const perKey = Math.max(1, Math.round(p.events / p.keys));
  const records = feed.records(0, p.keys, perKey);
  // Event order as on a partition: time order across keys.
  records.sort((a, b) => a.record.ts - b.record.ts);
  const from = sample();
  feed.add(records);
  const added = records.length;
  const due = feed.engine.due(FEED_WINDOW_START + 3_600_000, true);
  feed.engine.markWritten(
    due,
    due.map(() => 1),
    FEED_WINDOW_START + 3_600_000,
  );
  const result = span(added, from, sample());
  return { keys: p.keys, windows: feed.engine.size, ...result, cpuUsPerEvent: (result.cpuMs * 1000) / added };
}
