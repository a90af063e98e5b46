/**
 * Bus on kafkajs (pure JavaScript): producer, admin (topics, offsets, health); the
 * consumer side is `subscription.ts`.
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
 */

import type { Admin, Kafka as KafkaClient, LogEntry, Message, Producer } from 'kafkajs';
import kafkajs from 'kafkajs';
import type {
  Bus,
  BusHealth,
  ConsumerHandle,
  OutgoingMessage,
  SubscribeOptions,
  TopicPartition,
  TopicPartitionOffset,
} from '../bus.ts';
import { BusError } from '../bus.ts';
import type { BusLogger, BusOptions, ResolvedBusOptions } from '../options.ts';
import { resolveBusOptions } from '../options.ts';
import { kafkajsSecurityConfig } from '../security.ts';
import { OpenSubscriptions } from '../subscription-core.ts';
import { errorMessage, metadataHealth, ProducedEnds, parseBrokers, retryUntil, toBusError, withTimeout } from '../util.ts';
import { KafkajsSubscription } from './subscription.ts';

const { Kafka, Partitioners, logLevel } = kafkajs;

/** Upper bound of estimated bytes per `send()` call. */
const SEND_CHUNK_BYTES = 1_000_000;

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
  private readonly subscriptions = new OpenSubscriptions<KafkajsSubscription>();
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

  /** Refused once `close()` was called (the subscriptions are the first thing it closes). */
  subscribe(options: SubscribeOptions): Promise<ConsumerHandle> {
    return this.subscriptions.start(
      (onClosed) => new KafkajsSubscription(this.kafka, this.opts, options, () => this.getAdmin(), onClosed),
    );
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

  health(): Promise<BusHealth> {
    return metadataHealth(
      this,
      this.opts.healthTimeoutMs,
      async () => (await (await this.getAdmin()).describeCluster()).brokers.length,
      async () => {
        // Start from a fresh admin client next time: kafkajs keeps retrying dead brokers.
        const admin = this.admin;
        this.admin = undefined;
        await admin?.disconnect().catch(() => {});
      },
    );
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    await this.subscriptions.closeAll();
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
