import { type Bus, type OutgoingMessage, recordBytes, type TopicPartition } from '../shared/bus/bus.ts';
import type { Logger } from '../shared/log.ts';
import type { Metrics } from '../shared/metrics.ts';
import { IngestCapacityError } from './capacity.ts';

/**
 * Refuses new events for a topic while the aggregator's group has too much of it not yet
 * committed, before the broker could drop what ingest acknowledged.
 *
 * A broker that keeps little (librdkafka's mock, the embedded broker: 5 MiB per
 * partition, the oldest dropped silently beyond that) loses acknowledged events once the
 * aggregator falls that far behind; so would a real Kafka past its topic retention. The
 * aggregator commits what it has written (every checkpoint: seconds, not a window), so
 * "not committed" covers both the consumer's lag and what a restarted aggregator would
 * have to read again.
 *
 * Every `intervalMs` the guard asks the broker for the group's committed offsets (one
 * request) and compares them with where this process last saw each partition end (its
 * own acknowledged offsets: no request). Bytes are estimated from the mean size of the
 * messages this process produced to that topic. Over `maxBytes` on any partition of a
 * topic, a body for that topic is answered 429 with Retry-After (nothing read, the sender
 * keeps it) until the aggregator has committed past the limit.
 */

export const BACKLOG_RETRY_AFTER_SEC = 1;

export interface BacklogGuardOptions {
  bus: Bus;
  /** The consumer group whose commits free the broker (the aggregator's). */
  groupId: string;
  /** Per partition; 0 turns the guard off. */
  maxBytes: number;
  metrics: Metrics;
  log: Logger;
  intervalMs?: number;
}

interface TopicBacklog {
  /** The partition with the most bytes not committed, and those bytes. */
  partition: number;
  bytes: number;
}

export class BusBacklogGuard {
  private readonly meanBytes = new Map<string, { bytes: number; messages: number }>();
  private readonly backlog = new Map<string, TopicBacklog>();
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> | undefined;
  private failures = 0;

  constructor(private readonly o: BacklogGuardOptions) {}

  get enabled(): boolean {
    return this.o.maxBytes > 0;
  }

  start(): void {
    if (!this.enabled || this.timer) return;
    this.timer = setInterval(() => {
      this.sampling ??= this.sample().finally(() => {
        this.sampling = undefined;
      });
    }, this.o.intervalMs ?? 1_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.sampling;
  }

  /** Throws IngestCapacityError (429) while `topic` is over the limit. Takes nothing. */
  check(topic: string): void {
    if (!this.enabled) return;
    const b = this.backlog.get(topic);
    if (!b || b.bytes <= this.o.maxBytes) return;
    this.o.metrics.ingestBacklogRefusals.inc({ topic });
    throw new IngestCapacityError(
      'BUS_BACKLOG',
      `The aggregator has not yet committed ${mib(b.bytes)} of ${topic} partition ${b.partition}, over the limit of ` +
        `${mib(this.o.maxBytes)} (CXV_INGEST_MAX_BUS_BACKLOG_BYTES) past which the broker could drop events before they are ` +
        'counted; nothing of this body was accepted. Resend it after Retry-After; if this lasts, the aggregator is too slow ' +
        'for this load (add aggregators, or use Kafka with a longer retention).',
      BACKLOG_RETRY_AFTER_SEC,
    );
  }

  /** After a produce was acknowledged: the mean message size per topic, for the byte estimate. */
  observe(topic: string, messages: readonly OutgoingMessage[]): void {
    if (!this.enabled) return;
    let bytes = 0;
    for (const m of messages) bytes += recordBytes(m.key, m.value, m.headers);
    const mean = this.meanBytes.get(topic) ?? { bytes: 0, messages: 0 };
    // Decays, so the estimate follows a change in what is sent without a window to keep.
    if (mean.messages > 100_000) {
      mean.bytes /= 2;
      mean.messages /= 2;
    }
    mean.bytes += bytes;
    mean.messages += messages.length;
    this.meanBytes.set(topic, mean);
  }

  /** One look at the broker: the group's commits against the ends this process saw. */
  async sample(): Promise<void> {
    const ends = this.o.bus.producedEnds();
    if (ends.length === 0) return;
    let committed: Map<string, number>;
    try {
      const answer = await this.o.bus.committedOffsets(
        this.o.groupId,
        ends.map(({ topic, partition }): TopicPartition => ({ topic, partition })),
      );
      committed = new Map(answer.map((c) => [`${c.topic}:${c.partition}`, c.offset]));
      this.failures = 0;
    } catch (err) {
      // The previous figures stay: a broker that does not answer this fails produces too (503).
      this.failures += 1;
      if (this.failures === 1 || this.failures % 60 === 0) {
        this.o.log.warn(
          { err, failures: this.failures },
          'ingest could not read the aggregator group offsets; the backlog guard keeps its last figures',
        );
      }
      return;
    }
    const worst = new Map<string, TopicBacklog>();
    for (const { topic, partition, offset: end } of ends) {
      const mean = this.meanBytes.get(topic);
      if (!mean || mean.messages === 0) continue;
      // No commit yet: everything since the start counts (the mock drops from its oldest).
      const from = Math.max(0, committed.get(`${topic}:${partition}`) ?? -1);
      const bytes = Math.max(0, end - from) * (mean.bytes / mean.messages);
      const current = worst.get(topic);
      if (!current || bytes > current.bytes) worst.set(topic, { partition, bytes });
    }
    for (const [topic, b] of worst) {
      const was = this.backlog.get(topic);
      this.backlog.set(topic, b);
      this.o.metrics.ingestBusBacklogBytes.set({ topic }, Math.round(b.bytes));
      const over = b.bytes > this.o.maxBytes;
      if (over !== (was !== undefined && was.bytes > this.o.maxBytes)) {
        this.o.log[over ? 'warn' : 'info'](
          { topic, partition: b.partition, backlogBytes: Math.round(b.bytes), maxBytes: this.o.maxBytes },
          over
            ? 'aggregator backlog over the limit: ingest answers 429 for this topic until it shrinks'
            : 'aggregator backlog back under the limit: ingest accepts this topic again',
        );
      }
    }
  }
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
