import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { cxvitalsTopics } from '../../services/provision/topics.ts';
import { createBus } from '../../services/shared/bus/index.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { type ChdbHttpServer, startChdbHttp } from '../../services/shared/store/chdb-http.ts';
import { openStore } from '../../services/shared/store/store.ts';
import { readHeaders } from '../support/auth.ts';
import { knownStream, produceBatch, sorted, storedTotals } from '../support/ground-truth.ts';
import { type CliProcess, spawnCli } from '../support/processes.ts';

/**
 * Scale-out on one machine, as in production but with embedded parts:
 *  - Kafka: a standalone `cxvitals broker` process (librdkafka mock, 4 partitions per topic);
 *  - ClickHouse: one chDB folder behind a tests-only HTTP front (services/shared/store/chdb-http.ts)
 *    in this test's process. chDB holds one data path per process, so the aggregators
 *    cannot open the folder themselves; they reach it with CLICKHOUSE_URL exactly as they
 *    reach a ClickHouse server, through the same client and SQL;
 *  - `cxvitals provision` first (topics: the mock has no CreateTopics, so auto-creation;
 *    schema: the migrations over HTTP), as docs/production.md prescribes;
 *  - two `cxvitals aggregator` processes in one consumer group; mid-stream one is killed
 *    with SIGKILL and a third starts. The stored totals must equal the ground truth exactly.
 */

const MOCK_PARTITIONS_PER_TOPIC = 4;
const children: CliProcess[] = [];
let front: ChdbHttpServer | undefined;
afterAll(async () => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  await front?.close();
});

async function metricsOf(url: string): Promise<{ lag: number; assigned: number }> {
  const text = await (await fetch(`${url}/metrics`, { headers: readHeaders() })).text().catch(() => '');
  return {
    lag: Number(/^cxv_aggregator_consumer_lag_messages (\S+)/m.exec(text)?.[1] ?? Number.NaN),
    assigned: Number(/^cxv_aggregator_assigned_partitions (\S+)/m.exec(text)?.[1] ?? 0),
  };
}

describe('aggregators scaled out over processes, one killed and one added mid-stream', () => {
  it('stores exactly the ground truth', async () => {
    const started = Date.now();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cxv-scale-out-'));
    const logFile = path.join(dir, 'processes.log');
    front = await startChdbHttp({ dataDir: path.join(dir, 'chdb') });
    const broker = spawnCli(['broker'], {}, logFile);
    children.push(broker);
    const brokers = await broker.waitFor(/KAFKA_BROKERS=(\S+)/);
    const env = {
      KAFKA_BROKERS: brokers,
      CLICKHOUSE_URL: front.url,
      CXV_PORT: '0',
      CXV_KAFKA_SESSION_TIMEOUT_MS: '6000',
      CXV_WINDOW_OUT_OF_ORDERNESS_MS: '1000',
      CXV_IDLE_PARTITION_MS: '1000',
      CXV_ALLOWED_LATENESS_MS: String(24 * 3_600_000),
      // More detail in processes.log when investigating: CXV_SCALE_OUT_LOG_LEVEL=info.
      CXV_LOG_LEVEL: process.env.CXV_SCALE_OUT_LOG_LEVEL ?? 'warn',
    };

    const provision = spawnCli(['provision'], env, logFile);
    expect(await provision.exited).toBe(0);

    const aggregators: Array<{ p: CliProcess; url: string }> = [];
    const startAggregator = async () => {
      const p = spawnCli(['aggregator'], env, logFile);
      children.push(p);
      const url = await p.waitFor(/health\s+(http:\/\/\S+)\/healthz/);
      const member = { p, url };
      aggregators.push(member);
      return member;
    };
    const [a] = await Promise.all([startAggregator(), startAggregator()]);

    const stream = knownStream({
      seed: 20261123,
      batches: 30,
      perBatch: 125,
      startMs: Math.floor(Date.now() / 3_600_000) * 3_600_000 - 5 * 3_600_000,
      services: ['voice', 'iptv', 'broadband'],
      regions: ['north', 'south', 'east', 'west'],
    });
    const bus = createBus({ kind: 'rdkafka', brokers, clientId: 'scale-out-test', log: silentLogger });
    for (const [i, batch] of stream.batches.entries()) {
      await produceBatch(bus, batch);
      if (i === 10 && a) {
        a.p.child.kill('SIGKILL');
        await a.p.exited;
        aggregators.splice(aggregators.indexOf(a), 1);
      }
      if (i === 15) await startAggregator();
      await sleep(300);
    }
    await bus.close();

    // Caught up: every live member has no lag and together they hold every partition.
    const partitions = cxvitalsTopics().filter((t) => t.role !== 'dlq').length * MOCK_PARTITIONS_PER_TOPIC;
    let stable = 0;
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline && stable < 3) {
      await sleep(1000);
      const seen = await Promise.all(aggregators.map((m) => metricsOf(m.url)));
      const assigned = seen.reduce((n, s) => n + s.assigned, 0);
      stable = seen.every((s) => s.lag === 0) && assigned === partitions ? stable + 1 : 0;
    }
    expect(stable).toBe(3);
    for (const m of aggregators) {
      const ready = await fetch(`${m.url}/readyz`);
      expect(ready.status).toBe(200);
    }

    // Graceful stop: each member flushes its open windows and commits.
    for (const m of aggregators) m.p.child.kill('SIGTERM');
    expect(await Promise.all(aggregators.map((m) => m.p.exited))).toEqual(aggregators.map(() => 0));
    broker.child.kill('SIGTERM');

    const store = await openStore({ mode: 'external', url: front.url, database: 'cxvitals', log: silentLogger });
    try {
      expect(sorted(await storedTotals(store))).toEqual(sorted(stream.truth));
      const [raw] = await store.query<{ distinct: string }>(
        `SELECT uniqExact(source, event_id) AS distinct FROM ${store.table('raw_events')} FINAL`,
      );
      expect(Number(raw?.distinct)).toBe(stream.distinctEvents);
    } finally {
      await store.close();
    }
    process.stderr.write(`scale-out test: ${Math.round((Date.now() - started) / 1000)} s, ${front.requests} store requests\n`);
  }, 180_000);
});
