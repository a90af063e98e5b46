/**
 * Bus implementation on node-rdkafka (librdkafka).
 *
 * Producer: one `Producer` per bus, connected lazily on first use, with delivery reports
 * (`dr_cb`), `acks=-1`, `enable.idempotence` (default on) and the Java-compatible
 * `murmur2_random` partitioner, so a key lands on the same partition as with kafkajs'
 * DefaultPartitioner and with the Java client (librdkafka's own default,
 * `consistent_random`, is CRC32 and disagrees). `produce()` enqueues the whole batch
 * without awaiting individual messages and resolves when the last delivery report of
 * that batch arrived; the reports are served by polling the producer every few ms while
 * anything is in flight.
 *
 * Consumer: one `KafkaConsumer` per subscription, `enable.auto.commit=false`,
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
  DeliveryReport,
  KafkaConsumer,
  LibrdKafkaError,
  Message,
  MessageHeader,
  Metadata,
  Producer,
  ProducerGlobalConfig,
  ProducerTopicConfig,
} from 'node-rdkafka';
import Kafka from 'node-rdkafka';
import pLimit from 'p-limit';
import type {
  Bus,
  BusHealth,
  ConsumedMessage,
  ConsumerHandle,
  OutgoingMessage,
  SubscribeOptions,
  TopicPartition,
  TopicPartitionOffset,
} from './bus.ts';
import { BusError } from './bus.ts';
import type { BusLogger, BusOptions, ResolvedBusOptions } from './options.ts';
import { DEFAULT_MAX_BATCH_SIZE, resolveBusOptions } from './options.ts';
import { rdkafkaSecurityConfig } from './security.ts';
import {
  delay,
  errorMessage,
  headerValueToString,
  keyToString,
  ProducedEnds,
  retryUntil,
  sortPartitions,
  toBusError,
  tpKey,
  withTimeout,
} from './util.ts';

// librdkafka error codes used below (rdkafka.h).
const ERR_MSG_TIMED_OUT = -192;
const ERR_QUEUE_FULL = -184;
const ERR_TIMED_OUT = -185;
const ERR_ASSIGN_PARTITIONS = -175;
const ERR_REVOKE_PARTITIONS = -174;
/** librdkafka's "no offset" sentinel (RD_KAFKA_OFFSET_INVALID). */
const OFFSET_INVALID = -1001;

/** How long one `consume()` call waits for a message before returning what it has. */
const CONSUME_TIMEOUT_MS = 200;
/** Delivery-report polling period while produces are in flight. */
const PRODUCER_POLL_MS = 5;

interface PendingBatch {
  enqueued: number;
  delivered: number;
  sealed: boolean;
  error?: BusError;
  settle(): void;
}

const isLibrdKafkaError = (e: unknown): e is LibrdKafkaError =>
  typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'number';

const rdCode = (e: unknown): number | undefined => (isLibrdKafkaError(e) ? e.code : undefined);

const toRdHeaders = (headers: Record<string, string> | undefined): MessageHeader[] | undefined => {
  if (!headers) return undefined;
  const entries = Object.entries(headers);
  if (entries.length === 0) return undefined;
  return entries.map(([k, v]) => ({ [k]: v }));
};

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

export class RdkafkaBus implements Bus {
  readonly client = 'rdkafka' as const;
  readonly brokers: string;
  private readonly opts: ResolvedBusOptions;
  private readonly log: BusLogger;
  private producer: Producer | undefined;
  private connecting: Promise<Producer> | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private readonly consumers = new Set<RdkafkaSubscription>();
  private closing: Promise<void> | undefined;
  private readonly ends = new ProducedEnds();
  /** Group-less readers of committed offsets, one per group asked about. */
  private readonly offsetReaders = new Map<string, Promise<KafkaConsumer>>();

  constructor(options: Omit<BusOptions, 'kind'>) {
    this.opts = resolveBusOptions({ ...options, kind: 'rdkafka' });
    this.brokers = this.opts.brokers;
    this.log = this.opts.log;
  }

  // ---------------------------------------------------------------- producer

