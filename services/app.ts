import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { AGGREGATOR_GROUP, Aggregator } from './aggregator/aggregator.ts';
import { CsiMaterializer } from './aggregator/csi-materializer.ts';
import { bindings } from './aggregator/families/index.ts';
import { PROBE_TABLE } from './aggregator/families/probe.ts';
import { consumerGroupFromMetrics } from './api/probes.ts';
import { buildServer } from './api/server.ts';
import type { DashboardOptions } from './dashboard/index.ts';
import { GoalsService, issueDemoToken } from './goals/routes.ts';
import { demoIngestCredentials, loadIngestAuth } from './ingest/auth.ts';
import { BusBacklogGuard } from './ingest/backlog.ts';
import { IngestService } from './ingest/ingest.ts';
import { loadModel, watchModel } from './model/load.ts';
import type { CxModel } from './model/types.ts';
import type { Bus } from './shared/bus/bus.ts';
import { type EmbeddedKafka, startEmbeddedKafka } from './shared/bus/embedded.ts';
import { createBus } from './shared/bus/index.ts';
import type { Config } from './shared/config/config.ts';
import type { Logger } from './shared/log.ts';
import { createMetrics, type Metrics } from './shared/metrics.ts';
import { declaredKpis } from './shared/sources/registry.ts';
import { applyRawRetention, migrate } from './shared/store/migrations.ts';
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
  aggregator: Aggregator | undefined;
  server: FastifyInstance;
  simulator: Simulator | undefined;
  goals: GoalsService | undefined;
  csi: CsiMaterializer | undefined;
  model(): CxModel;
  /** Demo ingest token (no CXV_INGEST_TOKENS configured): print it loudly. */
  ingestDemoToken: string | undefined;
  /** Demo planner token (embedded mode without CXV_GOALS_ADMIN_TOKEN): print it loudly. */
  goalsDemoToken: string | undefined;
  brokers: string;
  stop(): Promise<void>;
}

/** The parts of cxvitals one process runs (`cxvitals all` runs every one, plus the simulator). */
export type Role = 'ingest' | 'aggregator' | 'api' | 'goals';
export const ALL_ROLES: readonly Role[] = ['ingest', 'aggregator', 'api', 'goals'];

export interface PipelineOverrides {
  /** Which parts to run (default: all). */
  roles?: readonly Role[];
  /** Extra bus options (tests shorten timeouts). */
  bus?: { sessionTimeoutMs?: number; heartbeatIntervalMs?: number; produceTimeoutMs?: number };
  aggregatorFlushIntervalMs?: number;
  /** Dashboard intervals (tests shorten them): services/dashboard/index.ts. */
  dashboard?: Partial<DashboardOptions>;
}

