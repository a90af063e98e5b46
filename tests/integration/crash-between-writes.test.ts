import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { Aggregator } from '../../services/aggregator/aggregator.ts';
import { type EmbeddedKafka, startEmbeddedKafka } from '../../services/shared/bus/embedded.ts';
import { createBus } from '../../services/shared/bus/index.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { createMetrics, type Metrics } from '../../services/shared/metrics.ts';
import { migrate } from '../../services/shared/store/migrations.ts';
import { openStore, type QueryParams, type Store } from '../../services/shared/store/store.ts';
import { StoreWrapper } from '../../services/shared/store/wrapper.ts';
import { knownStream, produceBatch, sorted, storedTotals } from '../support/ground-truth.ts';
import { eventually } from '../support/pipeline.ts';

/**
 * An aggregator that dies half-way through a flush, at each point between its inserts,
 * and a successor that takes over while earlier events keep being re-sent. A flush makes
 * several inserts (raw_events, probe_kpi_1m, kpi_1m) that ClickHouse cannot make atomic
 * together; whatever point the first one dies at, the successor must count every event
 * exactly once. (This is the bug the multi-process scale-out test found: window rows
 * stored, the process killed before the separate raw_events insert that held their
 * eventIds, and every re-sent copy of those events counted again.)
 *
 * The stream also corrects and retracts earlier events (some moved to another minute or
 * region), and re-sends superseded versions: the successor must finish every correction
 * the dead member had stored only in part, and the totals are those of the last version
 * of every event that is not retracted.
 *
 * The dead member is frozen rather than killed (its inserts never return, so it writes
 * and commits nothing more); the successor is a new consumer group reading from the
 * start, the widest redelivery a handover can cause.
 */

/** A store that works until a chosen insert has landed, then never answers again: a process frozen or killed right there. */
class DyingStore extends StoreWrapper {
  private inserts = 0;
  dead = false;
  constructor(
    inner: Store,
    private readonly dieAfter: { table: string; nth: number },
  ) {
    super(inner);
  }
  override query<T>(sql: string, params?: QueryParams): Promise<T[]> {
    return this.dead ? new Promise(() => {}) : this.inner.query<T>(sql, params);
  }
  override command(sql: string, params?: QueryParams): Promise<void> {
    return this.dead ? new Promise(() => {}) : this.inner.command(sql, params);
  }
  override async insert(table: string, rows: readonly object[]): Promise<void> {
    if (this.dead) return new Promise(() => {});
    await this.inner.insert(table, rows);
    if (table === this.dieAfter.table) {
      this.inserts += 1;
      if (this.inserts >= this.dieAfter.nth) this.dead = true;
    }
  }
  override ping(): Promise<boolean> {
    return Promise.resolve(!this.dead);
  }
  override close(): Promise<void> {
    return Promise.resolve();
  }
}

const WINDOWS = {
  outOfOrdernessMs: 1000,
  allowedLatenessMs: 24 * 3_600_000,
  idlePartitionMs: 500,
  backfillOutOfOrdernessMs: 1000,
};

const kafkas: EmbeddedKafka[] = [];
let store: Store | undefined;
afterAll(async () => {
  // The frozen members cannot stop cleanly (their store never answers): the worker ends them.
  await Promise.race([
    (async () => {
      for (const k of kafkas) await k.stop().catch(() => {});
      await store?.close();
    })(),
    sleep(3_000),
  ]);
});

const received = async (metrics: Metrics): Promise<number> =>
  (await metrics.aggregatorReceived.get()).values.reduce((sum, v) => sum + v.value, 0);

describe('an aggregator dying between the inserts of one flush', () => {
  for (const dieAfter of [
    { table: 'raw_events', nth: 2 },
    { table: 'probe_kpi_1m', nth: 2 },
    { table: 'kpi_1m', nth: 2 },
  ]) {
    it(`counts every event once after dying right after ${dieAfter.table} insert #${dieAfter.nth}`, async () => {
      // A broker per case; one store (one chDB per process) where each case has its own keys.
      const kafka = await startEmbeddedKafka({ brokers: 1, log: silentLogger });
      kafkas.push(kafka);
      const brokers = kafka.bootstrapServers;
      if (!store) {
        const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cxv-crash-writes-'));
        store = await openStore({ mode: 'embedded', dataDir, database: 'cxvitals', log: silentLogger });
        await migrate(store, silentLogger);
      }
      const shared: Store = store;
      const service = `svc-${dieAfter.table.replace(/_/g, '')}`;
      const stream = knownStream({
        seed: 20261123,
        batches: 8,
        perBatch: 60,
        startMs: Math.floor(Date.now() / 60_000) * 60_000 - 3 * 3_600_000,
        services: [service, `${service}-b`],
        regions: ['north', 'south'],
        // One store for every case: eventIds unique per case, as they are per source.
        idPrefix: `${service}-`,
        corrections: 0.08,
      });
      const bus = createBus({
        kind: 'rdkafka',
        brokers,
        clientId: `crash-${service}`,
        log: silentLogger,
        sessionTimeoutMs: 6000,
      });
      const member = (store: Store, metrics: Metrics) =>
        new Aggregator({
          bus,
          store,
          metrics,
          log: silentLogger,
          windows: WINDOWS,
          busEpoch: `kafka:${brokers}`,
          // The successor is a new group reading from the start: the widest redelivery a handover can cause.
          groupId: `crash-${store === shared ? 'successor' : 'first'}`,
          flushIntervalMs: 200,
        });

      const dying = new DyingStore(shared, dieAfter);
      const first = member(dying, createMetrics());
      await first.start();
      for (const batch of stream.batches.slice(0, 3)) {
        await produceBatch(bus, batch);
        await sleep(700); // the partitions go idle: windows close and are written
      }
      await eventually('the first aggregator to die mid-flush', async () => (dying.dead ? true : undefined), 60_000);

      const metrics = createMetrics();
      const second = member(shared, metrics);
      await second.start();
      for (const batch of stream.batches.slice(3)) {
        await produceBatch(bus, batch);
        await sleep(300);
      }
      const sent = stream.batches.reduce((n, b) => n + b.length, 0);
      await eventually(
        'the second aggregator to read the whole stream',
        async () => ((await received(metrics)) >= sent ? true : undefined),
        60_000,
      );
      await sleep(1500);
      await second.stop();

      const totals = sorted(await storedTotals(shared));
      const mine = Object.fromEntries(Object.entries(totals).filter(([k]) => k.startsWith(service)));
      expect(mine).toEqual(sorted(stream.truth));
      // Every event not retracted has its raw row (a retracted one may have one or not: it
      // may have been counted before its retraction, or read after it and never counted).
      const [raw] = await shared.query<{ distinct: string }>(
        `SELECT uniqExact(source, event_id) AS distinct FROM ${shared.table('raw_events')} FINAL
         WHERE startsWith(service, {p:String}) AND event_id IN {live:Array(String)}`,
        { p: service, live: stream.liveEventIds },
      );
      expect(Number(raw?.distinct)).toBe(stream.liveEventIds.length);
      expect(stream.liveEventIds.length).toBeLessThan(stream.distinctEvents);
    }, 120_000);
  }
});
