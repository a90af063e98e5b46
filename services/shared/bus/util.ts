/** Small helpers shared by the bus implementations. */

import type { BusHealth, KafkaClientKind, TopicPartition } from './bus.ts';
import { BusError } from './bus.ts';

const noop = (): void => {};

/**
 * Runs tasks strictly one after another. Used so that `onBatch`, `onAssign` and
 * `onRevoke` of one subscription never overlap, whatever thread or event delivered them.
 */
export class SerialLane {
  private tail: Promise<void> = Promise.resolve();

  run<T>(task: () => Promise<T> | T): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.then(noop, noop);
    return result;
  }

  /** Resolves once every task queued so far has settled. */
  idle(): Promise<void> {
    return this.tail;
  }
}

/** Per topic and partition, one past the largest offset a producer had acknowledged (`Bus.producedEnds`). */
export class ProducedEnds {
  private readonly ends = new Map<string, Map<number, number>>();

  /** `end` = last acknowledged offset + 1; a smaller one than known is ignored. */
  note(topic: string, partition: number, end: number): void {
    if (!(end > 0)) return;
    let byPartition = this.ends.get(topic);
    if (!byPartition) {
      byPartition = new Map();
      this.ends.set(topic, byPartition);
    }
    if ((byPartition.get(partition) ?? 0) < end) byPartition.set(partition, end);
  }

  list(): Array<TopicPartition & { offset: number }> {
    const out: Array<TopicPartition & { offset: number }> = [];
    for (const [topic, byPartition] of this.ends) {
      for (const [partition, offset] of byPartition) out.push({ topic, partition, offset });
    }
    return out;
  }
}

export const delay = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

/** Rejects with `onTimeout()` when `promise` has not settled within `ms`. */
export const withTimeout = <T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });

export const errorMessage = (error: unknown): string =>
  error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(error);

/** Wraps anything thrown by a client library into a BusError (BusErrors pass through). */
export const toBusError = (code: BusError['code'], context: string, error: unknown): BusError =>
  error instanceof BusError ? error : new BusError(code, `${context}: ${errorMessage(error)}`, { cause: error });

export const parseBrokers = (brokers: string): string[] =>
  brokers
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);

export const tpKey = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`;

export const sortPartitions = <T extends TopicPartition>(tps: T[]): T[] =>
  [...tps].sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));

/** Kafka header values arrive as Buffers (or strings); cxvitals headers are UTF-8 strings. */
export const headerValueToString = (value: unknown): string => {
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (value === null || value === undefined) return '';
  return String(value);
};

export const keyToString = (key: unknown): string | null => {
  if (key === null || key === undefined) return null;
  if (Buffer.isBuffer(key)) return key.toString('utf8');
  if (typeof key === 'string') return key;
  return String(key);
};

/** Calls `check` until it returns true, or throws BUS_TIMEOUT naming `what` after `timeoutMs`. */
export const retryUntil = async (what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    await delay(200);
  }
  throw new BusError('BUS_TIMEOUT', `gave up waiting for ${what} after ${timeoutMs} ms${last ? `: ${errorMessage(last)}` : ''}`);
};

/**
 * `Bus.health()` of either client: `brokersReachable` is one metadata round trip that
 * answers how many brokers the cluster lists. On an error, or past `timeoutMs`, the bus
 * is reported not ok with the reason, after `onFailure` (a client to drop, say).
 */
export const metadataHealth = async (
  bus: { client: KafkaClientKind; brokers: string },
  timeoutMs: number,
  brokersReachable: () => Promise<number>,
  onFailure?: () => Promise<void>,
): Promise<BusHealth> => {
  const base = { client: bus.client, brokers: bus.brokers };
  try {
    const count = await withTimeout(
      brokersReachable(),
      timeoutMs,
      () => new BusError('BUS_TIMEOUT', `no metadata within ${timeoutMs} ms`),
    );
    return { ...base, ok: true, detail: `${count} broker(s) reachable` };
  } catch (e) {
    await onFailure?.();
    return { ...base, ok: false, detail: errorMessage(e) };
  }
};
