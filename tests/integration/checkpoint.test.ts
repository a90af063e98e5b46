import { afterAll, describe, expect, it } from 'vitest';
import { Aggregator } from '../../services/aggregator/aggregator.ts';
import { topicForSource } from '../../services/shared/bus/bus.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { createMetrics } from '../../services/shared/metrics.ts';
import { type EmbeddedStack, startEmbeddedStack } from '../support/embedded-stack.ts';
import { knownStream, produceBatch, sorted, storedTotals, type Totals } from '../support/ground-truth.ts';
import { eventually } from '../support/pipeline.ts';

/**
 * Checkpoints: the aggregator writes its open windows every so many bytes a partition
 * delivers (or so often), so it can commit its offsets long before the windows close — which is what
 * keeps a broker that holds little (the embedded one: 5 MiB a partition) from dropping
 * what a restarted aggregator would have to read again, and what lets ingest see how far
 * behind it is (backlog.ts). Here no window closes during the test (an hour of
 * out-of-orderness): after the checkpoints every offset is committed, and the store
 * already counts every event exactly; events after that, re-sent ones among them, add to
 * the checkpointed windows without counting anything twice.
 */

let stack: EmbeddedStack | undefined;
afterAll(async () => {
  await stack?.stop();
});

const add = (into: Map<string, Totals>, from: Map<string, Totals>) => {
  for (const [k, t] of from) {
    const s = into.get(k) ?? { attempts: 0, successes: 0, contacts: 0, answered: 0 };
    into.set(k, {
      attempts: s.attempts + t.attempts,
      successes: s.successes + t.successes,
      contacts: s.contacts + t.contacts,
      answered: s.answered + t.answered,
    });
  }
};

describe('checkpoints of open windows', () => {
  it('commit every offset before any window closes, with the store counting each event once', async () => {
    stack = await startEmbeddedStack('checkpoint');
    const { store, bus, busEpoch } = stack;
    // 2 × 150 events, half a second apart, ending about now: 2–3 minute windows per key, all open.
    const startMs = Date.now() - 150_000;
    const first = knownStream({ seed: 7, batches: 2, perBatch: 150, startMs, services: ['voice', 'iptv'], regions: ['north'] });
    const metrics = createMetrics();
    const aggregator = new Aggregator({
      bus,
      store,
      metrics,
      log: silentLogger,
      windows: {
        outOfOrdernessMs: 3_600_000,
        allowedLatenessMs: 3_600_000,
        idlePartitionMs: 3_600_000,
        backfillOutOfOrdernessMs: 1000,
      },
      busEpoch,
      groupId: 'checkpoint',
      flushIntervalMs: 200,
      // A dozen records or so on one partition, or a second.
      checkpoint: { bytesPerPartition: 3_000, intervalMs: 1_000 },
    });
    await aggregator.start();
    for (const batch of first.batches) await produceBatch(bus, batch);

    const partitions = () =>
      bus.producedEnds().filter((e) => e.topic === topicForSource('probe') || e.topic === topicForSource('contact'));
    await eventually('every offset committed', async () => {
      const ends = partitions();
      const committed = await bus.committedOffsets('checkpoint', ends);
      return committed.every((c) => c.offset === ends.find((e) => e.topic === c.topic && e.partition === c.partition)?.offset)
        ? true
        : undefined;
    });
    // Nothing has closed, yet the store counts everything sent so far, exactly.
    expect(sorted(await storedTotals(store))).toEqual(sorted(first.truth));
    const raw = async () =>
      Number((await store.query<{ n: string }>(`SELECT count() AS n FROM ${store.table('raw_events')} FINAL`))[0]?.n);
    expect(await raw()).toBe(first.distinctEvents);
    const outcomes = async () =>
      Object.fromEntries(
        (await metrics.aggregatorOutcome.get()).values.map((v) => [`${v.labels.source}:${v.labels.outcome}`, v.value]),
      );
    // Checkpointed windows are still open: their events are counted, not late updates.
    expect(Object.keys(await outcomes()).filter((k) => k.endsWith('late_update'))).toEqual([]);

    // More events into the same windows, with re-sent ones from before the checkpoints.
    const later = knownStream({
      seed: 8,
      batches: 1,
      perBatch: 100,
      startMs: startMs + 200,
      services: ['voice', 'iptv'],
      regions: ['north'],
    });
    const renamed = later.batches.map((b) =>
      b.map((e) => ({ ...e, event: { ...e.event, eventId: `later-${String(e.event.eventId)}` } })),
    );
    const resent = (first.batches[0] ?? []).slice(0, 40);
    for (const batch of renamed) await produceBatch(bus, [...batch, ...resent]);
    await eventually('the later events consumed', async () => {
      const consumed = (await metrics.busConsumed.get()).values.reduce((n, v) => n + v.value, 0);
      const sent = first.batches.reduce((n, b) => n + b.length, 0) + (renamed[0]?.length ?? 0) + resent.length;
      return consumed >= sent ? true : undefined;
    });
    await aggregator.stop();

    const truth = new Map<string, Totals>();
    add(truth, first.truth);
    add(truth, later.truth);
    expect(sorted(await storedTotals(store))).toEqual(sorted(truth));
    expect(await raw()).toBe(first.distinctEvents + later.distinctEvents);
    expect((await outcomes())['probe:duplicate'] ?? 0).toBeGreaterThan(0);
  }, 120_000);
});