export async function startPipeline(config: Config, log: Logger, overrides: PipelineOverrides = {}): Promise<Pipeline> {
  const cleanup: Array<() => Promise<void>> = [];
  const runCleanup = async () => {
    for (const step of cleanup.reverse()) await step().catch((err) => log.error({ err }, 'shutdown step failed'));
  };
  const roles = new Set<Role>(overrides.roles ?? ALL_ROLES);
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
      ...(config.kafka.sessionTimeoutMs
        ? {
            sessionTimeoutMs: config.kafka.sessionTimeoutMs,
            heartbeatIntervalMs: Math.max(500, Math.floor(config.kafka.sessionTimeoutMs / 6)),
          }
        : {}),
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
    const migrations = await migrate(store, log, { cluster: config.clickhouse.cluster });
    log.info({ applied: migrations.applied, alreadyApplied: migrations.alreadyApplied }, 'migrations done');
    await applyRawRetention(store, config.rawRetentionDays, log, { cluster: config.clickhouse.cluster });

    const extraKpis = declaredKpis();
    let model: CxModel = await loadModel(config.model.file, { extraKpis });
    log.info({ file: config.model.file, version: model.version, hash: model.hash.slice(0, 12) }, 'model loaded');
    const modelWatch = watchModel(
      config.model.file,
      (next) => {
        model = next;
        log.info({ version: next.version, hash: next.hash.slice(0, 12) }, 'model changed: applied without a restart');
      },
      (err) => log.error({ err }, 'model file changed but is invalid: the previous model stays in force'),
      { currentHash: model.hash, extraKpis },
    );
    cleanup.push(async () => modelWatch.stop());

    const metrics = createMetrics();
    const backlog = new BusBacklogGuard({
      bus,
      groupId: AGGREGATOR_GROUP,
      maxBytes: config.ingest.maxBusBacklogBytes,
      metrics,
      log: log.child({ component: 'ingest' }),
    });
    if (roles.has('ingest')) {
      backlog.start();
      cleanup.push(() => backlog.stop());
    }
    const ingest = new IngestService(bus, metrics, {
      maxFutureMs: config.windows.maxFutureMs,
      maxInFlightEvents: config.ingest.maxInFlightEvents,
      produceTimeoutMs: config.ingest.produceTimeoutMs,
      backlog,
    });
    const ingestAuth = await loadIngestAuth(config.ingest);
    log.info({ grants: ingestAuth.grants, demo: ingestAuth.demo }, 'ingest auth');
    let aggregator: Aggregator | undefined;
    let csi: CsiMaterializer | undefined;
    if (roles.has('aggregator')) {
      const started = new Aggregator({
        bus,
        store,
        metrics,
        log: log.child({ component: 'aggregator' }),
        windows: config.windows,
        busEpoch,
        bindings: bindings({
          contact: { shortAbandonSec: config.model.shortAbandonSec, serviceLevelSec: config.model.serviceLevelSec },
        }),
        flushIntervalMs: overrides.aggregatorFlushIntervalMs,
        checkpoint: { bytesPerPartition: config.aggregator.checkpointBytes, intervalMs: config.aggregator.checkpointMs },
      });
      await started.start();
      cleanup.push(() => started.stop());
      aggregator = started;
      csi = new CsiMaterializer({
        store,
        log: log.child({ component: 'csi' }),
        model: () => model,
        excuseRetroactive: config.excuseRetroactiveMaintenance,
      });
    }

    const goals = roles.has('goals')
      ? new GoalsService({
          store,
          log: log.child({ component: 'goals' }),
          registry: metrics.registry,
          excuseRetroactiveMaintenance: config.excuseRetroactiveMaintenance,
          adminToken: config.goals.adminToken,
        })
      : undefined;
    const goalsDemoToken =
      goals && config.goals.adminToken === undefined && config.clickhouse.mode === 'embedded'
        ? (await issueDemoToken(goals)).token
        : undefined;

    const server = await buildServer({
      goals,
      vitals: roles.has('api')
        ? { store, model: () => model, excuseRetroactiveMaintenance: config.excuseRetroactiveMaintenance }
        : undefined,
      bus,
      store,
      metrics,
      ingest: roles.has('ingest') ? ingest : undefined,
      ingestEdge: { auth: ingestAuth, maxBodyBytes: config.ingest.maxBodyBytes },
      consumerGroup: aggregator
        ? consumerGroupFromMetrics(metrics, { sessionTimeoutMs: config.kafka.sessionTimeoutMs ?? (embedded ? 6000 : 30_000) })
        : undefined,
      log,
      excuseRetroactiveMaintenance: config.excuseRetroactiveMaintenance,
      dashboard: { serviceLevelSec: config.model.serviceLevelSec, ...overrides.dashboard },
    });
    const address = await server.listen({ host: config.host, port: config.port });
    cleanup.push(() => server.close());
    if (goals) {
      goals.start();
      cleanup.push(() => goals.stop());
    }
    if (csi) {
      const materializer = csi;
      materializer.start();
      cleanup.push(() => materializer.stop());
    }

    let simulator: Simulator | undefined;
    if (config.simulate && roles.has('ingest')) {
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
      goals,
      csi,
      model: () => model,
      goalsDemoToken,
      ingestDemoToken: roles.has('ingest') && ingestAuth.demo ? demoIngestCredentials().token : undefined,
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
