/**
 * Subscription on node-rdkafka (librdkafka); what it shares with kafkajs' is in
 * `../subscription-core.ts`.
 *
 * One `KafkaConsumer` per subscription, `enable.auto.commit=false`,
 * `enable.auto.offset.store=false`, a custom `rebalance_cb`. A single driver loop owns
 * the consumer: it alternates `consume(maxBatchSize)` (a libuv worker) with `onBatch`
 * and only fetches again once `onBatch` settled (backpressure). Rebalance events from
 * librdkafka are queued and handled by the same loop between two fetches, so `onBatch`,
 * `onAssign` and `onRevoke` never overlap.
 *
 * What node-rdkafka allows around revocation: with a custom `rebalance_cb`, librdkafka
 * pauses the assigned partitions and then waits — up to `max.poll.interval.ms` — until
 * the application calls `unassign()` (eager) / `incrementalUnassign()` (cooperative);
 * the JS callback only runs asynchronously (node-rdkafka dispatches it from the consume
 * worker thread through a uv_async handle), so it cannot block librdkafka, but
 * librdkafka does wait for the unassign call. We therefore await `onRevoke` first and
 * unassign afterwards: the group does not complete the rebalance until the handler has
 * flushed. Messages that were already fetched when the revoke arrived are still handed
 * to `onBatch` before `onRevoke`, because until `unassign()` the partitions are still
 * ours. An awaited commit is made with `commitSync`: it blocks the JS thread for one
 * OffsetCommit round trip — for the whole outage when the broker does not answer. The
 * asynchronous `commit()` reports through `offset_commit_cb`, which is only served inside
 * `consume()` — which the driver does not call while `onBatch` (and thus the caller's
 * commit) is pending, so awaiting it would deadlock; `commit(…, { wait: false })` uses it
 * without awaiting, and the aggregator waits only in the last flush of a stop.
 *
 * Rebalance callbacks are served only inside `consume()`, so while `onBatch` runs the
 * group waits for this member (bounded by `max.poll.interval.ms`, 5 min) — the standard
 * Kafka contract for slow handlers.
 *
 * On `close()` the driver stops, `onRevoke` runs for the current assignment while the
 * consumer is still a healthy group member (so its commits work), and only then the
 * consumer disconnects (LeaveGroup); the revoke callback librdkafka issues while closing
 * just unassigns (commits are no longer possible at that point: node-rdkafka rejects
 * them with ERR__STATE while closing).
 *
 * `close()` waits for the handler in progress: do not await it from inside `onBatch`,
 * `onAssign` or `onRevoke` (the bus itself closes the consumer after a handler failure
 * and reports through `onError`).
 *
 * Threads: every in-flight `consume()`, `connect()`, `disconnect()`, `getMetadata()` and
 * `queryWatermarkOffsets()` occupies a libuv threadpool thread (UV_THREADPOOL_SIZE,
 * default 4). Many consumers per process need a larger pool.
 */

import type {
  ConsumerGlobalConfig,
  ConsumerTopicConfig,
  KafkaConsumer,
  LibrdKafkaError,
  Message,
  MessageHeader,
} from 'node-rdkafka';
import Kafka from 'node-rdkafka';
import pLimit from 'p-limit';
import type { ConsumedMessage, SubscribeOptions, TopicPartition, TopicPartitionOffset } from '../bus.ts';
import { BusError } from '../bus.ts';
import type { ResolvedBusOptions } from '../options.ts';
import { rdkafkaSecurityConfig } from '../security.ts';
import { type PartitionLag, Subscription } from '../subscription-core.ts';
import { errorMessage, headerValueToString, keyToString, sortPartitions, toBusError, tpKey } from '../util.ts';
import { ERR_ASSIGN_PARTITIONS, ERR_REVOKE_PARTITIONS, ERR_TIMED_OUT, OFFSET_INVALID, rdCode } from './errors.ts';

/** How long one `consume()` call waits for a message before returning what it has. */
const CONSUME_TIMEOUT_MS = 200;

export const fromRdHeaders = (headers: MessageHeader[] | undefined): Record<string, string> => {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const h of headers) {
    for (const [k, v] of Object.entries(h)) out[k] = headerValueToString(v);
  }
  return out;
};

const toConsumed = (m: Message): ConsumedMessage => ({
  topic: m.topic,
  partition: m.partition,
  offset: m.offset,
  key: keyToString(m.key),
  value: m.value ?? Buffer.alloc(0),
  headers: fromRdHeaders(m.headers),
  timestamp: m.timestamp ?? 0,
});

type RebalanceEvent = { kind: 'assign' | 'revoke'; partitions: TopicPartition[] };

export class RdkafkaSubscription extends Subscription {
  private readonly consumer: KafkaConsumer;
  private readonly events: RebalanceEvent[] = [];
  private loop: Promise<void> = Promise.resolve();
  protected readonly disconnectTimeoutMs: number;

