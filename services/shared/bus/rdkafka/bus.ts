/**
 * Bus on node-rdkafka (librdkafka): producer, topics, offsets and health; the consumer
 * side is `subscription.ts`.
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
 * Threads: every in-flight `connect()`, `disconnect()` and `getMetadata()` occupies a
 * libuv threadpool thread (UV_THREADPOOL_SIZE, default 4).
 */

import type {
  ConsumerGlobalConfig,
  DeliveryReport,
  KafkaConsumer,
  LibrdKafkaError,
  MessageHeader,
  Metadata,
  Producer,
  ProducerGlobalConfig,
  ProducerTopicConfig,
} from 'node-rdkafka';
import Kafka from 'node-rdkafka';
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
import { rdkafkaSecurityConfig } from '../security.ts';
import { OpenSubscriptions } from '../subscription-core.ts';
import { delay, metadataHealth, ProducedEnds, retryUntil, toBusError, withTimeout } from '../util.ts';
import { ERR_MSG_TIMED_OUT, ERR_QUEUE_FULL, rdCode } from './errors.ts';
import { RdkafkaSubscription } from './subscription.ts';

/** Delivery-report polling period while produces are in flight. */
const PRODUCER_POLL_MS = 5;

interface PendingBatch {
  enqueued: number;
  delivered: number;
  sealed: boolean;
  error?: BusError;
  settle(): void;
}

const toRdHeaders = (headers: Record<string, string> | undefined): MessageHeader[] | undefined => {
  if (!headers) return undefined;
  const entries = Object.entries(headers);
  if (entries.length === 0) return undefined;
  return entries.map(([k, v]) => ({ [k]: v }));
};

export class RdkafkaBus implements Bus {
  readonly client = 'rdkafka' as const;
  readonly brokers: string;
  private readonly opts: ResolvedBusOptions;
  private readonly log: BusLogger;
  private producer: Producer | undefined;
  private connecting: Promise<Producer> | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private readonly subscriptions = new OpenSubscriptions<RdkafkaSubscription>();
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

  /** Refused once `close()` was called (the subscriptions are the first thing it closes). */
  subscribe(options: SubscribeOptions): Promise<ConsumerHandle> {
    return this.subscriptions.start((onClosed) => new RdkafkaSubscription(this.opts, options, onClosed));
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

  health(): Promise<BusHealth> {
    return metadataHealth(this, this.opts.healthTimeoutMs, async () => {
      const producer = await this.getProducer();
      const metadata = await new Promise<Metadata>((resolve, reject) => {
        producer.getMetadata({ timeout: this.opts.healthTimeoutMs, allTopics: false }, (err, md) =>
          err ? reject(err) : resolve(md),
        );
      });
      return metadata.brokers.length;
    });
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    await this.subscriptions.closeAll();
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
