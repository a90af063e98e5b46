/**
 * The ingest edge without Kafka or ClickHouse: the real Fastify server (`buildServer`)
 * over a bus double that records, fails, or holds every produce until released, and a
 * store double that is never queried by ingest. Requests go through `app.inject`.
 */
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { generateIngestToken, IngestAuth, parseTokenEntries } from '../../services/ingest/auth.ts';
import { BusBacklogGuard } from '../../services/ingest/backlog.ts';
import { IngestService } from '../../services/ingest/ingest.ts';
import { buildHttpApp } from '../../services/roles.ts';
import { type Bus, BusError, type OutgoingMessage, type TopicPartitionOffset } from '../../services/shared/bus/bus.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { createMetrics, type Metrics } from '../../services/shared/metrics.ts';
import type { Store } from '../../services/shared/store/store.ts';

export const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

export type BusMode = 'record' | 'fail' | 'hold';

export interface BusDouble {
  bus: Bus;
  /** Every acknowledged produce, in order. */
  produced: Array<{ topic: string; messages: OutgoingMessage[] }>;
  /** Produces waiting for `releaseHeld()` (mode `hold`). */
  held: () => number;
  /** Acknowledges every held produce (or fails them with `error`). */
  releaseHeld(error?: Error): void;
  mode: BusMode;
  /** Where each partition ends, as the broker's acknowledgements told (`producedEnds`): set by the test. */
  ends: TopicPartitionOffset[];
  /** What the aggregator's group committed (`committedOffsets`), `topic:partition` → offset: set by the test. */
  committed: Map<string, number>;
}

export function busDouble(mode: BusMode = 'record'): BusDouble {
  const produced: BusDouble['produced'] = [];
  const waiting: Array<{ resolve: () => void; reject: (e: Error) => void; topic: string; messages: OutgoingMessage[] }> = [];
  const double: BusDouble = {
    mode,
    produced,
    ends: [],
    committed: new Map(),
    held: () => waiting.length,
    releaseHeld(error) {
      for (const w of waiting.splice(0)) {
        if (error) w.reject(error);
        else {
          produced.push({ topic: w.topic, messages: w.messages });
          w.resolve();
        }
      }
    },
    bus: {
      client: 'kafkajs',
      brokers: 'double:9092',
      async produce(topic, messages) {
        if (double.mode === 'fail') throw new BusError('BUS_UNAVAILABLE', 'kafka producer could not connect to double:9092');
        if (double.mode === 'hold') {
          return new Promise<void>((resolve, reject) => {
            waiting.push({ resolve, reject, topic, messages });
          });
        }
        produced.push({ topic, messages });
      },
      subscribe: () => Promise.reject(new Error('the ingest tests do not consume')),
      ensureTopics: async () => {},
      health: async () => ({ ok: true, client: 'kafkajs', brokers: 'double:9092', detail: 'double' }),
      producedEnds: () => double.ends,
      committedOffsets: async (_groupId, partitions) =>
        partitions.map((p) => ({ ...p, offset: double.committed.get(`${p.topic}:${p.partition}`) ?? -1 })),
      close: async () => {},
    },
  };
  return double;
}

const storeDouble: Store = {
  mode: 'embedded',
  database: 'double',
  location: 'nowhere',
  table: (name) => `double.${name}`,
  query: () => Promise.reject(new Error('the ingest tests do not query the store')),
  command: () => Promise.reject(new Error('the ingest tests do not write the store')),
  insert: () => Promise.reject(new Error('the ingest tests do not write the store')),
  ping: async () => true,
  close: async () => {},
};

/** Tokens of the test server: one for every source, one per named source. */
export const TOKENS = {
  any: generateIngestToken('*'),
  probe: generateIngestToken('probe'),
  contact: generateIngestToken('contact'),
};

export interface EdgeOptions {
  busMode?: BusMode;
  maxBodyBytes?: number;
  maxInFlightEvents?: number;
  produceTimeoutMs?: number;
  /** Token entries (`source:sha256hex` lines); default TOKENS. `null` = none given (the demo token). */
  tokenEntries?: string | null;
  /** CXV_INGEST_MAX_BUS_BACKLOG_BYTES: a guard whose `sample()` the test calls (no timer). */
  maxBusBacklogBytes?: number;
}

export interface Edge {
  app: FastifyInstance;
  bus: BusDouble;
  metrics: Metrics;
  ingest: IngestService;
  backlog: BusBacklogGuard;
  /** POST to /api/v1/events/<source>, with the all-sources token unless headers say otherwise. */
  post(
    source: string,
    payload: string | Buffer | unknown,
    options?: { contentType?: string | null; headers?: Record<string, string>; query?: string },
  ): Promise<LightMyRequestResponse>;
  inject(options: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export async function startEdge(options: EdgeOptions = {}): Promise<Edge> {
  const bus = busDouble(options.busMode);
  const metrics = createMetrics();
  const backlog = new BusBacklogGuard({
    bus: bus.bus,
    groupId: 'cxvitals-aggregator',
    maxBytes: options.maxBusBacklogBytes ?? 0,
    metrics,
    log: silentLogger,
  });
  const ingest = new IngestService(bus.bus, metrics, {
    maxFutureMs: 300_000,
    now: () => NOW,
    maxInFlightEvents: options.maxInFlightEvents,
    produceTimeoutMs: options.produceTimeoutMs,
    backlog,
  });
  const entries =
    options.tokenEntries === undefined
      ? Object.values(TOKENS)
          .map((t) => t.entry)
          .join('\n')
      : options.tokenEntries;
  const app = await buildHttpApp({
    bus: bus.bus,
    store: storeDouble,
    metrics,
    ingest,
    log: silentLogger,
    excuseRetroactiveMaintenance: false,
    ingestEdge: {
      ...(entries === null ? {} : { auth: IngestAuth.fromEntries(parseTokenEntries(entries, 'test tokens')) }),
      ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
    },
  });
  await app.ready();
  return {
    app,
    bus,
    metrics,
    ingest,
    backlog,
    post(source, payload, { contentType = 'application/json', headers, query } = {}) {
      const body = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
      return app.inject({
        method: 'POST',
        url: `/api/v1/events/${source}${query ? `?${query}` : ''}`,
        headers: {
          ...(contentType === null ? {} : { 'content-type': contentType }),
          ...(headers ?? { authorization: `Bearer ${TOKENS.any.token}` }),
        },
        payload: body,
      });
    },
    inject: (o) => app.inject(o),
    close: () => app.close(),
  };
}

/** One counter sample (summed over the labels not named). */
export async function counter(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (metric?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

export const json = <T = Record<string, unknown>>(res: LightMyRequestResponse): T => res.json() as T;
