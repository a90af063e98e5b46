import kafkajs, { type Admin, type ITopicMetadata } from 'kafkajs';
import { sourceTopics } from '../aggregator/topics.ts';
import { DLQ_TOPIC } from '../shared/bus/bus.ts';
import { createBus } from '../shared/bus/index.ts';
import type { BusLogger } from '../shared/bus/options.ts';
import { type KafkaSecurity, kafkajsSecurityConfig, PLAINTEXT } from '../shared/bus/security.ts';
import { parseBrokers } from '../shared/bus/util.ts';
import type { Config } from '../shared/config/config.ts';
import { type SourceName, sourceNames } from '../shared/sources/registry.ts';

/**
 * Topic provisioning (`cxvitals provision`): the topics cxvitals uses, with partitions,
 * replication and retention from configuration, created through the Kafka admin API.
 *
 * Where the broker has no CreateTopics (the embedded librdkafka mock), the topics are
 * auto-created through a metadata request instead, with the broker's defaults (the mock:
 * 4 partitions, no retention): the report says so. Existing topics are never recreated:
 * retention and min.insync.replicas are corrected in place; a partition count below the
 * plan is only reported, because adding partitions moves keys (service|region) to other
 * partitions — see docs/production.md for the drain-then-repartition procedure and
 * `--increase-partitions`.
 */

const { Kafka, ConfigResourceTypes, logLevel } = kafkajs;

export type TopicRole = 'live' | 'backfill' | 'dlq';

export interface TopicSpec {
  topic: string;
  role: TopicRole;
  partitions: number;
  replicationFactor: number;
  /** Topic-level configs set at creation and kept in line afterwards. */
  configs: Record<string, string>;
}

export class ProvisionError extends Error {
  constructor(
    readonly code: 'PROVISION_INVALID_PLAN' | 'PROVISION_NO_BROKERS' | 'PROVISION_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProvisionError';
  }
}

/** Every topic cxvitals produces to or consumes from: per source live + backfill, and the DLQ. */
export function cxvitalsTopics(sources: readonly string[] = sourceNames): Array<{ topic: string; role: TopicRole }> {
  const topics = [...sourceTopics(sources as SourceName[])].map(([topic, t]) => ({
    topic,
    role: (t.backfill ? 'backfill' : 'live') as TopicRole,
  }));
  return [...topics, { topic: DLQ_TOPIC, role: 'dlq' as const }];
}

export function planTopics(settings: Config['topics'], sources?: readonly string[]): TopicSpec[] {
  if (settings.minInsyncReplicas > settings.replicationFactor) {
    throw new ProvisionError(
      'PROVISION_INVALID_PLAN',
      `CXV_TOPIC_MIN_INSYNC_REPLICAS (${settings.minInsyncReplicas}) exceeds CXV_TOPIC_REPLICATION_FACTOR (${settings.replicationFactor}): no acks=all write could succeed. Lower the first or raise the second.`,
    );
  }
  const retention: Record<TopicRole, number> = {
    live: settings.retentionMs,
    backfill: settings.backfillRetentionMs,
    dlq: settings.dlqRetentionMs,
  };
  return cxvitalsTopics(sources).map(({ topic, role }) => ({
    topic,
    role,
    // The DLQ is read by people, not by a consumer group: a few partitions are plenty.
    partitions: role === 'dlq' ? Math.min(3, settings.partitions) : settings.partitions,
    replicationFactor: settings.replicationFactor,
    configs: {
      'cleanup.policy': 'delete',
      'retention.ms': String(retention[role]),
      'min.insync.replicas': String(settings.minInsyncReplicas),
    },
  }));
}

export type TopicOutcome =
  | { topic: string; action: 'created'; partitions: number }
  | { topic: string; action: 'auto-created'; partitions: number; note: string }
  | { topic: string; action: 'unchanged'; partitions: number }
  | { topic: string; action: 'updated'; partitions: number; changed: Record<string, { from: string; to: string }> }
  | { topic: string; action: 'partitions-increased'; partitions: number; from: number }
  | { topic: string; action: 'drift'; partitions: number; problems: string[] };

export const AUTO_CREATED_NOTE =
  'the broker has no CreateTopics (the embedded mock): topics were auto-created with its defaults; the planned partitions, replication and retention were not applied';

