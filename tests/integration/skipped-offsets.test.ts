import { afterAll, describe, expect, it } from 'vitest';
import { Aggregator } from '../../services/aggregator/aggregator.ts';
import type { Bus, ConsumedMessage, SubscribeOptions } from '../../services/shared/bus/bus.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { createMetrics } from '../../services/shared/metrics.ts';
import { type EmbeddedStack, startEmbeddedStack } from '../support/embedded-stack.ts';
import { knownStream, produceBatch } from '../support/ground-truth.ts';
import { eventually } from '../support/pipeline.ts';

/**
 * Messages gone from the broker before the aggregator reaches them (the embedded broker
 * drops the oldest past about 5 MiB per partition; Kafka past its retention) are lost,
 * and the consumer silently skips ahead. The aggregator cannot bring them back, but it must
 * say so: every skipped offset is counted in cxv_aggregator_skipped_offsets_total (which
 * the CxvEventsLost alert pages on). Here a bus wrapper withholds offsets 10–19 of every
 * partition, as a broker that no longer has them would.
 */

/** The embedded bus, except that messages at the given offsets never reach the consumer. */
class HoleyBus implements Bus {
  readonly withheld: ConsumedMessage[] = [];
  constructor(
    private readonly inner: Bus,
    private readonly hole: (m: ConsumedMessage) => boolean,
  ) {}
  get client() {
    return this.inner.client;
  }
  get brokers() {
    return this.inner.brokers;
  }
  produce: Bus['produce'] = (topic, messages) => this.inner.produce(topic, messages);
  subscribe(options: SubscribeOptions) {
    return this.inner.subscribe({
      ...options,
      onBatch: (messages) => {
        const kept = messages.filter((m) => !this.hole(m));
        this.withheld.push(...messages.filter((m) => this.hole(m)));
        return options.onBatch(kept);
      },
    });
  }
  ensureTopics: Bus['ensureTopics'] = (topics) => this.inner.ensureTopics(topics);
  health: Bus['health'] = () => this.inner.health();
  producedEnds: Bus['producedEnds'] = () => this.inner.producedEnds();
  committedOffsets: Bus['committedOffsets'] = (groupId, partitions) => this.inner.committedOffsets(groupId, partitions);
  close: Bus['close'] = () => this.inner.close();
}

let stack: EmbeddedStack | undefined;
afterAll(async () => {
  await stack?.stop();
});

describe('offsets the broker no longer has', () => {
  it('are counted as skipped, one per message never delivered, and nothing else is', async () => {
    stack = await startEmbeddedStack('skipped');
    const { store, bus: inner, busEpoch } = stack;
    const bus = new HoleyBus(inner, (m) => m.offset >= 10 && m.offset < 20);
    const stream = knownStream({
      seed: 20261206,
      batches: 4,
      perBatch: 200,
      startMs: Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000,
      services: ['voice', 'iptv'],
      regions: ['north', 'south'],
    });
    const metrics = createMetrics();
    const aggregator = new Aggregator({
      bus,
      store,
      metrics,
      log: silentLogger,
      windows: { outOfOrdernessMs: 1000, allowedLatenessMs: 3_600_000, idlePartitionMs: 500, backfillOutOfOrdernessMs: 1000 },
      busEpoch,
      groupId: 'skipped',
      flushIntervalMs: 200,
    });
    await aggregator.start();
    for (const batch of stream.batches) await produceBatch(inner, batch);
    const sum = async (name: 'busConsumed' | 'skippedOffsets') =>
      (await metrics[name].get()).values.reduce((n, v) => n + v.value, 0);
    const produced = stream.batches.reduce((n, b) => n + b.length, 0);
    await eventually('every message consumed or withheld', async () =>
      (await sum('busConsumed')) + bus.withheld.length >= produced ? true : undefined,
    );
    await aggregator.stop();

    // Every partition got past offset 20, so every withheld message is a hole between two delivered ones.
    const byPartition = new Set(bus.withheld.map((m) => `${m.topic}:${m.partition}`));
    expect(byPartition.size).toBeGreaterThan(1);
    expect(bus.withheld.length).toBe(byPartition.size * 10);
    expect(await sum('skippedOffsets')).toBe(bus.withheld.length);
    const perTopic = (await metrics.skippedOffsets.get()).values.map((v) => [v.labels.topic, v.value]);
    const expected = new Map<string, number>();
    for (const m of bus.withheld) expected.set(m.topic, (expected.get(m.topic) ?? 0) + 1);
    expect(Object.fromEntries(perTopic)).toEqual(Object.fromEntries(expected));
  }, 120_000);
});