  constructor(opts: ResolvedBusOptions, sub: SubscribeOptions, onClosed: () => void) {
    super('rdkafka', opts, sub, onClosed);
    this.disconnectTimeoutMs = Math.max(10_000, opts.sessionTimeoutMs);
    const global: ConsumerGlobalConfig = {
      'bootstrap.servers': opts.brokers,
      'client.id': opts.clientId,
      ...rdkafkaSecurityConfig(opts.security),
      'group.id': sub.groupId,
      'enable.auto.commit': false,
      'enable.auto.offset.store': false,
      // Lets consume(n) return as soon as the partitions are drained instead of waiting
      // a full consume timeout per message.
      'enable.partition.eof': true,
      'allow.auto.create.topics': true,
      'session.timeout.ms': opts.sessionTimeoutMs,
      'heartbeat.interval.ms': opts.heartbeatIntervalMs,
      'socket.keepalive.enable': true,
      'log.connection.close': false,
      rebalance_cb: (err: LibrdKafkaError, assignment: TopicPartition[]) => this.onRebalance(err, assignment),
    };
    const topic: ConsumerTopicConfig = { 'auto.offset.reset': sub.fromBeginning ? 'earliest' : 'latest' };
    this.consumer = new Kafka.KafkaConsumer(global, topic);
    this.consumer.setDefaultConsumeTimeout(CONSUME_TIMEOUT_MS);
    this.consumer.on('event.error', (err) => {
      this.warnThrottled(`event:${err.code}`, { err: err.message, code: err.code }, 'kafka consumer error');
      if (err.isFatal)
        this.fail(new BusError('BUS_CONSUME_FAILED', `fatal kafka consumer error: ${err.message}`, { cause: err }));
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.consumer.connect({ timeout: this.opts.connectTimeoutMs, allTopics: false }, (err) => {
        if (err) {
          reject(
            new BusError('BUS_UNAVAILABLE', `kafka consumer could not connect to ${this.opts.brokers}: ${err.message}`, {
              cause: err,
            }),
          );
        } else resolve();
      });
    });
    try {
      this.consumer.subscribe(this.sub.topics);
    } catch (e) {
      throw toBusError('BUS_CONSUME_FAILED', `kafka subscribe to ${this.sub.topics.join(',')} failed`, e);
    }
    this.log.info({ ...this.logContext, topics: this.sub.topics }, 'kafka consumer subscribed');
    this.state = 'running';
    this.loop = this.drive();
  }

  private onRebalance(err: LibrdKafkaError, assignment: TopicPartition[]): void {
    const partitions = sortPartitions(assignment.map(({ topic, partition }) => ({ topic, partition })));
    const code = err?.code;
    if (code !== ERR_ASSIGN_PARTITIONS && code !== ERR_REVOKE_PARTITIONS) {
      this.log.warn({ ...this.logContext, err: err?.message, code }, 'kafka rebalance error');
      return;
    }
    const kind = code === ERR_ASSIGN_PARTITIONS ? 'assign' : 'revoke';
    if (this.state === 'closing' || this.state === 'closed') {
      // consumer.close() in progress: onRevoke already ran in close(); librdkafka waits
      // for the unassign call before it leaves the group.
      this.applyRebalance(kind, partitions);
      return;
    }
    this.events.push({ kind, partitions });
  }

  private cooperative(): boolean {
    try {
      return this.consumer.rebalanceProtocol() === 'COOPERATIVE';
    } catch {
      return false;
    }
  }

  private applyRebalance(kind: 'assign' | 'revoke', partitions: TopicPartition[]): void {
    try {
      if (kind === 'assign') {
        if (this.cooperative()) this.consumer.incrementalAssign(partitions);
        else this.consumer.assign(partitions);
        for (const tp of partitions) this.assigned.set(tpKey(tp), tp);
      } else {
        if (this.cooperative()) this.consumer.incrementalUnassign(partitions);
        else this.consumer.unassign();
        if (this.cooperative()) for (const tp of partitions) this.assigned.delete(tpKey(tp));
        else this.assigned.clear();
      }
    } catch (e) {
      this.log.warn({ ...this.logContext, err: errorMessage(e), kind }, 'kafka (un)assign failed');
    }
  }

  private async handleEvent(event: RebalanceEvent): Promise<void> {
    if (event.kind === 'assign') {
      this.applyRebalance('assign', event.partitions);
      await this.announceAssignment(event.partitions);
    } else {
      this.log.info({ ...this.logContext, partitions: event.partitions }, 'kafka partitions revoked');
      // The group cannot wait forever: a failed onRevoke is logged and the partitions handed back anyway.
      await this.runOnRevoke(event.partitions, 'onRevoke failed; unassigning anyway');
      this.applyRebalance('revoke', event.partitions);
    }
  }

  private consumeOnce(): Promise<Message[]> {
    return new Promise((resolve) => {
      this.consumer.consume(this.maxBatchSize, (err, messages) => {
        if (err) {
          if (err.code !== ERR_TIMED_OUT) {
            this.warnThrottled(`consume:${err.code}`, { err: err.message, code: err.code }, 'kafka consume error');
          }
          if (err.isFatal) {
            this.fail(new BusError('BUS_CONSUME_FAILED', `fatal kafka consume error: ${err.message}`, { cause: err }));
          }
          // Non-fatal errors (topic not yet available, broker down, ...) are retried by
          // librdkafka; back off a little so we do not spin.
          setTimeout(() => resolve([]), CONSUME_TIMEOUT_MS);
          return;
        }
        resolve(messages ?? []);
      });
    });
  }

