/**
 * Subscription on kafkajs (pure JavaScript); what it shares with rdkafka's is in
 * `../subscription-core.ts`.
 *
 * `autoCommit: false`, `eachBatch` with `eachBatchAutoResolve: false` and
 * `partitionsConsumedConcurrently: 1`; each kafkajs batch is cut into chunks of
 * `maxBatchSize`, each chunk awaited through `onBatch` before the next, then
 * `resolveOffset` and `heartbeat()`. kafkajs fetches the next batch only after
 * `eachBatch` returned, which gives the backpressure. Commits go through
 * `consumer.commitOffsets` (explicit offsets only).
 *
 * Rebalances — kafkajs has no revoke hook (no callback before it gives partitions up), so
 * the bus approximates one:
 *  - when our own `heartbeat()` inside `eachBatch` reports a rebalance (the common case
 *    for a busy consumer), `onRevoke(all assigned)` is awaited right there, before the
 *    error is re-thrown to kafkajs and before it re-joins — a true pre-revoke;
 *  - otherwise (rebalance noticed by kafkajs' own heartbeat between fetches) the
 *    REBALANCING instrumentation event queues `onRevoke(all assigned)`; kafkajs does not
 *    wait for it, so it runs while the member re-joins and its commits may be rejected
 *    (REBALANCE_IN_PROGRESS / ILLEGAL_GENERATION) — at-least-once still holds because
 *    the new owner starts from the last successful commit;
 *  - a CRASH event (kafkajs restarts the consumer) revokes everything as well;
 *  - GROUP_JOIN carries the new assignment: anything still held is revoked first (eager
 *    semantics: every rebalance revokes all and assigns all), then `onAssign(new)`.
 * Against the librdkafka mock the commits in those revoke handlers fail (it rejects
 * commits while the group re-joins), and kafkajs' LeaveGroup does not take effect (see
 * embedded.ts), so a closed kafkajs member keeps its partitions until its session times
 * out. `close()` pauses fetching, waits for the handler in progress, runs `onRevoke` while
 * still a member (its commits work), then disconnects — do not await `close()` from
 * inside a handler.
 * All of these run on one serial lane with `onBatch`, so they never overlap, and a chunk
 * whose partition was revoked while it waited for the lane is dropped (not resolved,
 * not committed; the next owner re-reads it).
 */

import type { Admin, Consumer, EachBatchPayload, IHeaders, Kafka as KafkaClient, KafkaMessage } from 'kafkajs';
import type { ConsumedMessage, SubscribeOptions, TopicPartition, TopicPartitionOffset } from '../bus.ts';
import { BusError } from '../bus.ts';
import type { ResolvedBusOptions } from '../options.ts';
import { type PartitionLag, Subscription } from '../subscription-core.ts';
import {
  errorMessage,
  headerValueToString,
  keyToString,
  SerialLane,
  sortPartitions,
  toBusError,
  tpKey,
  withTimeout,
} from '../util.ts';

/** Deadline of an awaited commit, ms. */
const COMMIT_TIMEOUT_MS = 30_000;

const isRebalanceError = (e: unknown): boolean => {
  const type = (e as { type?: unknown } | null)?.type;
  return type === 'REBALANCE_IN_PROGRESS' || type === 'ILLEGAL_GENERATION' || type === 'NOT_COORDINATOR_FOR_GROUP';
};

const headersFromKafkajs = (headers: IHeaders | undefined): Record<string, string> => {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[k] = headerValueToString(Array.isArray(v) ? v[v.length - 1] : v);
  }
  return out;
};

const toConsumed = (topic: string, partition: number, m: KafkaMessage): ConsumedMessage => ({
  topic,
  partition,
  offset: Number(m.offset),
  key: keyToString(m.key),
  value: m.value ?? Buffer.alloc(0),
  headers: headersFromKafkajs(m.headers),
  timestamp: Number(m.timestamp),
});

/** kafkajs takes offsets as strings. */
const toKafkajsOffsets = (offsets: TopicPartitionOffset[]) =>
  offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset: String(offset) }));

