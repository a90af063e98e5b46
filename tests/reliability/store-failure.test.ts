import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { Aggregator } from '../../services/aggregator/aggregator.ts';
import type { Bus } from '../../services/shared/bus/bus.ts';
import { type EmbeddedKafka, startEmbeddedKafka } from '../../services/shared/bus/embedded.ts';
import { createBus } from '../../services/shared/bus/index.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { createMetrics } from '../../services/shared/metrics.ts';
import { migrate } from '../../services/shared/store/migrations.ts';
import { openStore, type Store } from '../../services/shared/store/store.ts';
import { eventually } from '../support/pipeline.ts';
import { FailingStore } from './support/failing-store.ts';
import { count, recordFigures } from './support/figures.ts';
import { compareWithStore, KnownStream, type StreamEvent, toMessages } from './support/stream.ts';

/**
 * ClickHouse refusing every write for 30 s while events keep arriving: the aggregator
 * must stop consuming (the failed write holds the batch, and the consumer fetches no
 * more — backpressure), keep its memory bounded, resume by itself once writes work, and
 * lose nothing. A replayed file is part of the stream: sent before the fault and again
 * during it, counted once.
 */

const OUTAGE_MS = 30_000;
const RATE = 400; // events per second, live
const MAX_BATCH = 5000; // the aggregator's maxBatchSize

let kafka: EmbeddedKafka | undefined;
let bus: Bus | undefined;
let store: Store | undefined;
let aggregator: Aggregator | undefined;
// The scenario is decided by then; a clean stop (drain, consumer close) takes ~20 s, so
// it gets a few seconds and the worker process ends the rest.
afterAll(async () => {
  await Promise.race([
    (async () => {
      await aggregator?.stop().catch(() => {});
      await bus?.close();
      await store?.close();
      await kafka?.stop();
    })(),
    sleep(3_000),
  ]);
});

