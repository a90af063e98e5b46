import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createBus } from '../../services/shared/bus/index.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { openStore } from '../../services/shared/store/store.ts';
import { readHeaders } from '../support/auth.ts';
import { knownStream, produceBatch, type StreamEntry, sorted, storedTotals } from '../support/ground-truth.ts';
import { type CliProcess, spawnCli } from '../support/processes.ts';
import { seededRandom as prng } from '../support/random.ts';

/**
 * The exactly-once effect under crashes: a standalone embedded broker process, the
 * aggregator as a child process killed with SIGKILL at random points while a known
 * stream flows (with duplicates re-sent, and corrections, moves and retractions of
 * earlier events), restarted each time. The stored totals must equal the ground truth
 * exactly: nothing lost, nothing counted twice, every correction applied once.
 */

const H0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 5 * 3_600_000;
const SERVICES = ['voice', 'iptv'];
const REGIONS = ['north', 'south', 'east'];

const children: CliProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
});

describe('aggregator killed with SIGKILL at random points', () => {
  it('stores exactly the ground truth after every crash and restart', async () => {
    const random = prng(424242);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cxv-crash-'));
    const logFile = path.join(dir, 'processes.log');
    const broker = spawnCli(['broker'], {}, logFile);
    children.push(broker);
    const brokers = await broker.waitFor(/KAFKA_BROKERS=(\S+)/);
    const env = {
      KAFKA_BROKERS: brokers,
      CXV_DATA_DIR: path.join(dir, 'data'),
      CXV_PORT: '0',
      CXV_KAFKA_SESSION_TIMEOUT_MS: '6000',
      CXV_WINDOW_OUT_OF_ORDERNESS_MS: '1000',
      CXV_IDLE_PARTITION_MS: '1000',
      CXV_ALLOWED_LATENESS_MS: String(24 * 3_600_000),
      // Checkpoints of open windows every 4 KB a partition delivers or every second: kills land between them too.
      CXV_AGGREGATOR_CHECKPOINT_BYTES: '4096',
      CXV_AGGREGATOR_CHECKPOINT_MS: '1000',
    };
    const startAggregator = async () => {
      const p = spawnCli(['aggregator'], env, logFile);
      children.push(p);
      const url = await p.waitFor(/health\s+(http:\/\/\S+)\/healthz/);
      return { p, url };
    };

    const bus = createBus({ kind: 'rdkafka', brokers, clientId: 'crash-test', log: silentLogger });

    // The known stream (tests/support/ground-truth.ts): 40 batches of 125 probe results and
    // contacts (5,000 events); from the second batch on, 1 % of the events so far are
    // corrected (other counts, the time moved up to two minutes, sometimes another region)
    // or, a third of those, retracted (589 corrections, 324 retractions); a tenth of
    // everything sent before is re-sent, superseded versions included (16,913 messages).
    // The truth is the last version of every event not retracted.
    const stream = knownStream({
      seed: 424242,
      batches: 40,
      perBatch: 125,
      startMs: H0,
      services: SERVICES,
      regions: REGIONS,
      corrections: 0.01,
    });
    const entries: StreamEntry[] = stream.batches.flat();
    const retractions = new Set(entries.filter((e) => e.retract).map((e) => String(e.event.eventId))).size;
    // Every distinct content sent is an event's first version, a later version, or a retraction.
    const corrections = new Set(entries.map((e) => JSON.stringify(e.event))).size - stream.distinctEvents - retractions;
    expect([stream.distinctEvents, corrections, retractions, entries.length]).toEqual([5_000, 589, 324, 16_913]);

    let aggregator = await startAggregator();
    let kills = 0;
    let producing = true;
    // Chaos in parallel with the stream: SIGKILL at a random moment, restart, repeat.
    const chaos = (async () => {
      while (producing || kills < 4) {
        await sleep(1500 + random() * 2500);
        aggregator.p.child.kill('SIGKILL');
        await aggregator.p.exited;
        kills += 1;
        aggregator = await startAggregator();
      }
    })();
    for (const batch of stream.batches) {
      await produceBatch(bus, batch);
      await sleep(400);
    }
    producing = false;
    await chaos;
    // Let the last instance take over the partitions and consume everything, then stop it gracefully.
    const deadline = Date.now() + 90_000;
    let caughtUp = 0;
    while (Date.now() < deadline && caughtUp < 3) {
      await sleep(1000);
      const text = await (await fetch(`${aggregator.url}/metrics`, { headers: readHeaders() })).text().catch(() => '');
      const lag = Number(/^cxv_aggregator_consumer_lag_messages (\S+)/m.exec(text)?.[1] ?? Number.NaN);
      const assigned = Number(/^cxv_aggregator_assigned_partitions (\S+)/m.exec(text)?.[1] ?? 0);
      caughtUp = lag === 0 && assigned > 0 ? caughtUp + 1 : 0;
    }
    expect(caughtUp).toBe(3);
    aggregator.p.child.kill('SIGTERM');
    expect(await aggregator.p.exited).toBe(0);
    await bus.close();
    broker.child.kill('SIGTERM');
    expect(kills).toBeGreaterThanOrEqual(4);

    const store = await openStore({ mode: 'embedded', dataDir: env.CXV_DATA_DIR, database: 'cxvitals', log: silentLogger });
    try {
      expect(sorted(await storedTotals(store))).toEqual(sorted(stream.truth));
      // Every event not retracted has its raw row (a retracted one may have one or not: it
      // may have been counted before its retraction, or read after it and never counted).
      const [raw] = await store.query<{ distinct: string }>(
        `SELECT uniqExact(source, event_id) AS distinct FROM ${store.table('raw_events')} FINAL WHERE event_id IN {live:Array(String)}`,
        { live: stream.liveEventIds },
      );
      expect(Number(raw?.distinct)).toBe(stream.liveEventIds.length);
      expect(stream.liveEventIds.length).toBe(stream.distinctEvents - retractions);
    } finally {
      await store.close();
    }
  }, 300_000);
});