export class KafkajsSubscription extends Subscription {
  private readonly consumer: Consumer;
  private readonly lane = new SerialLane();
  /** Next offset to read per partition, as far as this member handed messages out. */
  private readonly positions = new Map<string, number>();
  protected readonly disconnectTimeoutMs = 15_000;

  constructor(
    kafka: KafkaClient,
    opts: ResolvedBusOptions,
    sub: SubscribeOptions,
    private readonly getAdmin: () => Promise<Admin>,
    onClosed: () => void,
  ) {
    super('kafkajs', opts, sub, onClosed);
    this.consumer = kafka.consumer({
      groupId: sub.groupId,
      sessionTimeout: opts.sessionTimeoutMs,
      heartbeatInterval: opts.heartbeatIntervalMs,
      rebalanceTimeout: Math.max(60_000, opts.sessionTimeoutMs),
      allowAutoTopicCreation: true,
      // Short fetch wait: kafkajs' stop() waits for the fetch in flight.
      maxWaitTimeInMs: 500,
    });
    const { GROUP_JOIN, REBALANCING, CRASH } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, (e) => this.onGroupJoin(e.payload.memberAssignment));
    this.consumer.on(REBALANCING, () => {
      if (this.state !== 'running') return;
      this.log.info(this.logContext, 'kafka group rebalancing');
      void this.lane.run(() => this.revokeAll('rebalancing'));
    });
    this.consumer.on(CRASH, (e) => {
      const { error, restart } = e.payload;
      if (this.state !== 'running') return;
      if (restart) {
        this.log.warn({ ...this.logContext, err: errorMessage(error) }, 'kafka consumer crashed; kafkajs restarts it');
        void this.lane.run(() => this.revokeAll('consumer restart'));
      } else {
        this.fail(this.stoppedBy(error, `kafka consumer of group ${sub.groupId} crashed`));
      }
    });
  }

  async start(): Promise<void> {
    try {
      await withTimeout(
        this.consumer.connect(),
        this.opts.connectTimeoutMs,
        () => new BusError('BUS_UNAVAILABLE', `kafka consumer: no connection to ${this.opts.brokers}`),
      );
    } catch (e) {
      throw toBusError('BUS_UNAVAILABLE', `kafka consumer could not connect to ${this.opts.brokers}`, e);
    }
    try {
      await this.consumer.subscribe({ topics: this.sub.topics, fromBeginning: this.sub.fromBeginning });
    } catch (e) {
      throw toBusError('BUS_CONSUME_FAILED', `kafka subscribe to ${this.sub.topics.join(',')} failed`, e);
    }
    this.state = 'running';
    this.log.info({ ...this.logContext, topics: this.sub.topics }, 'kafka consumer subscribed');
    // run() resolves once the member joined its group (the mock delays a first join by 3 s).
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.eachBatch(payload),
    });
  }

  /**
   * Only while running: once `close()` began, a failing handler ends a stop that is
   * already under way, and is not reported (rdkafka's reports until it leaves the group).
   */
  protected override reportsFailure(): boolean {
    return this.state === 'running';
  }

  private onGroupJoin(memberAssignment: Record<string, number[]>): void {
    const next = sortPartitions(
      Object.entries(memberAssignment).flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition }))),
    );
    void this.lane.run(async () => {
      if (this.state !== 'running') return;
      await this.revokeAll('group joined');
      for (const tp of next) this.assigned.set(tpKey(tp), tp);
      try {
        await this.announceAssignment(next);
      } catch (e) {
        this.fail(this.stoppedBy(e, `onAssign failed for group ${this.sub.groupId}`));
      }
    });
  }

  /** Runs on the lane. */
  private async revokeAll(reason: string): Promise<void> {
    const owned = this.assignment();
    if (owned.length === 0) return;
    this.assigned.clear();
    for (const tp of owned) this.positions.delete(tpKey(tp));
    this.log.info({ ...this.logContext, partitions: owned, reason }, 'kafka partitions revoked');
    await this.runOnRevoke(owned, 'onRevoke failed');
  }

  private async eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    const key = tpKey({ topic, partition });
    const messages = batch.messages;
    for (let i = 0; i < messages.length; i += this.maxBatchSize) {
      if (this.state !== 'running' || this.failed) return;
      const chunk = messages.slice(i, i + this.maxBatchSize).map((m) => toConsumed(topic, partition, m));
      const last = chunk[chunk.length - 1];
      if (!last) return;
      let handled: boolean;
      try {
        handled = await this.lane.run(async () => {
          if (this.state !== 'running' || this.failed || !this.assigned.has(key) || !isRunning() || isStale()) return false;
          await this.sub.onBatch(chunk);
          return true;
        });
      } catch (e) {
        this.fail(this.stoppedBy(e));
        return;
      }
      if (!handled) return;
      resolveOffset(String(last.offset));
      this.positions.set(key, last.offset + 1);
      try {
        await heartbeat();
      } catch (e) {
        if (isRebalanceError(e)) {
          // Still a member of the old generation: the closest kafkajs gets to a revoke hook.
          await this.lane.run(() => this.revokeAll('rebalance seen by heartbeat'));
        }
        throw e;
      }
    }
  }

  protected async stopFetching(wasRunning: boolean): Promise<void> {
    this.state = 'stopping';
    if (!wasRunning) return;
    try {
      // Stop fetching; the member stays in the group so the final commits still work.
      this.consumer.pause(this.sub.topics.map((topic) => ({ topic })));
    } catch {
      /* not running */
    }
    await this.lane.idle();
  }

  protected disconnect(): Promise<void> {
    // Leaves the group. Against the librdkafka mock kafkajs fails to parse the LeaveGroup
    // response; it logs that and disconnect() still resolves.
    return this.consumer.disconnect();
  }

  protected commitWithoutWaiting(offsets: TopicPartitionOffset[]): void {
    this.consumer
      .commitOffsets(toKafkajsOffsets(offsets))
      .catch((e: unknown) => this.log.warn({ ...this.logContext, err: errorMessage(e) }, 'kafka commit (not awaited) failed'));
  }

  protected async commitAndWait(offsets: TopicPartitionOffset[]): Promise<void> {
    try {
      await withTimeout(
        this.consumer.commitOffsets(toKafkajsOffsets(offsets)),
        COMMIT_TIMEOUT_MS,
        () => new BusError('BUS_TIMEOUT', `kafka commit for group ${this.sub.groupId} timed out`),
      );
    } catch (e) {
      throw toBusError('BUS_CONSUME_FAILED', `kafka commit for group ${this.sub.groupId} failed`, e);
    }
  }

  protected async measureLag(tps: TopicPartition[]): Promise<PartitionLag[]> {
    const admin = await this.getAdmin();
    const topics = [...new Set(tps.map((tp) => tp.topic))];
    const watermarks = new Map<string, { low: number; high: number }>();
    const committed = new Map<string, number>();
    const timeout = this.opts.healthTimeoutMs;
    await withTimeout(
      Promise.all([
        ...topics.map(async (topic) => {
          for (const p of await admin.fetchTopicOffsets(topic)) {
            watermarks.set(tpKey({ topic, partition: p.partition }), { low: Number(p.low), high: Number(p.high) });
          }
        }),
        (async () => {
          for (const t of await admin.fetchOffsets({ groupId: this.sub.groupId, topics })) {
            for (const p of t.partitions) committed.set(tpKey({ topic: t.topic, partition: p.partition }), Number(p.offset));
          }
        })(),
      ]),
      timeout,
      () => new BusError('BUS_TIMEOUT', `kafka lag lookup timed out after ${timeout} ms`),
    );
    const out: PartitionLag[] = [];
    for (const tp of tps) {
      const k = tpKey(tp);
      const wm = watermarks.get(k);
      if (!wm) continue;
      out.push({ ...tp, lag: this.lagFrom(this.positions.get(k) ?? committed.get(k), wm.low, wm.high) });
    }
    return out;
  }
}
