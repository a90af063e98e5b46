/**
 * Bus implementation on kafkajs (pure JavaScript).
 *
 * Producer: one kafkajs producer per bus, connected lazily, `acks: -1`, the Java-compatible
 * murmur2 `Partitioners.DefaultPartitioner` (set explicitly, which also silences kafkajs'
 * partitioner warning; the rdkafka bus uses librdkafka's `murmur2_random`, so both put a
 * key on the same partition). `idempotent: true` is tried first; kafkajs sends
 * InitProducerId to the *controller*, and when the cluster's advertised controller is not
 * one of its brokers (the librdkafka mock advertises id 0) the connect fails with
 * KafkaJSBrokerNotFound — the bus then logs a warning and falls back to a
 * non-idempotent producer. A produce batch is sent with as few `send()` calls as possible
 * (chunks of ~1 MB) under one deadline of `produceTimeoutMs`.
 *
 * Consumer: `autoCommit: false`, `eachBatch` with `eachBatchAutoResolve: false` and
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

import type {
  Admin,
  Consumer,
  EachBatchPayload,
  IHeaders,
  Kafka as KafkaClient,
  KafkaMessage,
  LogEntry,
  Message,
  Producer,
} from 'kafkajs';
import kafkajs from 'kafkajs';
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
import { kafkajsSecurityConfig } from './security.ts';
import {
  errorMessage,
  headerValueToString,
  keyToString,
  ProducedEnds,
  parseBrokers,
  retryUntil,
  SerialLane,
  sortPartitions,
  toBusError,
  tpKey,
  withTimeout,
} from './util.ts';

const { Kafka, Partitioners, logLevel } = kafkajs;

/** Upper bound of estimated bytes per `send()` call. */
const SEND_CHUNK_BYTES = 1_000_000;

const isRebalanceError = (e: unknown): boolean => {
  const type = (e as { type?: unknown } | null)?.type;
  return type === 'REBALANCE_IN_PROGRESS' || type === 'ILLEGAL_GENERATION' || type === 'NOT_COORDINATOR_FOR_GROUP';
};

