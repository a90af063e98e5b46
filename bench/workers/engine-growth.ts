import { WindowEngine } from '../../services/aggregator/engine.ts';
import { sample, span } from '../lib/cpu.ts';
import { createFeed, FEED_WINDOW_START } from '../lib/engine-feed.ts';

const MINUTE = 60_000;
/** Events between two flushes in `flushCost` (a consumed batch). */
const FLUSH_EVERY = 2_000;
/** Minutes of event time in `flushCost`: with 5 minutes of allowed lateness, six minutes of windows are held. */
const FLUSH_MINUTES = 12;

/**
 * What a flush costs besides I/O when windows are held for the allowed lateness (as live):
 * every key gets one event a minute for 12 minutes of event time, on one partition, and
 * every 2,000 events a flush finds the due windows, marks them written, evicts the final
 * ones and computes the offsets safe to commit. CPU of the flushes alone, per event. A
 * flush that visits every window held grows with keys; one that visits what changed
 * does not. A family that only counts keeps the accumulators out of the figure.
 */
function flushCost(keys: number): number {
  const engine = new WindowEngine({
    windowSizeMs: MINUTE,
    outOfOrdernessMs: 5_000,
    allowedLatenessMs: 5 * MINUTE,
    idlePartitionMs: 10 * MINUTE,
  });
  engine.register<number, { n: number }>({
    name: 'count',
    create: () => ({ n: 0 }),
    add: (s, n) => {
      s.n += n;
    },
    remove: (s, n) => {
      s.n -= n;
    },
  });
  const ids = Array.from({ length: keys }, (_, k) => `k${k}`);
  const events = keys * FLUSH_MINUTES;
  let flushMs = 0;
  for (let i = 0; i < events; i += 1) {
    const ts = FEED_WINDOW_START + Math.floor(i / keys) * MINUTE + (i % keys) * (MINUTE / keys);
    engine.add('count', ids[i % keys] ?? '', ts, 'p:0', i, 1, FEED_WINDOW_START);
    if (i % FLUSH_EVERY === FLUSH_EVERY - 1) {
      const from = process.cpuUsage();
      const due = engine.due(FEED_WINDOW_START);
      engine.markWritten(
        due,
        due.map(() => 1),
        FEED_WINDOW_START,
      );
      engine.evict(FEED_WINDOW_START);
      engine.commitSafeOffsets();
      const used = process.cpuUsage(from);
      flushMs += (used.user + used.system) / 1000;
    }
  }
  return (flushMs * 1000) / events;
}

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
  return {
    keys: p.keys,
    windows: feed.engine.size,
    ...result,
    cpuUsPerEvent: (result.cpuMs * 1000) / added,
    flushUsPerEvent: flushCost(p.keys),
  };
}