  private producerConfig(): { global: ProducerGlobalConfig; topic: ProducerTopicConfig } {
    return {
      global: {
        'bootstrap.servers': this.brokers,
        'client.id': this.opts.clientId,
        ...rdkafkaSecurityConfig(this.opts.security),
        dr_cb: true,
        'enable.idempotence': this.opts.idempotent,
        'socket.keepalive.enable': true,
        'log.connection.close': false,
        'linger.ms': 5,
      },
      topic: {
        'request.required.acks': -1,
        'message.timeout.ms': this.opts.produceTimeoutMs,
        partitioner: 'murmur2_random',
      },
    };
  }

  private getProducer(): Promise<Producer> {
    if (this.closing) return Promise.reject(new BusError('BUS_UNAVAILABLE', 'bus is closed'));
    if (this.producer) return Promise.resolve(this.producer);
    this.connecting ??= new Promise<Producer>((resolve, reject) => {
      const { global, topic } = this.producerConfig();
      const producer = new Kafka.Producer(global, topic);
      producer.on('event.error', (err) => {
        this.log.warn({ client: 'rdkafka', err: err.message, code: err.code }, 'kafka producer error');
      });
      producer.on('delivery-report', (err, report) => this.onDeliveryReport(err, report));
      producer.connect({ timeout: this.opts.connectTimeoutMs, allTopics: false }, (err) => {
        if (err) {
          this.connecting = undefined;
          reject(
            new BusError('BUS_UNAVAILABLE', `kafka producer could not connect to ${this.brokers}: ${err.message}`, {
              cause: err,
            }),
          );
          return;
        }
        this.producer = producer;
        this.connecting = undefined;
        this.log.info({ client: 'rdkafka', brokers: this.brokers }, 'kafka producer connected');
        resolve(producer);
      });
    });
    return this.connecting;
  }

  private onDeliveryReport(err: LibrdKafkaError | undefined | null, report: DeliveryReport): void {
    this.inFlight--;
    if (this.inFlight <= 0) this.stopPolling();
    if (!err && report.offset >= 0) this.ends.note(report.topic, report.partition, report.offset + 1);
    const batch = report.opaque as PendingBatch | undefined;
    if (!batch) return;
    batch.delivered++;
    if (err && !batch.error) {
      // node-rdkafka hands delivery errors over as plain Errors carrying only librdkafka's
      // message ("Local: Message timed out"), so the code is usually -1: match the text too.
      const timedOut = err.code === ERR_MSG_TIMED_OUT || /timed out/i.test(err.message);
      batch.error = timedOut
        ? new BusError('BUS_TIMEOUT', `kafka delivery timed out after ${this.opts.produceTimeoutMs} ms: ${err.message}`, {
            cause: err,
          })
        : new BusError('BUS_PRODUCE_FAILED', `kafka delivery failed: ${err.message}`, { cause: err });
    }
    batch.settle();
  }

  private startPolling(): void {
    if (this.pollTimer) return;
    this.pollTimer = setInterval(() => {
      try {
        this.producer?.poll();
      } catch {
        /* disconnected; the deadline timer reports */
      }
    }, PRODUCER_POLL_MS);
  }

  private stopPolling(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }

  async produce(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const producer = await this.getProducer();
    let resolveBatch!: () => void;
    let rejectBatch!: (e: BusError) => void;
    const done = new Promise<void>((resolve, reject) => {
      resolveBatch = resolve;
      rejectBatch = reject;
    });
    const batch: PendingBatch = {
      enqueued: 0,
      delivered: 0,
      sealed: false,
      settle() {
        if (!this.sealed || this.delivered < this.enqueued) return;
        if (this.error) rejectBatch(this.error);
        else resolveBatch();
      },
    };
    this.startPolling();
    for (const m of messages) {
      let attempts = 0;
      for (;;) {
        try {
          producer.produce(topic, null, m.value, m.key, Date.now(), batch, toRdHeaders(m.headers));
          batch.enqueued++;
          this.inFlight++;
          break;
        } catch (e) {
          // Local queue full: let delivery reports drain it, then retry the same message.
          if (rdCode(e) === ERR_QUEUE_FULL && attempts++ < 10_000 && !this.closing) {
            producer.poll();
            await delay(2);
            continue;
          }
          batch.error = toBusError('BUS_PRODUCE_FAILED', `kafka produce to ${topic} failed`, e);
          break;
        }
      }
      if (batch.error) break;
    }
    batch.sealed = true;
    batch.settle();
    // librdkafka enforces message.timeout.ms only when a broker thread scans its queues;
    // against a dead broker the timed-out delivery report was observed up to ~10 s late
    // (the thread sleeps in reconnect backoff). So the deadline is kept here as well: the
    // batch is rejected at produceTimeoutMs + 1 s at the latest; reports arriving after
    // that are ignored (the caller retries, i.e. at-least-once).
    await withTimeout(
      done,
      this.opts.produceTimeoutMs + 1_000,
      () => new BusError('BUS_TIMEOUT', `kafka produce to ${topic} not acknowledged within ${this.opts.produceTimeoutMs} ms`),
    );
  }

