import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Network, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBus } from '../../services/shared/bus/index.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { openStore, type Store } from '../../services/shared/store/store.ts';
import { cxvitals } from '../deploy/cli.ts';
import { knownStream, produceBatch, sorted, storedTotals } from '../support/ground-truth.ts';
import { type CliProcess, spawnCli } from '../support/processes.ts';
import {
  CLICKHOUSE_PASSWORD,
  CONTAINER_TESTS,
  containerSuiteOff,
  requireDockerEngine,
  startClickHouseCluster,
} from './support.ts';

/**
 * ClickHouse cluster mode for real: two shards with Keeper, `cxvitals provision` applying the
 * sql/ migrations with CLICKHOUSE_CLUSTER=cx (replicated local tables ON CLUSTER, Distributed
 * tables over them), then an aggregator writing through the Distributed tables: totals exact,
 * rows on both shards.
 */

containerSuiteOff('ClickHouse cluster mode on a two-shard cluster');

describe.runIf(CONTAINER_TESTS)('ClickHouse cluster mode on a two-shard cluster', () => {
  let network: StartedNetwork;
  let nodes: StartedTestContainer[] = [];
  const children: CliProcess[] = [];
  let env: Record<string, string> = {};
  const stores: Store[] = [];
  const nodeStore = async (node: StartedTestContainer) => {
    const store = await openStore({
      mode: 'external',
      url: `http://${node.getHost()}:${node.getMappedPort(8123)}`,
      user: 'cxvitals',
      password: CLICKHOUSE_PASSWORD,
      database: 'cxvitals',
      log: silentLogger,
    });
    stores.push(store);
    return store;
  };

  beforeAll(async () => {
    await requireDockerEngine();
    network = await new Network().start();
    const cluster = await startClickHouseCluster(network, 2);
    nodes = cluster.containers;
    env = {
      CLICKHOUSE_URL: cluster.url,
      CLICKHOUSE_USER: 'cxvitals',
      CLICKHOUSE_PASSWORD,
      CLICKHOUSE_CLUSTER: 'cx',
      CXV_PORT: '0',
      CXV_KAFKA_SESSION_TIMEOUT_MS: '6000',
      CXV_WINDOW_OUT_OF_ORDERNESS_MS: '1000',
      CXV_IDLE_PARTITION_MS: '1000',
      CXV_ALLOWED_LATENESS_MS: String(24 * 3_600_000),
    };
  }, 300_000);

  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    await Promise.all(stores.map((s) => s.close()));
    await Promise.all(nodes.map((n) => n.stop()));
    await network?.stop();
  });

  it('creates replicated and distributed tables on every node', async () => {
    const result = await cxvitals(['provision', '--skip-topics'], env);
    expect(result.code, result.stderr).toBe(0);
    for (const node of nodes) {
      const store = await nodeStore(node);
      const tables = await store.query<{ name: string; engine: string }>(
        "SELECT name, engine FROM system.tables WHERE database = 'cxvitals' AND name IN ('probe_kpi_1m', 'probe_kpi_1m_local') ORDER BY name",
      );
      expect(tables).toEqual([
        { name: 'probe_kpi_1m', engine: 'Distributed' },
        { name: 'probe_kpi_1m_local', engine: 'ReplicatedReplacingMergeTree' },
      ]);
    }
  }, 180_000);

  it('aggregates exactly through the Distributed tables, spreading rows over both shards', async () => {
    const logFile = path.join(await mkdtemp(path.join(os.tmpdir(), 'cxv-cluster-')), 'processes.log');
    const broker = spawnCli(['broker'], {}, logFile);
    children.push(broker);
    const brokers = await broker.waitFor(/KAFKA_BROKERS=(\S+)/);
    const aggregator = spawnCli(['aggregator'], { ...env, KAFKA_BROKERS: brokers }, logFile);
    children.push(aggregator);
    await aggregator.waitFor(/health\s+(http:\/\/\S+)\/healthz/, 120_000);

    const stream = knownStream({
      seed: 11,
      batches: 10,
      perBatch: 200,
      startMs: Math.floor(Date.now() / 3_600_000) * 3_600_000 - 5 * 3_600_000,
      services: ['voice', 'iptv', 'broadband', 'mobile-data'],
      regions: ['north', 'south', 'east', 'west'],
    });
    const bus = createBus({ kind: 'rdkafka', brokers, clientId: 'cluster-test', log: silentLogger });
    for (const batch of stream.batches) await produceBatch(bus, batch);
    await bus.close();
    await sleep(10_000);
    aggregator.child.kill('SIGTERM');
    expect(await aggregator.exited).toBe(0);

    const [first, second] = await Promise.all(nodes.map(nodeStore));
    if (!first || !second) throw new Error('two nodes expected');
    expect(sorted(await storedTotals(first))).toEqual(sorted(stream.truth));
    for (const store of [first, second]) {
      const [local] = await store.query<{ n: string }>('SELECT count() AS n FROM cxvitals.probe_kpi_1m_local');
      expect(Number(local?.n)).toBeGreaterThan(0);
    }
  }, 300_000);
});
