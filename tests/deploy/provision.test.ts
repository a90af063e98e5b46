import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planTopics } from '../../services/provision/topics.ts';
import { loadConfig } from '../../services/shared/config/config.ts';
import { type CliProcess, spawnCli } from '../support/processes.ts';
import { cxvitals } from './cli.ts';

/** `cxvitals provision`: the topic plan from configuration, the dry run, and the embedded-broker fallback. */

const children: CliProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
});

describe('topic plan', () => {
  it('covers every source (live and backfill) and the DLQ, with the documented defaults', () => {
    const plan = planTopics(loadConfig({}).topics);
    const probe = plan.find((t) => t.topic === 'cx.probe.v1');
    expect(probe).toEqual({
      topic: 'cx.probe.v1',
      role: 'live',
      partitions: 12,
      replicationFactor: 3,
      configs: { 'cleanup.policy': 'delete', 'retention.ms': '604800000', 'min.insync.replicas': '2' },
    });
    expect(plan.find((t) => t.topic === 'cx.probe.backfill.v1')?.configs['retention.ms']).toBe('259200000');
    expect(plan.find((t) => t.topic === 'cx.dlq.v1')).toMatchObject({ partitions: 3, configs: { 'retention.ms': '2592000000' } });
    expect(plan.map((t) => t.topic)).toEqual(
      expect.arrayContaining(['cx.maintenance.v1', 'cx.contact.v1', 'cx.survey.v1', 'cx.social.v1']),
    );
    expect(plan.some((t) => t.topic === 'cx.maintenance.backfill.v1')).toBe(false);
  });

  it('refuses min.insync.replicas above the replication factor', () => {
    const topics = loadConfig({ CXV_TOPIC_REPLICATION_FACTOR: '1' }).topics;
    expect(() => planTopics(topics)).toThrow(/CXV_TOPIC_MIN_INSYNC_REPLICAS \(2\) exceeds CXV_TOPIC_REPLICATION_FACTOR \(1\)/);
  });
});

describe('cxvitals provision', () => {
  it('--dry-run --json prints the plan and the cluster SQL without connecting', async () => {
    const { code, stdout } = await cxvitals(['provision', '--dry-run', '--json'], {
      KAFKA_BROKERS: '127.0.0.1:1',
      CLICKHOUSE_URL: 'http://127.0.0.1:1',
      CLICKHOUSE_CLUSTER: 'cx',
      CXV_TOPIC_PARTITIONS: '24',
    });
    expect(code).toBe(0);
    const plan = JSON.parse(stdout) as {
      topics: Array<{ topic: string; partitions: number }>;
      schema: { mode: string; migrations: Array<{ statements: string[] }> };
    };
    expect(plan.topics.find((t) => t.topic === 'cx.probe.v1')?.partitions).toBe(24);
    expect(plan.schema.mode).toBe('cluster');
    expect(plan.schema.migrations[0]?.statements[1]).toBe(
      "CREATE TABLE IF NOT EXISTS cxvitals.probe_kpi_1m ON CLUSTER 'cx' AS cxvitals.probe_kpi_1m_local\nENGINE = Distributed('cx', 'cxvitals', 'probe_kpi_1m_local', cityHash64(service, region))",
    );
  });

  it('needs KAFKA_BROKERS to provision topics', async () => {
    const { code, stderr } = await cxvitals(['provision', '--skip-schema']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/KAFKA_BROKERS is not set/);
  });

  it('falls back to auto-creation on the embedded broker, and reports the drift afterwards', async () => {
    const broker = spawnCli(['broker'], {}, path.join(await mkdtemp(path.join(os.tmpdir(), 'cxv-provision-')), 'broker.log'));
    children.push(broker);
    const brokers = await broker.waitFor(/KAFKA_BROKERS=(\S+)/);
    const first = await cxvitals(['provision', '--skip-schema', '--json'], { KAFKA_BROKERS: brokers });
    expect(first.code).toBe(0);
    const created = JSON.parse(first.stdout).topics as Array<{ topic: string; action: string; partitions: number }>;
    expect(created.find((t) => t.topic === 'cx.probe.v1')).toMatchObject({ action: 'auto-created', partitions: 4 });
    expect(created.every((t) => t.action === 'auto-created')).toBe(true);
    const again = await cxvitals(['provision', '--skip-schema'], { KAFKA_BROKERS: brokers });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/cx\.probe\.v1: WARNING replication factor 1, planned 3 .*; 4 partitions, planned 12/);
    broker.child.kill('SIGTERM');
  });
});