/** Routes kafkajs' own logging into the bus logger (pino shape). */
const kafkajsLogCreator =
  (log: BusLogger) =>
  () =>
  ({ namespace, level, log: entry }: LogEntry): void => {
    const { message, timestamp: _ts, logger: _logger, ...extra } = entry as LogEntry['log'] & { logger?: unknown };
    const obj = { client: 'kafkajs', namespace, ...extra };
    const msg = `kafkajs: ${message}`;
    switch (level) {
      case logLevel.ERROR:
        // kafkajs logs every error *response* at ERROR from its Connection before the
        // caller handles it; rebalance-related ones are routine (the runner re-joins and
        // logs that), and the librdkafka mock's LeaveGroup answer does not parse.
        if (namespace === 'Connection' && message.startsWith('Response ')) {
          const error = String((extra as { error?: unknown }).error ?? '');
          if (/rebalanc|LeaveGroup|coordinator/i.test(`${message} ${error}`)) log.debug?.(obj, msg);
          else log.warn(obj, msg);
        } else log.error(obj, msg);
        break;
      case logLevel.WARN:
        log.warn(obj, msg);
        break;
      case logLevel.INFO:
        log.info(obj, msg);
        break;
      default:
        log.debug?.(obj, msg);
    }
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

const estimateBytes = (m: OutgoingMessage): number => {
  let n = 70 + Buffer.byteLength(m.key) + m.value.length;
  if (m.headers) for (const [k, v] of Object.entries(m.headers)) n += k.length + v.length + 8;
  return n;
};

export class KafkajsBus implements Bus {
  readonly client = 'kafkajs' as const;
  readonly brokers: string;
  private readonly opts: ResolvedBusOptions;
  private readonly log: BusLogger;
  private readonly kafka: KafkaClient;
  private producer: Producer | undefined;
  private connecting: Promise<Producer> | undefined;
  private admin: Admin | undefined;
  private readonly ends = new ProducedEnds();
  private adminConnecting: Promise<Admin> | undefined;
  private readonly consumers = new Set<KafkajsSubscription>();
  private closing: Promise<void> | undefined;

  constructor(options: Omit<BusOptions, 'kind'>) {
    this.opts = resolveBusOptions({ ...options, kind: 'kafkajs' });
    this.brokers = this.opts.brokers;
    this.log = this.opts.log;
    this.kafka = new Kafka({
      clientId: this.opts.clientId,
      brokers: parseBrokers(this.brokers),
      ...kafkajsSecurityConfig(this.opts.security),
      connectionTimeout: Math.min(this.opts.connectTimeoutMs, 3_000),
      requestTimeout: 30_000,
      retry: { initialRetryTime: 100, maxRetryTime: 5_000, retries: 8 },
      logLevel: logLevel.INFO,
      logCreator: kafkajsLogCreator(this.log),
    });
  }

  // ---------------------------------------------------------------- producer

  private async connectProducer(idempotent: boolean): Promise<Producer> {
    const producer = this.kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: true,
      idempotent,
      // kafkajs' idempotent producer wants unlimited retries (and warns otherwise); the
      // produce deadline still bounds every produce() call.
      ...(idempotent
        ? { maxInFlightRequests: 1, retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 5_000 } }
        : {}),
    });
    try {
      await withTimeout(
        producer.connect(),
        this.opts.connectTimeoutMs,
        () =>
          new BusError(
            'BUS_UNAVAILABLE',
            `kafka producer: no connection to ${this.brokers} within ${this.opts.connectTimeoutMs} ms`,
          ),
      );
      return producer;
    } catch (e) {
      await producer.disconnect().catch(() => {});
      throw e;
    }
  }

  private getProducer(): Promise<Producer> {
    if (this.closing) return Promise.reject(new BusError('BUS_UNAVAILABLE', 'bus is closed'));
    if (this.producer) return Promise.resolve(this.producer);
    this.connecting ??= (async () => {
      try {
        let producer: Producer;
        try {
          producer = await this.connectProducer(this.opts.idempotent);
        } catch (e) {
          const name = (e as { name?: unknown } | null)?.name;
          if (!this.opts.idempotent || name !== 'KafkaJSBrokerNotFound') throw e;
          this.log.warn(
            { client: 'kafkajs', err: errorMessage(e) },
            'kafka: idempotent producer unavailable (controller not among the brokers); using a non-idempotent producer',
          );
          producer = await this.connectProducer(false);
        }
        this.producer = producer;
        this.log.info({ client: 'kafkajs', brokers: this.brokers }, 'kafka producer connected');
        return producer;
      } catch (e) {
        throw toBusError('BUS_UNAVAILABLE', `kafka producer could not connect to ${this.brokers}`, e);
      } finally {
        this.connecting = undefined;
      }
    })();
    return this.connecting;
  }

  producedEnds(): TopicPartitionOffset[] {
    return this.ends.list();
  }

  async committedOffsets(groupId: string, partitions: TopicPartition[]): Promise<TopicPartitionOffset[]> {
    if (partitions.length === 0) return [];
    const admin = await this.getAdmin();
    const topics = [...new Set(partitions.map((p) => p.topic))];
    const wanted = new Set(partitions.map((p) => `${p.topic}:${p.partition}`));
    try {
      const answer = await withTimeout(
        admin.fetchOffsets({ groupId, topics }),
        this.opts.healthTimeoutMs,
        () => new BusError('BUS_TIMEOUT', `no committed offsets of group ${groupId} within ${this.opts.healthTimeoutMs} ms`),
      );
      return answer.flatMap(({ topic, partitions: found }) =>
        found
          .filter((p) => wanted.has(`${topic}:${p.partition}`))
          .map((p) => ({ topic, partition: p.partition, offset: Math.max(-1, Number(p.offset)) })),
      );
    } catch (e) {
      throw toBusError('BUS_UNAVAILABLE', `committed offsets of group ${groupId}`, e);
    }
  }

  async produce(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const deadline = Date.now() + this.opts.produceTimeoutMs;
    const timeoutError = () =>
      new BusError('BUS_TIMEOUT', `kafka produce to ${topic} not acknowledged within ${this.opts.produceTimeoutMs} ms`);
    const producer = await withTimeout(this.getProducer(), this.opts.produceTimeoutMs, timeoutError);
    let chunk: Message[] = [];
    let chunkBytes = 0;
    const flush = async (): Promise<void> => {
      if (chunk.length === 0) return;
      const payload = chunk;
      chunk = [];
      chunkBytes = 0;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw timeoutError();
      try {
        const acknowledged = await withTimeout(
          producer.send({ topic, acks: -1, timeout: this.opts.produceTimeoutMs, messages: payload }),
          remaining,
          timeoutError,
        );
        // Only the first offset per partition is reported: the end is known to be at least one past it.
        for (const r of acknowledged) this.ends.note(r.topicName, r.partition, Number(r.baseOffset ?? -1) + 1);
      } catch (e) {
        throw toBusError('BUS_PRODUCE_FAILED', `kafka produce to ${topic} failed`, e);
      }
    };
    for (const m of messages) {
      chunk.push({ key: m.key, value: m.value, ...(m.headers ? { headers: m.headers } : {}) });
      chunkBytes += estimateBytes(m);
      if (chunkBytes >= SEND_CHUNK_BYTES) await flush();
    }
    await flush();
  }

  // ---------------------------------------------------------------- admin (lag, health)

  /** Lazily connected admin client, shared by health() and lag(). */
  getAdmin(): Promise<Admin> {
    if (this.closing) return Promise.reject(new BusError('BUS_UNAVAILABLE', 'bus is closed'));
    if (this.admin) return Promise.resolve(this.admin);
    this.adminConnecting ??= (async () => {
      const admin = this.kafka.admin({ retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 } });
      try {
        await withTimeout(
          admin.connect(),
          this.opts.connectTimeoutMs,
          () => new BusError('BUS_UNAVAILABLE', `kafka admin: no connection to ${this.brokers}`),
        );
        this.admin = admin;
        return admin;
      } catch (e) {
        await admin.disconnect().catch(() => {});
        throw toBusError('BUS_UNAVAILABLE', `kafka admin could not connect to ${this.brokers}`, e);
      } finally {
        this.adminConnecting = undefined;
      }
    })();
    return this.adminConnecting;
  }

  // ---------------------------------------------------------------- consumer

  async subscribe(options: SubscribeOptions): Promise<ConsumerHandle> {
    if (this.closing) throw new BusError('BUS_UNAVAILABLE', 'bus is closed');
    const sub = new KafkajsSubscription(
      this.kafka,
      this.opts,
      options,
      () => this.getAdmin(),
      () => this.consumers.delete(sub),
    );
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
    const admin = await this.getAdmin();
    await retryUntil(`topics ${topics.join(', ')} to exist`, this.opts.connectTimeoutMs, async () => {
      // kafkajs asks with allowAutoTopicCreation (its default), which creates them on brokers that allow it.
      const { topics: found } = await admin.fetchTopicMetadata({ topics });
      return topics.every((t) => (found.find((f) => f.name === t)?.partitions.length ?? 0) > 0);
    });
  }

  // ---------------------------------------------------------------- health / close

  async health(): Promise<BusHealth> {
    const base = { client: this.client, brokers: this.brokers } as const;
    try {
      const cluster = await withTimeout(
        this.getAdmin().then((a) => a.describeCluster()),
        this.opts.healthTimeoutMs,
        () => new BusError('BUS_TIMEOUT', `no metadata within ${this.opts.healthTimeoutMs} ms`),
      );
      return { ...base, ok: true, detail: `${cluster.brokers.length} broker(s) reachable` };
    } catch (e) {
      // Start from a fresh admin client next time: kafkajs keeps retrying dead brokers.
      const admin = this.admin;
      this.admin = undefined;
      await admin?.disconnect().catch(() => {});
      return { ...base, ok: false, detail: errorMessage(e) };
    }
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    await Promise.allSettled([...this.consumers].map((c) => c.close()));
    const producer = this.producer ?? (await this.connecting?.catch(() => undefined));
    this.producer = undefined;
    await producer
      ?.disconnect()
      .catch((e: unknown) => this.log.warn({ client: 'kafkajs', err: errorMessage(e) }, 'producer disconnect'));
    const admin = this.admin ?? (await this.adminConnecting?.catch(() => undefined));
    this.admin = undefined;
    await admin?.disconnect().catch(() => {});
  }
}

