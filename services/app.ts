import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { Aggregator } from './aggregator/aggregator.ts';
import { PROBE_TABLE } from './aggregator/families/probe.ts';
import { buildServer } from './api/server.ts';
import { IngestService } from './ingest/ingest.ts';
import type { Bus } from './shared/bus/bus.ts';
import { type EmbeddedKafka, startEmbeddedKafka } from './shared/bus/embedded.ts';
import { createBus } from './shared/bus/index.ts';
import type { Config } from './shared/config/config.ts';
import type { Logger } from './shared/log.ts';
import { createMetrics, type Metrics } from './shared/metrics.ts';
import { migrate } from './shared/store/migrations.ts';
import { openStore, type Store } from './shared/store/store.ts';
import { Simulator } from './simulator/simulator.ts';

/**
 * Assembles the whole pipeline in one process (embedded mode, or every service
 * against external Kafka/ClickHouse) and stops it in order: intake first, then the
 * aggregator drains and flushes its windows and commits, then the store closes.
 */

export interface Pipeline {
  url: string;
  config: Config;
  bus: Bus;
  store: Store;
  metrics: Metrics;
  ingest: IngestService;
  aggregator: Aggregator;
  server: FastifyInstance;
  simulator: Simulator | undefined;
  brokers: string;
  stop(): Promise<void>;
}

export interface PipelineOverrides {
  /** Extra bus options (tests shorten timeouts). */
  bus?: { sessionTimeoutMs?: number; heartbeatIntervalMs?: number; produceTimeoutMs?: number };
  aggregatorFlushIntervalMs?: number;
}

export async function startPipeline(config: Config, log: Logger, overrides: PipelineOverrides = {}): Promise<Pipeline> {
  const cleanup: Array<() => Promise<void>> = [];
  const runCleanup = async () => {
    for (const step of cleanup.reverse()) await step().catch((err) => log.error({ err }, 'shutdown step failed'));
  };
  try {
    let embedded: EmbeddedKafka | undefined;
    let brokers = config.kafka.brokers ?? '';
    if (config.kafka.mode === 'embedded') {
      embedded = await startEmbeddedKafka({ brokers: config.kafka.embeddedBrokers, log });
      brokers = embedded.bootstrapServers;
      const stopEmbedded = embedded;
      cleanup.push(() => stopEmbedded.stop());
    }
    // Offsets stored beside window rows are only meaningful within one Kafka cluster
    // incarnation: the in-memory mock starts empty every time.
    const busEpoch = embedded ? `embedded-${randomUUID()}` : `kafka:${brokers}`;
    const bus = createBus({
      kind: config.kafka.client,
      brokers,
      clientId: config.kafka.clientId,
      log,
      ...(embedded ? { sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000 } : {}),
      ...overrides.bus,
    });
    cleanup.push(() => bus.close());

    if (config.clickhouse.mode === 'embedded') await mkdir(config.dataDir, { recursive: true });
    const store = await openStore({
      mode: config.clickhouse.mode,
      url: config.clickhouse.url,
      user: config.clickhouse.user,
      password: config.clickhouse.password,
      database: config.clickhouse.database,
      dataDir: config.dataDir,
      log,
    });
    cleanup.push(() => store.close());
    const migrations = await migrate(store, log);
    log.info({ applied: migrations.applied, alreadyApplied: migrations.alreadyApplied }, 'migrations done');

    const metrics = createMetrics();
    const ingest = new IngestService(bus, metrics, { maxFutureMs: config.windows.maxFutureMs });
    const aggregator = new Aggregator({
      bus,
      store,
      metrics,
      log: log.child({ component: 'aggregator' }),
      windows: config.windows,
      busEpoch,
      flushIntervalMs: overrides.aggregatorFlushIntervalMs,
    });
    await aggregator.start();
    cleanup.push(() => aggregator.stop());

    const server = await buildServer({
      bus,
      store,
      metrics,
      ingest,
      log,
      excuseRetroactiveMaintenance: config.excuseRetroactiveMaintenance,
    });
    const address = await server.listen({ host: config.host, port: config.port });
    cleanup.push(() => server.close());

    let simulator: Simulator | undefined;
    if (config.simulate) {
      const sim = new Simulator({
        log: log.child({ component: 'simulator' }),
        submit: async (source, events) => {
          const result = await ingest.ingest(source, {
            items: events.map((value, index) => ({ index, value })),
            errors: [],
            count: events.length,
          });
          if (result.rejected > 0) log.warn({ errors: result.errors.slice(0, 3) }, 'simulator produced invalid events');
        },
      });
      const [existing] = await store.query<{ n: string }>(`SELECT count() AS n FROM ${store.table(PROBE_TABLE)}`);
      await sim.start({ seedHistory: Number(existing?.n ?? 0) === 0 });
      cleanup.push(() => sim.stop());
      simulator = sim;
    }

    let stopped = false;
    return {
      url: address.replace('127.0.0.1', 'localhost'),
      config,
      bus,
      store,
      metrics,
      ingest,
      aggregator,
      server,
      simulator,
      brokers,
      async stop() {
        if (stopped) return;
        stopped = true;
        await runCleanup();
      },
    };
  } catch (err) {
    await runCleanup();
    throw err;
  }
}
