import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import type { StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planTopics } from '../../services/provision/topics.ts';
import { createBus } from '../../services/shared/bus/index.ts';
import { loadConfig } from '../../services/shared/config/config.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { openStore } from '../../services/shared/store/store.ts';
import { cxvitals } from '../deploy/cli.ts';
import { knownStream, produceBatch, sorted, storedTotals } from '../support/ground-truth.ts';
import { type CliProcess, spawnCli } from '../support/processes.ts';
import {
  CLICKHOUSE_PASSWORD,
  CONTAINER_TESTS,
  containerSuiteOff,
  requireDockerEngine,
  startClickHouse,
  startKafka,
} from './support.ts';

/**
 * The services as separate processes against a real Apache Kafka (KRaft) and a real
 * ClickHouse server in containers: `cxvitals provision` creates the topics through the
 * admin API (the path the embedded broker cannot take), ingest takes events over HTTP,
 * two aggregators share the partitions, one is killed and another started, and the stored
 * totals equal the ground truth.
 */

const TOKEN = 'cxv_container_test_token_0123456789';

containerSuiteOff('services on real Kafka and ClickHouse containers');

describe.runIf(CONTAINER_TESTS)('services on real Kafka and ClickHouse containers', () => {
  const containers: StartedTestContainer[] = [];
  const children: CliProcess[] = [];
  let env: Record<string, string> = {};
  let logFile = '';

  beforeAll(async () => {
    const host = await requireDockerEngine();
    const [kafka, clickhouse] = await Promise.all([startKafka(host), startClickHouse()]);
    containers.push(kafka.container, clickhouse.container);
    logFile = path.join(await mkdtemp(path.join(os.tmpdir(), 'cxv-containers-')), 'processes.log');
    env = {
      KAFKA_BROKERS: kafka.brokers,
      CLICKHOUSE_URL: clickhouse.url,
      CLICKHOUSE_USER: 'cxvitals',
      CLICKHOUSE_PASSWORD,
      CXV_PORT: '0',
      CXV_SIMULATE: '0',
      CXV_TOPIC_PARTITIONS: '6',
      CXV_TOPIC_REPLICATION_FACTOR: '1',
      CXV_TOPIC_MIN_INSYNC_REPLICAS: '1',
      CXV_KAFKA_SESSION_TIMEOUT_MS: '6000',
      CXV_WINDOW_OUT_OF_ORDERNESS_MS: '1000',
      CXV_IDLE_PARTITION_MS: '1000',
      CXV_ALLOWED_LATENESS_MS: String(24 * 3_600_000),
      CXV_INGEST_TOKENS: `*:${createHash('sha256').update(TOKEN).digest('hex')}`,
    };
  }, 300_000);

  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    await Promise.all(containers.map((c) => c.stop()));
  });

  it('provision creates every topic with the planned partitions and retention, then finds nothing to change', async () => {
    const first = await cxvitals(['provision', '--json'], env);
    expect(first.code, first.stderr).toBe(0);
    const plan = planTopics(loadConfig(env).topics);
    const admin = new kafkajs.Kafka({ brokers: [env.KAFKA_BROKERS ?? ''], logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: plan.map((t) => t.topic) });
      for (const t of plan) expect(metadata.topics.find((m) => m.name === t.topic)?.partitions).toHaveLength(t.partitions);
      const configs = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: 'cx.probe.v1', configNames: ['retention.ms'] }],
      });
      expect(configs.resources[0]?.configEntries[0]?.configValue).toBe('604800000');
    } finally {
      await admin.disconnect();
    }
    const again = await cxvitals(['provision'], env);
    expect(again.stdout).toMatch(/cx\.probe\.v1: unchanged \(6 partitions\)/);
    expect(again.stdout).toMatch(/0 migration\(s\) applied/);
  }, 120_000);

  it('counts exactly while aggregators are killed and added', async () => {
    const start = async (role: string) => {
      const p = spawnCli([role], env, logFile);
      children.push(p);
      return { p, url: await p.waitFor(/health\s+(http:\/\/\S+)\/healthz/, 120_000) };
    };
    const ingest = await start('ingest');
    const aggregators = await Promise.all([start('aggregator'), start('aggregator')]);

    // One event through the HTTP edge, as a sender would post it.
    const posted = await fetch(`${ingest.url}/api/v1/events/probe`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify([
        {
          eventId: 'edge-1',
          ts: Date.now() - 3_600_000,
          service: 'edge',
          region: 'north',
          probeId: 'p',
          probeType: 'active',
          success: true,
        },
      ]),
    });
    expect(posted.status).toBe(200);

    const stream = knownStream({
      seed: 7,
      batches: 20,
      perBatch: 200,
      startMs: Math.floor(Date.now() / 3_600_000) * 3_600_000 - 5 * 3_600_000,
      services: ['voice', 'iptv'],
      regions: ['north', 'south', 'east'],
    });
    const bus = createBus({ kind: 'rdkafka', brokers: env.KAFKA_BROKERS ?? '', clientId: 'container-test', log: silentLogger });
    for (const [i, batch] of stream.batches.entries()) {
      await produceBatch(bus, batch);
      if (i === 6) aggregators[0]?.p.child.kill('SIGKILL');
      if (i === 10) aggregators.push(await start('aggregator'));
      await sleep(300);
    }
    await bus.close();

    const store = await openStore({
      mode: 'external',
      url: env.CLICKHOUSE_URL,
      user: 'cxvitals',
      password: CLICKHOUSE_PASSWORD,
      database: 'cxvitals',
      log: silentLogger,
    });
    try {
      const deadline = Date.now() + 120_000;
      let stored = await storedTotals(store);
      while (Date.now() < deadline && JSON.stringify(sorted(stored)) !== JSON.stringify(sorted(stream.truth))) {
        await sleep(2000);
        stored = await storedTotals(store);
      }
      for (const a of aggregators.slice(1)) a.p.child.kill('SIGTERM');
      await Promise.all(aggregators.slice(1).map((a) => a.p.exited));
      stored = await storedTotals(store);
      const edge = stored.get('edge|north');
      stored.delete('edge|north');
      expect(sorted(stored)).toEqual(sorted(stream.truth));
      expect(edge).toMatchObject({ attempts: 1, successes: 1 });
    } finally {
      await store.close();
    }
  }, 300_000);
});
