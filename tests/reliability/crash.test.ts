import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { topicForSource } from '../../services/shared/bus/bus.ts';
import { createBus } from '../../services/shared/bus/index.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { codecFor, FINGERPRINT_HEADER, SCHEMA_HEADER } from '../../services/shared/sources/avro.ts';
import type { SourceName } from '../../services/shared/sources/registry.ts';
import { SOURCES } from '../../services/shared/sources/registry.ts';
import type { SourceDefinition } from '../../services/shared/sources/source.ts';
import { openStore } from '../../services/shared/store/store.ts';
import { readHeaders } from '../support/auth.ts';
import { type CliProcess, spawnCli } from '../support/processes.ts';
import { seededRandom as prng } from '../support/random.ts';

/**
 * The exactly-once effect under crashes: a standalone embedded broker process, the
 * aggregator as a child process killed with SIGKILL at random points while a known
 * stream flows (with duplicates re-sent), restarted each time. The stored totals must
 * equal the ground truth exactly: nothing lost, nothing counted twice.
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
    const send = async (source: SourceName, events: object[]) => {
      const definition = SOURCES[source] as unknown as SourceDefinition<unknown, object>;
      const codec = codecFor(source);
      const headers = { [SCHEMA_HEADER]: codec.schemaName, [FINGERPRINT_HEADER]: codec.fingerprint };
      const records = events.map((e) => definition.toRecord(definition.input.parse(e), Date.now()));
      await bus.produce(
        topicForSource(source),
        records.map((r) => ({ key: definition.partitionKey(r), value: codec.encode(r), headers })),
      );
    };

    // The known stream: 40 batches of 100 probe results and 25 contacts, 20 % of each batch re-sent later.
    const truth = new Map<string, { attempts: number; successes: number; contacts: number; answered: number }>();
    const sent: Array<{ source: SourceName; event: Record<string, unknown> }> = [];
    let seq = 0;
    const batches: Array<Array<{ source: SourceName; event: Record<string, unknown> }>> = [];
    for (let b = 0; b < 40; b += 1) {
      const batch: Array<{ source: SourceName; event: Record<string, unknown> }> = [];
      for (let i = 0; i < 125; i += 1) {
        seq += 1;
        const service = SERVICES[Math.floor(random() * SERVICES.length)] ?? 'voice';
        const region = REGIONS[Math.floor(random() * REGIONS.length)] ?? 'north';
        const ts = H0 + seq * 500 + Math.floor(random() * 800);
        const key = `${service}|${region}`;
        const t = truth.get(key) ?? { attempts: 0, successes: 0, contacts: 0, answered: 0 };
        truth.set(key, t);
        if (i < 100) {
          const attempts = 1 + Math.floor(random() * 10);
          const successes = Math.floor(random() * (attempts + 1));
          t.attempts += attempts;
          t.successes += successes;
          batch.push({
            source: 'probe',
            event: { eventId: `p-${seq}`, ts, service, region, probeId: 'x', probeType: 'agent', attempts, successes },
          });
        } else {
          const abandoned = random() < 0.2;
          t.contacts += 1;
          if (!abandoned) t.answered += 1;
          batch.push({
            source: 'contact',
            event: {
              eventId: `c-${seq}`,
              ts,
              service,
              region,
              channel: 'voice',
              queue: 'q',
              waitSec: 10 + Math.floor(random() * 60),
              abandoned,
              ...(abandoned ? {} : { handleSec: 200 }),
            },
          });
        }
      }
      // Duplicates: a fifth of an earlier batch again.
      for (const d of sent.filter(() => random() < 0.2 / Math.max(1, b))) batch.push(d);
      batches.push(batch);
      sent.push(...batch);
    }

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
    for (const batch of batches) {
      for (const source of ['probe', 'contact'] as const) {
        const events = batch.filter((e) => e.source === source).map((e) => e.event);
        if (events.length > 0) await send(source, events);
      }
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
      const probes = await store.query<{ service: string; region: string; attempts: string; successes: string }>(
        `SELECT service, region, sum(attempts) AS attempts, sum(successes) AS successes FROM ${store.table('probe_kpi_1m')} FINAL GROUP BY service, region`,
      );
      const contacts = await store.query<{ service: string; region: string; received: string; answered: string }>(
        `SELECT service, region, sum(sums['received']) AS received, sum(sums['answered']) AS answered
         FROM ${store.table('kpi_1m')} FINAL WHERE family = 'contact' GROUP BY service, region`,
      );
      const stored = new Map<string, { attempts: number; successes: number; contacts: number; answered: number }>();
      for (const r of probes)
        stored.set(`${r.service}|${r.region}`, {
          attempts: Number(r.attempts),
          successes: Number(r.successes),
          contacts: 0,
          answered: 0,
        });
      for (const r of contacts) {
        const s = stored.get(`${r.service}|${r.region}`) ?? { attempts: 0, successes: 0, contacts: 0, answered: 0 };
        s.contacts = Number(r.received);
        s.answered = Number(r.answered);
        stored.set(`${r.service}|${r.region}`, s);
      }
      expect(Object.fromEntries([...stored].sort())).toEqual(Object.fromEntries([...truth].sort()));
      const [raw] = await store.query<{ n: string; distinct: string }>(
        `SELECT count() AS n, uniqExact(source, event_id) AS distinct FROM ${store.table('raw_events')} FINAL`,
      );
      expect(Number(raw?.distinct)).toBe(seq);
    } finally {
      await store.close();
    }
  }, 300_000);
});