describe('the store failing writes for 30 s', () => {
  it('stops consumption, keeps memory bounded, resumes by itself and loses nothing', async ({ task }) => {
    kafka = await startEmbeddedKafka({ brokers: 1, log: silentLogger });
    bus = createBus({
      kind: 'rdkafka',
      brokers: kafka.bootstrapServers,
      clientId: 'reliability-store',
      log: silentLogger,
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 1000,
    });
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cxv-rel-store-'));
    store = await openStore({ mode: 'embedded', dataDir, database: 'cxvitals', log: silentLogger });
    await migrate(store, silentLogger);
    const failing = new FailingStore(store);
    const metrics = createMetrics();
    aggregator = new Aggregator({
      bus,
      store: failing,
      metrics,
      log: silentLogger,
      windows: {
        outOfOrdernessMs: 1000,
        allowedLatenessMs: 24 * 3_600_000,
        idlePartitionMs: 1000,
        backfillOutOfOrdernessMs: 1000,
      },
      busEpoch: `reliability-${randomUUID()}`,
      flushIntervalMs: 200,
    });
    await aggregator.start();
    const consumed = async () => (await metrics.busConsumed.get()).values.reduce((s, v) => s + v.value, 0);
    const send = async (events: StreamEvent[], backfill = false) => {
      for (const [topic, messages] of toMessages(events, { backfill })) await bus?.produce(topic, messages);
    };

    const stream = new KnownStream('st', 31_337);
    // The replayed file: three hours ago, on the backfill topics.
    const fileStart = Date.now() - 3 * 3_600_000;
    const file = stream.next(600, (i) => fileStart + i * 1000);
    await send(file, true);

    // Live events run two hours behind the wall clock (the allowed lateness covers it), so
    // the last windows close as soon as the partitions go quiet, not at a minute boundary;
    // and their clock runs 6× the wall clock, so a window closes — and a write is tried —
    // every 10 s: the aggregator meets the failing store early in the outage.
    const clockStart = Date.now();
    const eventClock = () => clockStart - 2 * 3_600_000 + (Date.now() - clockStart) * 6;
    let produced = 0;
    let producing = true;
    const producer = (async () => {
      while (producing) {
        const batch = stream.next(RATE / 10, eventClock);
        await send(batch);
        produced += batch.length;
        await sleep(100);
      }
    })();

    await sleep(5_000);
    const heapBefore = process.memoryUsage().heapUsed;
    const rssBefore = process.memoryUsage().rss;
    failing.failing = true;
    const consumedAtFault = await consumed();
    const producedAtFault = produced;
    let heapPeak = heapBefore;
    let rssPeak = rssBefore;
    const outageEnds = Date.now() + OUTAGE_MS;
    let replayedDuringOutage = false;
    let consumedAtFirstFailure: number | undefined;
    let firstFailureAfterMs = Number.NaN;
    while (Date.now() < outageEnds) {
      await sleep(1_000);
      // Backpressure starts at the first write the store refuses (a window came due).
      if (consumedAtFirstFailure === undefined && failing.failedInserts > 0) {
        firstFailureAfterMs = Date.now() - (outageEnds - OUTAGE_MS);
        consumedAtFirstFailure = await consumed();
      }
      heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      if (!replayedDuringOutage && Date.now() > outageEnds - OUTAGE_MS / 2) {
        await send(file, true);
        replayedDuringOutage = true;
      }
    }
    const consumedDuringOutage = (await consumed()) - consumedAtFault;
    const consumedWhileRefused = (await consumed()) - (consumedAtFirstFailure ?? consumedAtFault);
    const producedDuringOutage = produced - producedAtFault + file.length;
    const failedWrites = failing.failedInserts;
    failing.failing = false;
    const recoveredAt = Date.now();
    const resumed = await eventually(
      'consumption to resume',
      async () => ((await consumed()) > consumedAtFault + consumedDuringOutage ? Date.now() : undefined),
      90_000,
    );
    await sleep(3_000);
    producing = false;
    await producer;
    const settled = await eventually(
      'the stored totals to reach the ground truth',
      async () => {
        const c = await compareWithStore(store as Store, stream, 'st');
        return c.lost === 0 && c.mismatches.length === 0 ? c : undefined;
      },
      90_000,
    ).catch(() => compareWithStore(store as Store, stream, 'st'));

    recordFigures(task, {
      scenario: 'store failing writes for 30 s',
      load: `${count(stream.events)} events (${RATE}/s live, plus a 600-event file replayed twice)`,
      faults: `every insert refused for ${OUTAGE_MS / 1000} s (${count(failedWrites)} failed writes)`,
      lost: settled.lost,
      duplicated: settled.duplicated,
      notes: [
        `first write refused ${(firstFailureAfterMs / 1000).toFixed(1)} s into the outage; consumed after it ${count(consumedWhileRefused)}, during the whole outage ${count(consumedDuringOutage)} of ${count(producedDuringOutage)} produced`,
        `heap +${((heapPeak - heapBefore) / 2 ** 20).toFixed(1)} MB, RSS +${((rssPeak - rssBefore) / 2 ** 20).toFixed(1)} MB at most during the outage`,
        `consumption resumed ${((resumed - recoveredAt) / 1000).toFixed(1)} s after the store came back (retry backoff)`,
      ],
    });

    expect(failedWrites).toBeGreaterThan(0);
    // Backpressure: once a write is refused, at most the batch in hand (plus one the client
    // had already fetched) is taken in, while far more waits in Kafka.
    expect(consumedAtFirstFailure).toBeDefined();
    expect(producedDuringOutage).toBeGreaterThan(2 * MAX_BATCH);
    expect(consumedWhileRefused).toBeLessThanOrEqual(MAX_BATCH);
    // Bounded memory: what arrived meanwhile stayed in Kafka, not in the process.
    expect(heapPeak - heapBefore).toBeLessThan(64 * 2 ** 20);
    expect(settled.mismatches).toEqual([]);
    expect(settled.lost).toBe(0);
    expect(settled.duplicated).toBe(0);
  });
});