  /** The single owner of the consumer while running. */
  private async drive(): Promise<void> {
    let failure: BusError | undefined;
    while (this.state === 'running') {
      const event = this.events.shift();
      try {
        if (event) {
          await this.handleEvent(event);
          continue;
        }
        const raw = await this.consumeOnce();
        if (this.state !== 'running') break; // closing: drop, nothing of it was committed
        if (raw.length === 0) continue;
        await this.sub.onBatch(raw.map(toConsumed));
      } catch (e) {
        failure = this.stoppedBy(e);
        break;
      }
    }
    if (failure) this.fail(failure);
  }

  protected async stopFetching(wasRunning: boolean): Promise<void> {
    if (wasRunning) this.state = 'stopping';
    await this.loop;
    if (!wasRunning) return;
    // Apply what the group already told us before the handler's last revoke.
    for (let event = this.events.shift(); event; event = this.events.shift()) {
      try {
        await this.handleEvent(event);
      } catch (e) {
        this.log.warn({ ...this.logContext, err: errorMessage(e) }, 'rebalance handling failed during close');
      }
    }
  }

  protected disconnect(): Promise<void> {
    // From here librdkafka's own revoke callback only unassigns, and commits are refused.
    this.state = 'closing';
    if (!this.consumer.isConnected()) return Promise.resolve();
    return new Promise<void>((resolve) => this.consumer.disconnect(() => resolve()));
  }

  protected commitWithoutWaiting(offsets: TopicPartitionOffset[]): void {
    // librdkafka's asynchronous commit: queued to the group coordinator, never blocking.
    // Its outcome is not reported (no offset_commit_cb, see above); a failed one is
    // superseded by the next commit of the same partition.
    try {
      this.consumer.commit(plainOffsets(offsets));
    } catch (e) {
      this.warnThrottled('commit', { err: errorMessage(e) }, 'kafka commit (not awaited) refused');
    }
  }

  protected async commitAndWait(offsets: TopicPartitionOffset[]): Promise<void> {
    try {
      this.consumer.commitSync(plainOffsets(offsets));
    } catch (e) {
      throw toBusError(
        rdCode(e) === ERR_TIMED_OUT ? 'BUS_TIMEOUT' : 'BUS_CONSUME_FAILED',
        `kafka commit for group ${this.sub.groupId} failed`,
        e,
      );
    }
  }

  protected async measureLag(tps: TopicPartition[]): Promise<PartitionLag[]> {
    const timeout = this.opts.healthTimeoutMs;
    let positions: TopicPartitionOffset[] = [];
    try {
      positions = this.consumer.position(tps);
    } catch {
      positions = [];
    }
    const pos = new Map(positions.map((p) => [tpKey(p), p.offset]));
    const unknown = tps.filter((tp) => (pos.get(tpKey(tp)) ?? OFFSET_INVALID) < 0);
    if (unknown.length > 0) {
      const committed = await new Promise<TopicPartitionOffset[]>((resolve) => {
        this.consumer.committed(unknown, timeout, (err, res) => resolve(err ? [] : res));
      });
      for (const c of committed) if (c.offset >= 0) pos.set(tpKey(c), c.offset);
    }
    // The high watermark librdkafka caches from every fetch response answers most
    // partitions without a request. The rest (nothing fetched yet, or nothing consumed
    // and the start left to the reset policy) are asked of the broker, a few at a time:
    // each query holds a libuv thread and, one after another, took ~0.5 s per partition
    // against the mock, 20 s for a 44-partition subscription.
    const limit = pLimit(4);
    const results = await Promise.all(
      tps.map((tp) => {
        const p = pos.get(tpKey(tp)) ?? OFFSET_INVALID;
        const cached = this.cachedHighWatermark(tp);
        if (cached !== undefined && (p >= 0 || cached === 0)) {
          return { ...tp, lag: Math.max(0, cached - Math.max(p, 0)) };
        }
        return limit(async () => {
          const wm = await new Promise<{ lowOffset: number; highOffset: number } | undefined>((resolve) => {
            this.consumer.queryWatermarkOffsets(tp.topic, tp.partition, timeout, (err, w) => resolve(err ? undefined : w));
          });
          if (!wm) return undefined;
          return { ...tp, lag: this.lagFrom(p, wm.lowOffset, wm.highOffset) };
        });
      }),
    );
    return results.filter((r): r is PartitionLag => r !== undefined);
  }

  private cachedHighWatermark(tp: TopicPartition): number | undefined {
    try {
      const { highOffset } = this.consumer.getWatermarkOffsets(tp.topic, tp.partition);
      return highOffset >= 0 ? highOffset : undefined;
    } catch {
      return undefined;
    }
  }
}

/** The offsets as node-rdkafka's commit takes them: topic, partition and offset only. */
const plainOffsets = (offsets: TopicPartitionOffset[]): TopicPartitionOffset[] =>
  offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset }));