  // ---------------------------------------------------------------- consumer

  async subscribe(options: SubscribeOptions): Promise<ConsumerHandle> {
    if (this.closing) throw new BusError('BUS_UNAVAILABLE', 'bus is closed');
    const sub = new RdkafkaSubscription(this.opts, options, () => this.consumers.delete(sub));
    this.consumers.add(sub);
    try {
      await sub.start();
    } catch (e) {
      this.consumers.delete(sub);
      await sub.close().catch(() => {});
      throw e;
    }
    return sub;
  }

  // ---------------------------------------------------------------- topics

  async ensureTopics(topics: string[]): Promise<void> {
    const producer = await this.getProducer();
    for (const topic of topics) {
      await retryUntil(`topic ${topic} to exist`, this.opts.connectTimeoutMs, async () => {
        const metadata = await new Promise<Metadata>((resolve, reject) => {
          producer.getMetadata({ topic, timeout: this.opts.healthTimeoutMs }, (err, md) => (err ? reject(err) : resolve(md)));
        });
        const found = metadata.topics.find((t) => t.name === topic);
        return found !== undefined && found.partitions.length > 0;
      });
    }
  }

  // ---------------------------------------------------------------- offsets

  producedEnds(): TopicPartitionOffset[] {
    return this.ends.list();
  }

  async committedOffsets(groupId: string, partitions: TopicPartition[]): Promise<TopicPartitionOffset[]> {
    if (partitions.length === 0) return [];
    const reader = await this.offsetReader(groupId);
    const timeout = this.opts.healthTimeoutMs;
    const committed = await withTimeout(
      new Promise<TopicPartitionOffset[]>((resolve, reject) => {
        reader.committed(partitions, timeout, (err, res) =>
          err ? reject(toBusError('BUS_UNAVAILABLE', `committed offsets of group ${groupId}`, err)) : resolve(res),
        );
      }),
      timeout + 1_000,
      () => new BusError('BUS_TIMEOUT', `no committed offsets of group ${groupId} within ${timeout} ms`),
    );
    return committed.map((c) => ({ topic: c.topic, partition: c.partition, offset: c.offset >= 0 ? c.offset : -1 }));
  }

  /** A consumer with the group's id that never subscribes: it reads the group's offsets without being a member. */
  private offsetReader(groupId: string): Promise<KafkaConsumer> {
    if (this.closing) return Promise.reject(new BusError('BUS_UNAVAILABLE', 'bus is closed'));
    let reader = this.offsetReaders.get(groupId);
    if (!reader) {
      reader = new Promise<KafkaConsumer>((resolve, reject) => {
        const consumer = new Kafka.KafkaConsumer(
          {
            'bootstrap.servers': this.brokers,
            'client.id': `${this.opts.clientId}-offsets`,
            ...rdkafkaSecurityConfig(this.opts.security),
            'group.id': groupId,
            'enable.auto.commit': false,
            'log.connection.close': false,
          } as ConsumerGlobalConfig,
          {},
        );
        consumer.on('event.error', (err) => this.log.debug?.({ client: 'rdkafka', err: err.message }, 'offset reader error'));
        consumer.connect({ timeout: this.opts.connectTimeoutMs }, (err) => {
          if (err) reject(toBusError('BUS_UNAVAILABLE', `offset reader could not connect to ${this.brokers}`, err));
          else resolve(consumer);
        });
      });
      reader.catch(() => this.offsetReaders.delete(groupId));
      this.offsetReaders.set(groupId, reader);
    }
    return reader;
  }

  // ---------------------------------------------------------------- health / close

