import type { Command } from 'commander';
import { pino } from 'pino';
import { applyTopicPlan, planTopics, type TopicOutcome, type TopicSpec } from '../provision/topics.ts';
import { type Config, ConfigError, loadConfig } from '../shared/config/config.ts';
import type { Logger } from '../shared/log.ts';
import { loadMigrations, migrate } from '../shared/store/migrations.ts';
import { openStore } from '../shared/store/store.ts';

/**
 * `cxvitals provision`: creates what the services expect to exist before they start —
 * the Kafka topics (partitions, replication, retention from CXV_TOPIC_*) and the
 * ClickHouse schema (the sql/ migrations; replicated + distributed with
 * CLICKHOUSE_CLUSTER). Idempotent: run it as a one-shot job before every rollout.
 * `--dry-run` prints the plan and the exact SQL without connecting to anything.
 */

interface ProvisionOptions {
  dryRun?: boolean;
  json?: boolean;
  skipTopics?: boolean;
  skipSchema?: boolean;
  increasePartitions?: boolean;
}

function topicTable(plan: readonly TopicSpec[]): string {
  const rows = plan.map((t) => [
    t.topic,
    String(t.partitions),
    String(t.replicationFactor),
    t.configs['retention.ms'] ?? '',
    t.configs['min.insync.replicas'] ?? '',
  ]);
  const header = ['topic', 'partitions', 'replication', 'retention.ms', 'min.insync.replicas'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows].map((r) => `  ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd()).join('\n');
}

const describeOutcome = (o: TopicOutcome): string => {
  switch (o.action) {
    case 'created':
    case 'unchanged':
      return `  ${o.topic}: ${o.action} (${o.partitions} partitions)`;
    case 'auto-created':
      return `  ${o.topic}: auto-created (${o.partitions} partitions)`;
    case 'updated':
      return `  ${o.topic}: updated ${Object.entries(o.changed)
        .map(([k, v]) => `${k} ${v.from || '(default)'} → ${v.to}`)
        .join(', ')}`;
    case 'partitions-increased':
      return `  ${o.topic}: partitions ${o.from} → ${o.partitions}`;
    case 'drift':
      return `  ${o.topic}: WARNING ${o.problems.join('; ')}`;
  }
};

async function schemaPlan(config: Config) {
  const migrations = await loadMigrations(config.clickhouse.database, undefined, config.clickhouse.cluster);
  return {
    mode: config.clickhouse.cluster ? 'cluster' : 'single-node',
    cluster: config.clickhouse.cluster ?? null,
    database: config.clickhouse.database,
    migrations: migrations.map((m) => ({ version: m.version, name: m.name, statements: m.statements })),
  };
}

async function provision(options: ProvisionOptions): Promise<number> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const out = (text: string) => process.stdout.write(`${text}\n`);
  const topics = options.skipTopics ? [] : planTopics(config.topics);
  const kafkaWhere = config.kafka.brokers ?? '(KAFKA_BROKERS unset: embedded broker, topics auto-created with 4 partitions)';
  const storeWhere = config.clickhouse.url ?? `embedded chDB in ${config.dataDir}`;

  if (options.dryRun) {
    const schema = options.skipSchema ? undefined : await schemaPlan(config);
    if (options.json) {
      out(JSON.stringify({ topics, schema: schema ?? null }, null, 2));
      return 0;
    }
    out('cxvitals provision --dry-run: nothing is changed.');
    if (!options.skipTopics) out(`\nKafka topics at ${kafkaWhere}:\n${topicTable(topics)}`);
    if (schema) {
      out(
        `\nClickHouse schema at ${storeWhere}, database ${schema.database}, ${schema.mode}${schema.cluster ? ` '${schema.cluster}'` : ''}:`,
      );
      for (const m of schema.migrations) {
        out(`\n-- ${String(m.version).padStart(4, '0')}_${m.name}`);
        for (const s of m.statements) out(`${s};\n`);
      }
    }
    return 0;
  }

  // The log goes to stderr: stdout carries the report (JSON with --json) for scripts.
  const log: Logger = pino(
    {
      name: 'cxvitals',
      level: config.logLevel,
      base: { service: 'cxvitals-provision' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination(2),
  );
  if (!options.skipTopics) {
    if (!config.kafka.brokers) {
      process.stderr.write(
        'cxvitals provision: KAFKA_BROKERS is not set. Provisioning is for a real Kafka cluster; the embedded broker auto-creates its topics. Set KAFKA_BROKERS, or pass --skip-topics.\n',
      );
      return 2;
    }
    const outcomes = await applyTopicPlan(topics, {
      brokers: config.kafka.brokers,
      clientId: config.kafka.clientId,
      log,
      increasePartitions: options.increasePartitions,
      security: config.kafka.security,
    });
    if (options.json) out(JSON.stringify({ topics: outcomes }));
    else {
      out(`Kafka topics at ${kafkaWhere}:\n${outcomes.map(describeOutcome).join('\n')}`);
      const note = outcomes.find((o) => o.action === 'auto-created');
      if (note?.action === 'auto-created') out(`  NOTE: ${note.note}.`);
    }
  }
  if (!options.skipSchema) {
    const store = await openStore({ ...config.clickhouse, dataDir: config.dataDir, log });
    try {
      const report = await migrate(store, log, { cluster: config.clickhouse.cluster });
      if (options.json) out(JSON.stringify({ schema: report }));
      else
        out(
          `ClickHouse schema at ${storeWhere}${config.clickhouse.cluster ? ` (cluster '${config.clickhouse.cluster}')` : ''}: ${report.applied.length} migration(s) applied${report.applied.length ? ` (${report.applied.join(', ')})` : ''}, ${report.alreadyApplied} already applied.`,
        );
    } finally {
      await store.close();
    }
  }
  return 0;
}

export function registerProvisionCommand(program: Command): void {
  program
    .command('provision')
    .description(
      'Create the Kafka topics (CXV_TOPIC_* partitions, replication, retention) and apply the ClickHouse schema (replicated + distributed with CLICKHOUSE_CLUSTER). Idempotent; run before a rollout.',
    )
    .option('--dry-run', 'print the topic plan and the exact SQL; connect to nothing')
    .option('--json', 'machine-readable output')
    .option('--skip-topics', 'leave Kafka alone')
    .option('--skip-schema', 'leave ClickHouse alone')
    .option(
      '--increase-partitions',
      'add partitions to existing topics below CXV_TOPIC_PARTITIONS (moves keys: drain the aggregators first)',
    )
    .action(async (options: ProvisionOptions) => {
      const code = await provision(options).catch((err: Error) => {
        process.stderr.write(`cxvitals provision failed: ${err.message}\n`);
        return 1;
      });
      process.exitCode = code;
    });
}
