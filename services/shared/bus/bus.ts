/**
 * The message bus port. Every service talks to Kafka through this interface only;
 * `rdkafka/` (node-rdkafka / librdkafka) and `kafkajs/` (pure JS) are its two
 * implementations, chosen by configuration (`CXV_KAFKA_CLIENT`), each a bus (producer,
 * admin) and a subscription (consumer) built on `subscription-core.ts`. The embedded mode
 * starts librdkafka's mock cluster in-process (`embedded.ts`) and then uses the very
 * same implementations against its bootstrap address, so no code path exists only
 * in one mode.
 */

export type KafkaClientKind = 'rdkafka' | 'kafkajs';

/** One message to produce. `key` decides the partition (cxvitals keys by `service|region`). */
export interface OutgoingMessage {
  key: string;
  value: Buffer;
  headers?: Record<string, string>;
}

/** One message as consumed. Offsets are plain numbers: Kafka offsets stay far below 2^53. */
export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
  /** Broker/producer timestamp in epoch ms (not the event time). */
  timestamp: number;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** Kafka commit semantics: `offset` is the next offset to read (last processed + 1). */
export interface TopicPartitionOffset extends TopicPartition {
  offset: number;
}

export interface SubscribeOptions {
  groupId: string;
  topics: string[];
  /** Where a group with no committed offset starts. */
  fromBeginning: boolean;
  /**
   * Called with consecutive batches, never concurrently. The consumer fetches no more
   * until the returned promise settles, which is the backpressure path: a slow or
   * failing store stops consumption instead of growing memory. A rejected promise is
   * retried by the caller's own logic, not by the bus: the bus stops and reports.
   */
  onBatch: (messages: ConsumedMessage[]) => Promise<void>;
  /** Partitions handed to this member (after a rebalance or at start). */
  onAssign?: (partitions: TopicPartition[]) => Promise<void> | void;
  /** Partitions taken away; the handler should flush and commit what it owns before returning. */
  onRevoke?: (partitions: TopicPartition[]) => Promise<void> | void;
  /** Upper bound of messages handed to one onBatch call. */
  maxBatchSize?: number;
  /**
   * Called once when the subscription stops by itself: `onBatch` or `onAssign` rejected,
   * or the client hit a fatal error. By then the bus is already closing that consumer
   * (onRevoke runs for what it owns, the member leaves the group); whether to subscribe
   * again is the caller's decision. Without this callback the failure is only logged.
   */
  onError?: (error: BusError) => void;
}

export interface ConsumerHandle {
  /**
   * Commit explicit offsets (no auto-commit anywhere in cxvitals). By default it resolves
   * once the broker has stored them. `{ wait: false }` hands them to the client and
   * resolves at once, for callers to whom a lost commit only means more redelivery: an
   * acknowledged rdkafka commit blocks the JavaScript thread for a round trip to the
   * broker, and for the whole outage when the broker is gone.
   */
  commit(offsets: TopicPartitionOffset[], options?: { wait?: boolean }): Promise<void>;
  /** Partitions currently assigned to this member. */
  assignment(): TopicPartition[];
  /** Consumer lag per partition where known (high watermark − position). */
  lag(): Promise<Array<TopicPartition & { lag: number }>>;
  /** Stop fetching, leave the group, release resources. Idempotent. */
  close(): Promise<void>;
}

export interface BusHealth {
  ok: boolean;
  client: KafkaClientKind;
  brokers: string;
  detail: string;
}

export interface Bus {
  readonly client: KafkaClientKind;
  readonly brokers: string;
  /** Produce and resolve only once the broker acknowledged every message (acks=all). */
  produce(topic: string, messages: OutgoingMessage[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<ConsumerHandle>;
  /**
   * Makes sure the topics exist before anyone subscribes (a consumer subscribed to a
   * missing topic does not notice it being created for minutes). Uses the broker's
   * auto-creation through a metadata request; explicit provisioning (partitions,
   * retention) belongs to deployment.
   */
  ensureTopics(topics: string[]): Promise<void>;
  /** Cheap liveness check: metadata round trip with a short timeout. */
  health(): Promise<BusHealth>;
  /**
   * Per partition this process produced to, one past the largest offset the broker
   * acknowledged to it: where the log ended as this process last saw it (no request).
   */
  producedEnds(): TopicPartitionOffset[];
  /**
   * The offsets `groupId` has committed on these partitions (-1 where it has none), in
   * one request, without joining the group.
   */
  committedOffsets(groupId: string, partitions: TopicPartition[]): Promise<TopicPartitionOffset[]>;
  /** Flush pending produces and disconnect every client this bus created. Idempotent. */
  close(): Promise<void>;
}

export class BusError extends Error {
  constructor(
    readonly code: 'BUS_UNAVAILABLE' | 'BUS_PRODUCE_FAILED' | 'BUS_TIMEOUT' | 'BUS_CONSUME_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BusError';
  }
}

/**
 * About what one message takes in a broker's log: key, value and headers, plus a rough
 * per-record overhead (lengths, timestamp delta, attributes). Ingest's backlog estimate
 * and the aggregator's checkpoint trigger count with the same measure, so the limit of
 * one and the trigger of the other compare.
 */
export const RECORD_OVERHEAD_BYTES = 24;
export function recordBytes(key: string | null, value: Buffer, headers: Record<string, string> | undefined): number {
  let bytes = value.length + (key?.length ?? 0) + RECORD_OVERHEAD_BYTES;
  if (headers) for (const k in headers) bytes += k.length + (headers[k]?.length ?? 0);
  return bytes;
}

export const topicForSource = (source: string): string => `cx.${source}.v1`;
/**
 * History replay (`?backfill=true`, the replay CLI) goes to its own topic, so the
 * aggregator can run a separate event-time clock that follows the file instead of
 * judging old events late against the live watermark. Same Avro schema as the live topic.
 */
export const backfillTopicForSource = (source: string): string => `cx.${source}.backfill.v1`;
export const DLQ_TOPIC = 'cx.dlq.v1';
export const partitionKey = (service: string, region: string): string => `${service}|${region}`;
