/**
 * What a subscription does the same way whichever client runs it: the core both
 * `rdkafka/subscription.ts` and `kafkajs/subscription.ts` extend. A client brings how it
 * fetches, (un)assigns, commits, measures lag and disconnects; the core owns the rest of
 * the `ConsumerHandle` contract:
 *
 * - the assignment this member owns (`assignment()` is sorted, whatever order the group
 *   handed partitions out in);
 * - one failure report: the first failure logs, calls `onError` once and closes the
 *   subscription (the caller decides whether to subscribe again);
 * - the handler's revoke, awaited, whose failure is logged and never blocks the group;
 * - commits: refused on a consumer that is not (or no longer) a group member, empty lists
 *   are no-ops, `{ wait: false }` hands the offsets to the client without awaiting them;
 * - the stop order of `close()`: stop fetching and wait for the handler in progress, run
 *   `onRevoke` for what is still owned while the member can still commit (`assignment()`
 *   still lists those partitions during it; they are dropped after it), then leave the
 *   group within a deadline. `close()` is idempotent and waits for the handler in
 *   progress, so it must not be awaited from inside `onBatch`, `onAssign` or `onRevoke`;
 * - where a partition nobody read yet starts for its lag: at the position if known, else
 *   where the reset policy (`fromBeginning`) puts it.
 */

import type { ConsumerHandle, KafkaClientKind, SubscribeOptions, TopicPartition, TopicPartitionOffset } from './bus.ts';
import { BusError } from './bus.ts';
import type { BusLogger, ResolvedBusOptions } from './options.ts';
import { DEFAULT_MAX_BATCH_SIZE } from './options.ts';
import { errorMessage, sortPartitions, toBusError, withTimeout } from './util.ts';

/**
 * idle → running → stopping (no more fetching; the last revoke runs) → closing (leaving
 * the group; only clients that must refuse commits by then enter it) → closed.
 */
export type SubscriptionState = 'idle' | 'running' | 'stopping' | 'closing' | 'closed';

export type PartitionLag = TopicPartition & { lag: number };

/** A warning with the same key is logged at most once per this period. */
const WARN_EVERY_MS = 30_000;

export abstract class Subscription implements ConsumerHandle {
  protected readonly log: BusLogger;
  protected readonly maxBatchSize: number;
  /** Partitions this member owns, by `tpKey`. */
  protected readonly assigned = new Map<string, TopicPartition>();
  protected state: SubscriptionState = 'idle';
  /** Set by the first `fail`: no batch is handed out after it. */
  protected failed = false;
  /** Fields every log line of this subscription carries. */
  protected readonly logContext: { client: KafkaClientKind; groupId: string };
  private closed: Promise<void> | undefined;
  private readonly lastWarn = new Map<string, number>();

  protected constructor(
    client: KafkaClientKind,
    protected readonly opts: ResolvedBusOptions,
    protected readonly sub: SubscribeOptions,
    private readonly onClosed: () => void,
  ) {
    this.log = opts.log;
    this.maxBatchSize = Math.max(1, sub.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE);
    this.logContext = { client, groupId: sub.groupId };
  }

  /** Connects, subscribes and starts fetching; rejects with a BusError naming the broker or topics. */
  abstract start(): Promise<void>;

  /**
   * First step of `close()`: no further fetch, and the handler in progress (and anything
   * queued behind it) settled. `wasRunning` is false when `start()` never completed.
   */
  protected abstract stopFetching(wasRunning: boolean): Promise<void>;

  /** Last step of `close()`: leave the group and release the client (bounded by `disconnectTimeoutMs`). */
  protected abstract disconnect(): Promise<void>;
  protected abstract readonly disconnectTimeoutMs: number;

  /** `commit(…, { wait: false })`: hand the offsets over; a failure is only logged. */
  protected abstract commitWithoutWaiting(offsets: TopicPartitionOffset[]): void;
  /** `commit(…)`: resolve once the broker stored the offsets, reject with a BusError otherwise. */
  protected abstract commitAndWait(offsets: TopicPartitionOffset[]): Promise<void>;

  /** Lag of `partitions` (all assigned, the subscription running); partitions without an answer are left out. */
  protected abstract measureLag(partitions: TopicPartition[]): Promise<PartitionLag[]>;

  /** Whether a failure now is reported through `onError` (the default: until the member leaves the group). */
  protected reportsFailure(): boolean {
    return this.state !== 'closing' && this.state !== 'closed';
  }

  async commit(offsets: TopicPartitionOffset[], options: { wait?: boolean } = {}): Promise<void> {
    if (offsets.length === 0) return;
    if (this.state === 'idle' || this.state === 'closing' || this.state === 'closed') {
      throw new BusError('BUS_CONSUME_FAILED', 'kafka commit on a closed consumer');
    }
    if (options.wait === false) this.commitWithoutWaiting(offsets);
    else await this.commitAndWait(offsets);
  }

