/** Shared helpers for the bus tests (every test file starts its own mock cluster). */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import type {
  Bus,
  ConsumedMessage,
  ConsumerHandle,
  KafkaClientKind,
  SubscribeOptions,
  TopicPartition,
} from '../../services/shared/bus/index.ts';
import { createBus } from '../../services/shared/bus/index.ts';
import type { BusLogger, BusOptions } from '../../services/shared/bus/options.ts';

export const CLIENTS: KafkaClientKind[] = ['rdkafka', 'kafkajs'];

/** Quiet logger; set CXV_BUS_TEST_LOG=1 to see everything, warnings/errors are kept for assertions. */
export const testLog = (): BusLogger & { entries: Array<{ level: string; msg: string; obj: object }> } => {
  const entries: Array<{ level: string; msg: string; obj: object }> = [];
  const verbose = process.env.CXV_BUS_TEST_LOG === '1';
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      entries.push({ level, msg: msg ?? '', obj });
      if (verbose) console.log(`${new Date().toISOString().slice(17, 23)} [${level}] ${msg ?? ''} ${JSON.stringify(obj)}`);
    };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
};

export const uniqueName = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

/** Short timeouts so failures surface quickly; the mock needs session timeout > 1 s. */
export const makeBus = (kind: KafkaClientKind, brokers: string, extra: Partial<BusOptions> = {}): Bus =>
  createBus({
    kind,
    brokers,
    clientId: `cxv-test-${kind}`,
    log: extra.log ?? testLog(),
    produceTimeoutMs: 10_000,
    connectTimeoutMs: 5_000,
    healthTimeoutMs: 2_000,
    sessionTimeoutMs: 3_000,
    heartbeatIntervalMs: 500,
    ...extra,
  });

export const waitFor = async (what: string, cond: () => boolean, timeoutMs = 20_000, stepMs = 25): Promise<void> => {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
};

/** A subscription that records everything it receives. */
export interface Recorder {
  handle: ConsumerHandle;
  messages: ConsumedMessage[];
  batches: number[];
  assigned: TopicPartition[][];
  revoked: TopicPartition[][];
  errors: Error[];
}

export const record = async (
  bus: Bus,
  opts: Partial<SubscribeOptions> & { groupId: string; topics: string[] },
  onMessages?: (batch: ConsumedMessage[], rec: Recorder) => Promise<void> | void,
): Promise<Recorder> => {
  const rec = { messages: [], batches: [], assigned: [], revoked: [], errors: [] } as unknown as Recorder;
  rec.handle = await bus.subscribe({
    fromBeginning: true,
    ...opts,
    onBatch: async (batch) => {
      rec.batches.push(batch.length);
      rec.messages.push(...batch);
      await onMessages?.(batch, rec);
    },
    onAssign: async (p) => {
      rec.assigned.push(p);
      await opts.onAssign?.(p);
    },
    onRevoke: async (p) => {
      rec.revoked.push(p);
      await opts.onRevoke?.(p);
    },
    onError: (e) => {
      rec.errors.push(e);
    },
  });
  return rec;
};

/** A loopback port on which nothing listens (bound once, then released). */
export const deadAddress = async (): Promise<string> => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return `127.0.0.1:${address.port}`;
};

/**
 * Java-client-compatible murmur2 partitioner (org.apache.kafka.common.utils.Utils.murmur2,
 * `toPositive(murmur2(keyBytes)) % numPartitions`), as an independent reference.
 */
export const javaPartition = (key: string, partitions: number): number => {
  const data = Buffer.from(key, 'utf8');
  const length = data.length;
  const seed = 0x9747b28c;
  const m = 0x5bd1e995;
  const r = 24;
  let h = (seed ^ length) | 0;
  const length4 = Math.floor(length / 4);
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data.readUInt8(i4) + (data.readUInt8(i4 + 1) << 8) + (data.readUInt8(i4 + 2) << 16) + (data.readUInt8(i4 + 3) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const rest = length % 4;
  const base = length & ~3;
  if (rest === 3) h ^= data.readUInt8(base + 2) << 16;
  if (rest >= 2) h ^= data.readUInt8(base + 1) << 8;
  if (rest >= 1) {
    h ^= data.readUInt8(base);
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return (h & 0x7fffffff) % partitions;
};
