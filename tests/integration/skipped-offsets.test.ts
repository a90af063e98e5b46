import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Aggregator } from '../../services/aggregator/aggregator.ts';
import type { Bus, ConsumedMessage, SubscribeOptions } from '../../services/shared/bus/bus.ts';
import { type EmbeddedKafka, startEmbeddedKafka } from '../../services/shared/bus/embedded.ts';
import { createBus } from '../../services/shared/bus/index.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { createMetrics } from '../../services/shared/metrics.ts';
import { migrate } from '../../services/shared/store/migrations.ts';
import { openStore, type Store } from '../../services/shared/store/store.ts';
import { knownStream, produceBatch } from '../multiprocess/stream.ts';
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

let kafka: EmbeddedKafka | undefined;
let store: Store | undefined;
afterAll(async () => {
  await kafka?.stop();
  await store?.close();
});

describe('offsets the broker no longer has', () => {
  it('are counted as skipped, one per message never delivered, and nothing else is', async () => {
    kafka = await startEmbeddedKafka({ brokers: 1, log: silentLogger });
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cxv-skipped-'));
    store = await openStore({ mode: 'embedded', dataDir, database: 'cxvitals', log: silentLogger });
    await migrate(store, silentLogger);
    const inner = createBus({ kind: 'rdkafka', brokers: kafka.bootstrapServers, clientId: 'skipped', log: silentLogger });
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
      busEpoch: `kafka:${kafka.bootstrapServers}`,
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