  async health(): Promise<BusHealth> {
    const base = { client: this.client, brokers: this.brokers } as const;
    try {
      const metadata = await withTimeout(
        this.getProducer().then(
          (p) =>
            new Promise<Metadata>((resolve, reject) => {
              p.getMetadata({ timeout: this.opts.healthTimeoutMs, allTopics: false }, (err, md) =>
                err ? reject(err) : resolve(md),
              );
            }),
        ),
        this.opts.healthTimeoutMs,
        () => new BusError('BUS_TIMEOUT', `no metadata within ${this.opts.healthTimeoutMs} ms`),
      );
      return { ...base, ok: true, detail: `${metadata.brokers.length} broker(s) reachable` };
    } catch (e) {
      return { ...base, ok: false, detail: errorMessage(e) };
    }
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    await Promise.allSettled([...this.consumers].map((c) => c.close()));
    await Promise.allSettled(
      [...this.offsetReaders.values()].map(async (r) => {
        const reader = await r;
        await new Promise<void>((resolve) => reader.disconnect(() => resolve()));
      }),
    );
    this.offsetReaders.clear();
    const producer = this.producer ?? (await this.connecting?.catch(() => undefined));
    this.producer = undefined;
    if (producer) {
      // Only messages whose produce() is still pending can be in flight; they are bounded
      // by message.timeout.ms, and so is this flush.
      if (this.inFlight > 0) {
        await new Promise<void>((resolve) => {
          try {
            producer.flush(this.opts.produceTimeoutMs, (err) => {
              if (err) {
                this.log.warn({ client: 'rdkafka', err: err.message, inFlight: this.inFlight }, 'kafka producer flush on close');
              }
              resolve();
            });
          } catch {
            resolve();
          }
        });
      }
      this.stopPolling();
      await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
    }
    this.stopPolling();
  }
}

type RebalanceEvent = { kind: 'assign' | 'revoke'; partitions: TopicPartition[] };

class RdkafkaSubscription implements ConsumerHandle {
  private readonly consumer: KafkaConsumer;
  private readonly log: BusLogger;
  private readonly maxBatchSize: number;
  private readonly events: RebalanceEvent[] = [];
  private readonly assigned = new Map<string, TopicPartition>();
  /** running → stopping (driver asked to exit) → closing (disconnecting) → closed */
  private state: 'idle' | 'running' | 'stopping' | 'closing' | 'closed' = 'idle';
  private loop: Promise<void> = Promise.resolve();
  private closed: Promise<void> | undefined;
  private readonly lastWarn = new Map<string, number>();
  private failed = false;

  constructor(
    private readonly opts: ResolvedBusOptions,
    private readonly sub: SubscribeOptions,
    private readonly onClosed: () => void,
  ) {
    this.log = opts.log;
    this.maxBatchSize = Math.max(1, sub.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE);
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
    this.log.info({ client: 'rdkafka', groupId: this.sub.groupId, topics: this.sub.topics }, 'kafka consumer subscribed');
    this.state = 'running';
    this.loop = this.drive();
  }

  private onRebalance(err: LibrdKafkaError, assignment: TopicPartition[]): void {
    const partitions = sortPartitions(assignment.map(({ topic, partition }) => ({ topic, partition })));
    const code = err?.code;
    if (code !== ERR_ASSIGN_PARTITIONS && code !== ERR_REVOKE_PARTITIONS) {
      this.log.warn({ client: 'rdkafka', err: err?.message, code }, 'kafka rebalance error');
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
      this.log.warn({ client: 'rdkafka', err: errorMessage(e), kind }, 'kafka (un)assign failed');
    }
  }