  assignment(): TopicPartition[] {
    return sortPartitions([...this.assigned.values()]);
  }

  async lag(): Promise<PartitionLag[]> {
    const partitions = this.assignment();
    if (partitions.length === 0 || this.state !== 'running') return [];
    return this.measureLag(partitions);
  }

  /**
   * The lag of one partition from its watermarks and the next offset this member reads
   * (`position`, -1 or undefined when neither a read nor a commit says): with nothing
   * consumed and nothing committed, the reset policy decides where reading starts.
   */
  protected lagFrom(position: number | undefined, low: number, high: number): number {
    const from = position !== undefined && position >= 0 ? position : this.sub.fromBeginning ? low : high;
    return Math.max(0, high - from);
  }

  close(): Promise<void> {
    this.closed ??= this.doClose();
    return this.closed;
  }

  private async doClose(): Promise<void> {
    const wasRunning = this.state === 'running';
    await this.stopFetching(wasRunning);
    if (wasRunning) {
      // The handler's last revoke, while this member can still commit.
      const owned = this.assignment();
      if (owned.length > 0) await this.runOnRevoke(owned, 'onRevoke failed during close');
    }
    this.assigned.clear();
    await withTimeout(
      this.disconnect(),
      this.disconnectTimeoutMs,
      () => new BusError('BUS_TIMEOUT', 'kafka consumer disconnect timed out'),
    ).catch((e: unknown) => this.log.warn({ ...this.logContext, err: errorMessage(e) }, 'kafka consumer disconnect'));
    this.state = 'closed';
    this.onClosed();
    this.log.info(this.logContext, 'kafka consumer closed');
  }

  /** Logs the new assignment and awaits the handler's `onAssign` (which may reject). */
  protected async announceAssignment(partitions: TopicPartition[]): Promise<void> {
    this.log.info({ ...this.logContext, partitions }, 'kafka partitions assigned');
    await this.sub.onAssign?.(partitions);
  }

  /** Awaits the handler's `onRevoke`; a failure is logged as `failureMessage`: the group cannot wait forever. */
  protected async runOnRevoke(partitions: TopicPartition[], failureMessage: string): Promise<void> {
    try {
      await this.sub.onRevoke?.(partitions);
    } catch (e) {
      this.log.error({ ...this.logContext, err: errorMessage(e) }, failureMessage);
    }
  }

  /** The error a subscription stops with when a handler or the client threw `cause`. */
  protected stoppedBy(cause: unknown, what = `kafka consumer of group ${this.sub.groupId} stopped`): BusError {
    return toBusError('BUS_CONSUME_FAILED', what, cause);
  }

  /** Reports the first failure once (log, `onError`) and closes; later ones are ignored. */
  protected fail(error: BusError): void {
    if (this.failed || !this.reportsFailure()) return;
    this.failed = true;
    this.log.error(
      { ...this.logContext, err: error.message, cause: errorMessage(error.cause) },
      'kafka consumer stopped after a failure',
    );
    try {
      this.sub.onError?.(error);
    } catch {
      /* reporting must not throw */
    }
    void this.close();
  }

  /** A warning that repeats while a broker is down is logged once per `key` and 30 s. */
  protected warnThrottled(key: string, obj: object, msg: string): void {
    const now = Date.now();
    const last = this.lastWarn.get(key) ?? 0;
    if (now - last < WARN_EVERY_MS) return;
    this.lastWarn.set(key, now);
    this.log.warn({ ...this.logContext, ...obj }, msg);
  }
}

/**
 * The subscriptions one bus opened, so that closing the bus closes them first. A
 * subscription leaves the set when it closes, by itself or not.
 */
export class OpenSubscriptions<S extends Subscription> {
  private readonly open = new Set<S>();
  private closed = false;

  /**
   * Creates a subscription (handing it the callback that removes it again) and starts it;
   * on failure it is closed and the error rethrown. Refused once `closeAll` was called.
   */
  async start(create: (onClosed: () => void) => S): Promise<S> {
    if (this.closed) throw new BusError('BUS_UNAVAILABLE', 'bus is closed');
    const sub: S = create(() => this.open.delete(sub));
    this.open.add(sub);
    try {
      await sub.start();
    } catch (e) {
      this.open.delete(sub);
      await sub.close().catch(() => {});
      throw e;
    }
    return sub;
  }

  /** Closes every open subscription; no new one starts afterwards. */
  async closeAll(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.open].map((s) => s.close()));
  }
}