export interface ApplyOptions {
  brokers: string;
  clientId: string;
  log: BusLogger;
  /** Add partitions to existing topics that have fewer than planned (moves keys: drain first). */
  increasePartitions?: boolean;
  /** TLS / SASL to the brokers (shared/bus/security.ts). Default: plaintext. */
  security?: KafkaSecurity;
  timeoutMs?: number;
}

/** kafkajs says "does not support" / UNSUPPORTED_VERSION when the broker lacks an API (the mock lacks several). */
const unsupported = (err: unknown): boolean =>
  /not support|UNSUPPORTED_VERSION|unsupported/i.test(`${(err as Error)?.message} ${(err as { type?: string })?.type ?? ''}`);

export async function applyTopicPlan(plan: readonly TopicSpec[], options: ApplyOptions): Promise<TopicOutcome[]> {
  const kafka = new Kafka({
    clientId: `${options.clientId}-provision`,
    brokers: parseBrokers(options.brokers),
    ...kafkajsSecurityConfig(options.security ?? PLAINTEXT),
    connectionTimeout: 5_000,
    requestTimeout: options.timeoutMs ?? 30_000,
    retry: { retries: 3 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (err) {
    throw new ProvisionError(
      'PROVISION_NO_BROKERS',
      `Cannot reach Kafka at ${options.brokers}: ${(err as Error).message}. Check KAFKA_BROKERS.`,
      { cause: err },
    );
  }
  try {
    const existing = new Set(await admin.listTopics());
    // CreateTopics and DescribeConfigs go to the controller. The librdkafka mock advertises
    // controller id 0, which is none of its brokers (1..N): that is how the embedded broker
    // is recognised, before kafkajs fails with "Broker 0 not found in the cached metadata".
    const cluster = await admin.describeCluster();
    const hasController = cluster.brokers.some((b) => b.nodeId === cluster.controller);
    const missing = plan.filter((t) => !existing.has(t.topic));
    const outcomes: TopicOutcome[] = [];
    if (missing.length > 0) outcomes.push(...(await createMissing(admin, missing, options, hasController)));
    const present = plan.filter((t) => existing.has(t.topic));
    if (present.length > 0) outcomes.push(...(await reconcile(admin, present, options, hasController)));
    const order = new Map(plan.map((t, i) => [t.topic, i]));
    return outcomes.sort((a, b) => (order.get(a.topic) ?? 0) - (order.get(b.topic) ?? 0));
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function createMissing(
  admin: Admin,
  missing: readonly TopicSpec[],
  options: ApplyOptions,
  hasController: boolean,
): Promise<TopicOutcome[]> {
  try {
    if (!hasController)
      throw new ProvisionError('PROVISION_FAILED', 'broker does not support CreateTopics: no controller among the brokers');
    await admin.createTopics({
      waitForLeaders: true,
      timeout: options.timeoutMs ?? 30_000,
      topics: missing.map((t) => ({
        topic: t.topic,
        numPartitions: t.partitions,
        replicationFactor: t.replicationFactor,
        configEntries: Object.entries(t.configs).map(([name, value]) => ({ name, value })),
      })),
    });
    return missing.map((t) => ({ topic: t.topic, action: 'created', partitions: t.partitions }));
  } catch (err) {
    if (!unsupported(err)) {
      throw new ProvisionError(
        'PROVISION_FAILED',
        `Creating ${missing.map((t) => t.topic).join(', ')} failed: ${(err as Error).message}. A replication factor above the broker count fails here: check CXV_TOPIC_REPLICATION_FACTOR.`,
        { cause: err },
      );
    }
    // The embedded mock (and brokers that forbid CreateTopics but allow auto-creation).
    options.log.warn({ err: (err as Error).message }, 'broker has no CreateTopics: falling back to auto-creation');
    const bus = createBus({
      kind: 'rdkafka',
      brokers: options.brokers,
      clientId: `${options.clientId}-provision`,
      log: options.log,
      ...(options.security ? { security: options.security } : {}),
    });
    try {
      await bus.ensureTopics(missing.map((t) => t.topic));
    } finally {
      await bus.close();
    }
    const metadata = await admin.fetchTopicMetadata({ topics: missing.map((t) => t.topic) });
    return missing.map((t) => ({
      topic: t.topic,
      action: 'auto-created',
      partitions: partitionCount(metadata.topics, t.topic),
      note: AUTO_CREATED_NOTE,
    }));
  }
}

const partitionCount = (topics: ITopicMetadata[], topic: string): number =>
  topics.find((t) => t.name === topic)?.partitions.length ?? 0;

async function reconcile(
  admin: Admin,
  present: readonly TopicSpec[],
  options: ApplyOptions,
  hasController: boolean,
): Promise<TopicOutcome[]> {
  const metadata = await admin.fetchTopicMetadata({ topics: present.map((t) => t.topic) });
  let described: Map<string, Map<string, { value: string; dynamic: boolean }>> | undefined;
  try {
    if (!hasController)
      throw new ProvisionError('PROVISION_FAILED', 'broker does not support DescribeConfigs: no controller among the brokers');
    const response = await admin.describeConfigs({
      includeSynonyms: false,
      resources: present.map((t) => ({ type: ConfigResourceTypes.TOPIC, name: t.topic })),
    });
    described = new Map(
      response.resources.map((r) => [
        r.resourceName,
        // configSource 1 = a topic-level override (DYNAMIC_TOPIC_CONFIG): what AlterConfigs replaces.
        new Map(r.configEntries.map((e) => [e.configName, { value: e.configValue, dynamic: Number(e.configSource) === 1 }])),
      ]),
    );
  } catch (err) {
    if (!unsupported(err))
      throw new ProvisionError('PROVISION_FAILED', `DescribeConfigs failed: ${(err as Error).message}`, { cause: err });
  }
  const outcomes: TopicOutcome[] = [];
  for (const spec of present) {
    const topic = metadata.topics.find((t) => t.name === spec.topic);
    const partitions = topic?.partitions.length ?? 0;
    const replicas = topic?.partitions[0]?.replicas.length ?? 0;
    const problems: string[] = [];
    if (replicas !== spec.replicationFactor) {
      problems.push(
        `replication factor ${replicas}, planned ${spec.replicationFactor} (change it with a partition reassignment: kafka-reassign-partitions.sh)`,
      );
    }
    if (partitions < spec.partitions && options.increasePartitions && hasController) {
      await admin.createPartitions({ topicPartitions: [{ topic: spec.topic, count: spec.partitions }] });
      outcomes.push({ topic: spec.topic, action: 'partitions-increased', partitions: spec.partitions, from: partitions });
    } else if (partitions !== spec.partitions) {
      problems.push(
        `${partitions} partitions, planned ${spec.partitions}${partitions < spec.partitions ? ' (drain the aggregators, then run provision --increase-partitions: docs/production.md)' : ' (Kafka cannot remove partitions; set CXV_TOPIC_PARTITIONS to match)'}`,
      );
    }
    const current = described?.get(spec.topic);
    if (!current) {
      if (described === undefined) problems.push('configs not checked: the broker has no DescribeConfigs (the embedded mock)');
      if (problems.length > 0) outcomes.push({ topic: spec.topic, action: 'drift', partitions, problems });
      else outcomes.push({ topic: spec.topic, action: 'unchanged', partitions });
      continue;
    }
    const changed: Record<string, { from: string; to: string }> = {};
    for (const [name, value] of Object.entries(spec.configs)) {
      const from = current.get(name)?.value ?? '';
      if (from !== value) changed[name] = { from, to: value };
    }
    if (Object.keys(changed).length > 0) {
      // AlterConfigs (the API kafkajs speaks) replaces every topic-level override, so the
      // ones cxvitals does not manage are sent back unchanged.
      const keep = [...current]
        .filter(([name, e]) => e.dynamic && !(name in spec.configs))
        .map(([name, e]) => ({ name, value: e.value }));
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: spec.topic,
            configEntries: [...keep, ...Object.entries(spec.configs).map(([name, value]) => ({ name, value }))],
          },
        ],
      });
    }
    if (problems.length > 0) outcomes.push({ topic: spec.topic, action: 'drift', partitions, problems });
    else if (Object.keys(changed).length > 0) outcomes.push({ topic: spec.topic, action: 'updated', partitions, changed });
    else outcomes.push({ topic: spec.topic, action: 'unchanged', partitions });
  }
  return outcomes;
}