  private async handleEvent(event: RebalanceEvent): Promise<void> {
    const ctx = { client: 'rdkafka', groupId: this.sub.groupId, partitions: event.partitions };
    if (event.kind === 'assign') {
      this.applyRebalance('assign', event.partitions);
      this.log.info(ctx, 'kafka partitions assigned');
      await this.sub.onAssign?.(event.partitions);
    } else {
      this.log.info(ctx, 'kafka partitions revoked');
      try {
        await this.sub.onRevoke?.(event.partitions);
      } catch (e) {
        // The group cannot wait forever: log and hand the partitions back anyway.
        this.log.error({ ...ctx, err: errorMessage(e) }, 'onRevoke failed; unassigning anyway');
      }
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
        failure = toBusError('BUS_CONSUME_FAILED', `kafka consumer of group ${this.sub.groupId} stopped`, e);
        break;
      }
    }
    if (failure) this.fail(failure);
  }

  private fail(error: BusError): void {
    if (this.failed || this.state === 'closing' || this.state === 'closed') return;
    this.failed = true;
    this.log.error(
      { client: 'rdkafka', groupId: this.sub.groupId, err: error.message, cause: errorMessage(error.cause) },
      'kafka consumer stopped after a failure',
    );
    try {
      this.sub.onError?.(error);
    } catch {
      /* reporting must not throw */
    }
    void this.close();
  }

  private warnThrottled(key: string, obj: object, msg: string): void {
    const now = Date.now();
    const last = this.lastWarn.get(key) ?? 0;
    if (now - last < 30_000) return;
    this.lastWarn.set(key, now);
    this.log.warn({ client: 'rdkafka', groupId: this.sub.groupId, ...obj }, msg);
  }

  async commit(offsets: TopicPartitionOffset[], options: { wait?: boolean } = {}): Promise<void> {
    if (offsets.length === 0) return;
    if (this.state === 'closing' || this.state === 'closed' || this.state === 'idle') {
      throw new BusError('BUS_CONSUME_FAILED', 'kafka commit on a closed consumer');
    }
    const list = offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset }));
    if (options.wait === false) {
      // librdkafka's asynchronous commit: queued to the group coordinator, never blocking.
      // Its outcome is not reported (no offset_commit_cb, see above); a failed one is
      // superseded by the next commit of the same partition.
      try {
        this.consumer.commit(list);
      } catch (e) {
        this.warnThrottled('commit', { err: errorMessage(e) }, 'kafka commit (not awaited) refused');
      }
      return;
    }
    try {
      this.consumer.commitSync(list);
    } catch (e) {
      throw toBusError(
        rdCode(e) === ERR_TIMED_OUT ? 'BUS_TIMEOUT' : 'BUS_CONSUME_FAILED',
        `kafka commit for group ${this.sub.groupId} failed`,
        e,
      );
    }
  }

  assignment(): TopicPartition[] {
    return sortPartitions([...this.assigned.values()]);
  }

  async lag(): Promise<Array<TopicPartition & { lag: number }>> {
    const tps = this.assignment();
    if (tps.length === 0 || this.state !== 'running') return [];
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
          // Nothing consumed and nothing committed: the reset policy decides the start.
          const from = p >= 0 ? p : this.sub.fromBeginning ? wm.lowOffset : wm.highOffset;
          return { ...tp, lag: Math.max(0, wm.highOffset - from) };
        });
      }),
    );
    return results.filter((r): r is TopicPartition & { lag: number } => r !== undefined);
  }

  private cachedHighWatermark(tp: TopicPartition): number | undefined {
    try {
      const { highOffset } = this.consumer.getWatermarkOffsets(tp.topic, tp.partition);
      return highOffset >= 0 ? highOffset : undefined;
    } catch {
      return undefined;
    }
  }

  close(): Promise<void> {
    this.closed ??= this.doClose();
    return this.closed;
  }

  private async doClose(): Promise<void> {
    const wasRunning = this.state === 'running';
    if (this.state === 'running') this.state = 'stopping';
    await this.loop;
    if (wasRunning) {
      // Apply what the group already told us, then give the handler its last revoke
      // while commits are still possible.
      for (let event = this.events.shift(); event; event = this.events.shift()) {
        try {
          await this.handleEvent(event);
        } catch (e) {
          this.log.warn({ client: 'rdkafka', err: errorMessage(e) }, 'rebalance handling failed during close');
        }
      }
      const owned = this.assignment();
      if (owned.length > 0) {
        try {
          await this.sub.onRevoke?.(owned);
        } catch (e) {
          this.log.error({ client: 'rdkafka', err: errorMessage(e) }, 'onRevoke failed during close');
        }
      }
    }
    this.state = 'closing';
    this.assigned.clear();
    if (this.consumer.isConnected()) {
      await withTimeout(
        new Promise<void>((resolve) => this.consumer.disconnect(() => resolve())),
        Math.max(10_000, this.opts.sessionTimeoutMs),
        () => new BusError('BUS_TIMEOUT', 'kafka consumer disconnect timed out'),
      ).catch((e: unknown) => this.log.warn({ client: 'rdkafka', err: errorMessage(e) }, 'kafka consumer close'));
    }
    this.state = 'closed';
    this.onClosed();
    this.log.info({ client: 'rdkafka', groupId: this.sub.groupId }, 'kafka consumer closed');
  }
}