class KafkajsSubscription implements ConsumerHandle {
  private readonly consumer: Consumer;
  private readonly log: BusLogger;
  private readonly lane = new SerialLane();
  private readonly maxBatchSize: number;
  private readonly assigned = new Map<string, TopicPartition>();
  /** Next offset to read per partition, as far as this member handed messages out. */
  private readonly positions = new Map<string, number>();
  private state: 'idle' | 'running' | 'stopping' | 'closed' = 'idle';
  private closed: Promise<void> | undefined;
  private failed = false;

  constructor(
    kafka: KafkaClient,
    private readonly opts: ResolvedBusOptions,
    private readonly sub: SubscribeOptions,
    private readonly getAdmin: () => Promise<Admin>,
    private readonly onClosed: () => void,
  ) {
    this.log = opts.log;
    this.maxBatchSize = Math.max(1, sub.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE);
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
      this.log.info({ client: 'kafkajs', groupId: sub.groupId }, 'kafka group rebalancing');
      void this.lane.run(() => this.revokeAll('rebalancing'));
    });
    this.consumer.on(CRASH, (e) => {
      const { error, restart } = e.payload;
      if (this.state !== 'running') return;
      if (restart) {
        this.log.warn(
          { client: 'kafkajs', groupId: sub.groupId, err: errorMessage(error) },
          'kafka consumer crashed; kafkajs restarts it',
        );
        void this.lane.run(() => this.revokeAll('consumer restart'));
      } else {
        this.fail(toBusError('BUS_CONSUME_FAILED', `kafka consumer of group ${sub.groupId} crashed`, error));
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
    this.log.info({ client: 'kafkajs', groupId: this.sub.groupId, topics: this.sub.topics }, 'kafka consumer subscribed');
    // run() resolves once the member joined its group (the mock delays a first join by 3 s).
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.eachBatch(payload),
    });
  }

  private onGroupJoin(memberAssignment: Record<string, number[]>): void {
    const next = sortPartitions(
      Object.entries(memberAssignment).flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition }))),
    );
    void this.lane.run(async () => {
      if (this.state !== 'running') return;
      await this.revokeAll('group joined');
      for (const tp of next) this.assigned.set(tpKey(tp), tp);
      this.log.info({ client: 'kafkajs', groupId: this.sub.groupId, partitions: next }, 'kafka partitions assigned');
      try {
        await this.sub.onAssign?.(next);
      } catch (e) {
        this.fail(toBusError('BUS_CONSUME_FAILED', `onAssign failed for group ${this.sub.groupId}`, e));
      }
    });
  }

  /** Runs on the lane. */
  private async revokeAll(reason: string): Promise<void> {
    const owned = this.assignment();
    if (owned.length === 0) return;
    this.assigned.clear();
    for (const tp of owned) this.positions.delete(tpKey(tp));
    this.log.info({ client: 'kafkajs', groupId: this.sub.groupId, partitions: owned, reason }, 'kafka partitions revoked');
    try {
      await this.sub.onRevoke?.(owned);
    } catch (e) {
      this.log.error({ client: 'kafkajs', groupId: this.sub.groupId, err: errorMessage(e) }, 'onRevoke failed');
    }
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
        this.fail(toBusError('BUS_CONSUME_FAILED', `kafka consumer of group ${this.sub.groupId} stopped`, e));
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

  private fail(error: BusError): void {
    if (this.failed || this.state !== 'running') return;
    this.failed = true;
    this.log.error(
      { client: 'kafkajs', groupId: this.sub.groupId, err: error.message, cause: errorMessage(error.cause) },
      'kafka consumer stopped after a failure',
    );
    try {
      this.sub.onError?.(error);
    } catch {
      /* reporting must not throw */
    }
    void this.close();
  }

  async commit(offsets: TopicPartitionOffset[], options: { wait?: boolean } = {}): Promise<void> {
    if (offsets.length === 0) return;
    if (this.state === 'closed' || this.state === 'idle') {
      throw new BusError('BUS_CONSUME_FAILED', 'kafka commit on a closed consumer');
    }
    if (options.wait === false) {
      this.consumer
        .commitOffsets(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset: String(offset) })))
        .catch((e: unknown) =>
          this.log.warn(
            { client: 'kafkajs', groupId: this.sub.groupId, err: errorMessage(e) },
            'kafka commit (not awaited) failed',
          ),
        );
      return;
    }
    try {
      await withTimeout(
        this.consumer.commitOffsets(
          offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset: String(offset) })),
        ),
        30_000,
        () => new BusError('BUS_TIMEOUT', `kafka commit for group ${this.sub.groupId} timed out`),
      );
    } catch (e) {
      throw toBusError('BUS_CONSUME_FAILED', `kafka commit for group ${this.sub.groupId} failed`, e);
    }
  }

  assignment(): TopicPartition[] {
    return sortPartitions([...this.assigned.values()]);
  }

  async lag(): Promise<Array<TopicPartition & { lag: number }>> {
    const tps = this.assignment();
    if (tps.length === 0 || this.state !== 'running') return [];
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
    const out: Array<TopicPartition & { lag: number }> = [];
    for (const tp of tps) {
      const k = tpKey(tp);
      const wm = watermarks.get(k);
      if (!wm) continue;
      const c = committed.get(k) ?? -1;
      const p = this.positions.get(k) ?? (c >= 0 ? c : this.sub.fromBeginning ? wm.low : wm.high);
      out.push({ ...tp, lag: Math.max(0, wm.high - p) });
    }
    return out;
  }

  close(): Promise<void> {
    this.closed ??= this.doClose();
    return this.closed;
  }

  private async doClose(): Promise<void> {
    const wasRunning = this.state === 'running';
    this.state = 'stopping';
    if (wasRunning) {
      try {
        // Stop fetching; the member stays in the group so the final commits still work.
        this.consumer.pause(this.sub.topics.map((topic) => ({ topic })));
      } catch {
        /* not running */
      }
      await this.lane.idle();
      const owned = this.assignment();
      this.assigned.clear();
      if (owned.length > 0) {
        try {
          await this.sub.onRevoke?.(owned);
        } catch (e) {
          this.log.error({ client: 'kafkajs', groupId: this.sub.groupId, err: errorMessage(e) }, 'onRevoke failed during close');
        }
      }
    }
    // Leaves the group. Against the librdkafka mock kafkajs fails to parse the LeaveGroup
    // response; it logs that and disconnect() still resolves.
    await withTimeout(
      this.consumer.disconnect(),
      15_000,
      () => new BusError('BUS_TIMEOUT', 'kafka consumer disconnect timed out'),
    ).catch((e: unknown) =>
      this.log.warn({ client: 'kafkajs', groupId: this.sub.groupId, err: errorMessage(e) }, 'kafka consumer disconnect'),
    );
    this.state = 'closed';
    this.onClosed();
    this.log.info({ client: 'kafkajs', groupId: this.sub.groupId }, 'kafka consumer closed');
  }
}
