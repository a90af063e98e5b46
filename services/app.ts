import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { AGGREGATOR_GROUP, Aggregator } from './aggregator/aggregator.ts';
import { CsiMaterializer } from './aggregator/csi-materializer.ts';
import { DailyRollupJob } from './aggregator/daily-rollup.ts';
import { bindings } from './aggregator/families/index.ts';
import { StoredVersions } from './aggregator/ledger.ts';
import { consumerGroupFromMetrics } from './api/probes.ts';
import { configureReadLimits } from './api/read-limits.ts';
import { buildServer, type RolePlugin } from './api/server.ts';
import type { DashboardOptions } from './dashboard/index.ts';
import { PROBE_TABLE } from './families/probe/binding.ts';
import { GoalsService, issueDemoToken } from './goals/routes.ts';
import { IncidentJob } from './incidents/job.ts';
import { incidentsPlugin } from './incidents/routes.ts';
import { demoIngestCredentials, loadIngestAuth } from './ingest/auth.ts';
import { BusBacklogGuard } from './ingest/backlog.ts';
import { IngestService } from './ingest/ingest.ts';
import { loadModel, watchModel } from './model/load.ts';
import type { CxModel } from './model/types.ts';
import { dashboardPlugin, goalsPlugin, ingestPlugin, vitalsPlugin } from './roles.ts';
import { demoReadCredentials, loadReadTokens } from './shared/auth/tokens.ts';
import type { Bus } from './shared/bus/bus.ts';
import { type EmbeddedKafka, startEmbeddedKafka } from './shared/bus/embedded.ts';
import { createBus } from './shared/bus/index.ts';
import type { Config } from './shared/config/config.ts';
import type { Logger } from './shared/log.ts';
import { createMetrics, type Metrics } from './shared/metrics.ts';
import { assertDeclaredSourcesLoaded, declaredKpis } from './shared/sources/registry.ts';
import { applyRawRetention, migrate } from './shared/store/migrations.ts';
import { openStore, type Store } from './shared/store/store.ts';
import { Simulator } from './simulator/simulator.ts';

/**
 * Assembles the pipeline in one process (embedded mode, or any of the roles against
 * external Kafka/ClickHouse): the foundation (bus, store, model, metrics), then one start
 * step per role, each returning its HTTP plugin and its own stop, then the HTTP server
 * with those plugins. It stops in reverse order: intake first, then the aggregator drains
 * and flushes its windows and commits, then the store closes.
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
  /** Demo read token, every read scope (no CXV_READ_TOKENS configured): print it loudly. */
  readDemoToken: string | undefined;
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

/** What every role stands on. */
interface Foundation {
  config: Config;
  log: Logger;
  bus: Bus;
  store: Store;
  metrics: Metrics;
  model: () => CxModel;
  embedded: boolean;
  busEpoch: string;
  brokers: string;
}

/** Stops pushed in start order, run in reverse. */
type Stops = Array<() => Promise<void>>;

async function startFoundation(config: Config, log: Logger, overrides: PipelineOverrides, stops: Stops): Promise<Foundation> {
  let embedded: EmbeddedKafka | undefined;
  let brokers = config.kafka.brokers ?? '';
  if (config.kafka.mode === 'embedded') {
    embedded = await startEmbeddedKafka({ brokers: config.kafka.embeddedBrokers, log });
    brokers = embedded.bootstrapServers;
    const stopEmbedded = embedded;
    stops.push(() => stopEmbedded.stop());
  }
  // Offsets stored beside window rows are only meaningful within one Kafka cluster
  // incarnation: the in-memory mock starts empty every time.
  const busEpoch = embedded ? `embedded-${randomUUID()}` : `kafka:${brokers}`;
  const bus = createBus({
    kind: config.kafka.client,
    brokers,
    clientId: config.kafka.clientId,
    log,
    // TLS / SASL to a real cluster (KAFKA_SECURITY_PROTOCOL); the embedded broker is plaintext on loopback.
    ...(embedded ? {} : { security: config.kafka.security }),
    ...(embedded ? { sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000 } : {}),
    ...(config.kafka.sessionTimeoutMs
      ? {
          sessionTimeoutMs: config.kafka.sessionTimeoutMs,
          heartbeatIntervalMs: Math.max(500, Math.floor(config.kafka.sessionTimeoutMs / 6)),
        }
      : {}),
    ...overrides.bus,
  });
  stops.push(() => bus.close());

  if (config.clickhouse.mode === 'embedded') await mkdir(config.dataDir, { recursive: true });
  const store = await openStore({ ...config.clickhouse, dataDir: config.dataDir, log });
  stops.push(() => store.close());
  // Cost limits and read slots of every read route (CXV_READ_*).
  configureReadLimits(config.reads);
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
  stops.push(async () => modelWatch.stop());

  return {
    config,
    log,
    bus,
    store,
    metrics: createMetrics(),
    model: () => model,
    embedded: embedded !== undefined,
    busEpoch,
    brokers,
  };
}

/** The ingest edge: the bus backlog guard, the ingest service, its source tokens. */
async function startIngest(f: Foundation, run: boolean, stops: Stops) {
  const { config, log } = f;
  const backlog = new BusBacklogGuard({
    bus: f.bus,
    groupId: AGGREGATOR_GROUP,
    maxBytes: config.ingest.maxBusBacklogBytes,
    metrics: f.metrics,
    log: log.child({ component: 'ingest' }),
  });
  if (run) {
    backlog.start();
    stops.push(() => backlog.stop());
  }
  // Built in every process: the simulator and tests call it directly.
  const ingest = new IngestService(f.bus, f.metrics, {
    maxFutureMs: config.windows.maxFutureMs,
    maxInFlightEvents: config.ingest.maxInFlightEvents,
    produceTimeoutMs: config.ingest.produceTimeoutMs,
    backlog,
    ...(config.ingest.versionLookupMs > 0
      ? { versions: new StoredVersions(f.store), versionLookupMs: config.ingest.versionLookupMs }
      : {}),
  });
  const auth = await loadIngestAuth(config.ingest);
  log.info({ grants: auth.grants, demo: auth.demo }, 'ingest auth');
  return {
    ingest,
    plugins: run ? [ingestPlugin(ingest, { auth, maxBodyBytes: config.ingest.maxBodyBytes })] : [],
    demoToken: run && auth.demo ? demoIngestCredentials().token : undefined,
  };
}

/** The aggregator (a consumer-group member) and the CSI materializer; no routes of its own. */
async function startAggregator(f: Foundation, overrides: PipelineOverrides, stops: Stops) {
  const { config, log } = f;
  const aggregator = new Aggregator({
    bus: f.bus,
    store: f.store,
    metrics: f.metrics,
    log: log.child({ component: 'aggregator' }),
    windows: config.windows,
    busEpoch: f.busEpoch,
    bindings: bindings({
      contact: { shortAbandonSec: config.model.shortAbandonSec, serviceLevelSec: config.model.serviceLevelSec },
    }),
    flushIntervalMs: overrides.aggregatorFlushIntervalMs,
    checkpoint: { bytesPerPartition: config.aggregator.checkpointBytes, intervalMs: config.aggregator.checkpointMs },
    correctionHorizonMs: config.aggregator.correctionHorizonMs,
  });
  await aggregator.start();
  stops.push(() => aggregator.stop());
  const csi = new CsiMaterializer({
    store: f.store,
    log: log.child({ component: 'csi' }),
    model: f.model,
    excuseRetroactive: config.excuseRetroactiveMaintenance,
  });
  csi.start();
  stops.push(() => csi.stop());
  // Daily rollups for reads at step=1d and coarser (services/shared/vitals/rollup.ts).
  const rollups = new DailyRollupJob({
    store: f.store,
    log: log.child({ component: 'rollup' }),
    intervalMs: config.aggregator.rollupIntervalMs,
    settleMs: config.aggregator.rollupSettleMs,
  });
  rollups.start();
  stops.push(() => rollups.stop());
  // Early warning across signals (services/incidents): scores closed minutes, derives incidents.
  const incidents = new IncidentJob({
    store: f.store,
    log: log.child({ component: 'incidents' }),
    model: f.model,
    excuseRetroactive: config.excuseRetroactiveMaintenance,
    registry: f.metrics.registry,
  });
  incidents.start();
  stops.push(() => incidents.stop());
  return { aggregator, csi };
}

/** The read API and the dashboard (their background readers follow the server's lifecycle). */
function apiPlugins(f: Foundation, overrides: PipelineOverrides): RolePlugin[] {
  const { config } = f;
  const vitals = { store: f.store, model: f.model, excuseRetroactiveMaintenance: config.excuseRetroactiveMaintenance };
  return [
    vitalsPlugin(vitals),
    incidentsPlugin({ store: f.store, model: f.model }),
    dashboardPlugin({
      ...vitals,
      metrics: f.metrics,
      log: f.log,
      options: {
        serviceLevelSec: config.model.serviceLevelSec,
        maxLiveStreamsPerClient: config.read.liveStreamsPerClient,
        liveMaxAgeMs: config.read.liveMaxAgeMs,
        ...overrides.dashboard,
      },
    }),
  ];
}

/** The goals service; it evaluates once the server listens (started by the caller). */
async function startGoals(f: Foundation) {
  const { config } = f;
  const goals = new GoalsService({
    store: f.store,
    log: f.log.child({ component: 'goals' }),
    registry: f.metrics.registry,
    excuseRetroactiveMaintenance: config.excuseRetroactiveMaintenance,
    // Feeds score KQIs and CSI with the model the API uses, reloads included.
    model: f.model,
    adminToken: config.goals.adminToken,
  });
  const demoToken =
    config.goals.adminToken === undefined && config.clickhouse.mode === 'embedded'
      ? (await issueDemoToken(goals)).token
      : undefined;
  return { goals, plugins: [goalsPlugin(goals)], demoToken };
}

/** The one HTTP server of the process, with the given roles' plugins behind the auth layer. */
async function startHttp(f: Foundation, plugins: RolePlugin[], aggregator: Aggregator | undefined, stops: Stops) {
  const { config, log } = f;
  const readTokens = await loadReadTokens(config.read);
  log.info({ tokens: readTokens.entries.length, demo: readTokens.demo }, 'read auth');
  const server = await buildServer({
    bus: f.bus,
    store: f.store,
    metrics: f.metrics,
    log,
    plugins,
    auth: {
      readTokens,
      allowedHosts: config.read.allowedHosts,
      corsOrigins: config.read.corsOrigins,
      rateLimit: config.read.rateLimit,
    },
    metricsPublic: config.read.metricsPublic,
    http: { headersTimeoutMs: config.http.headersTimeoutMs, requestTimeoutMs: config.http.requestTimeoutMs },
    consumerGroup: aggregator
      ? consumerGroupFromMetrics(f.metrics, { sessionTimeoutMs: config.kafka.sessionTimeoutMs ?? (f.embedded ? 6000 : 30_000) })
      : undefined,
  });
  const address = await server.listen({ host: config.host, port: config.port });
  stops.push(() => server.close());
  return {
    server,
    url: address.replace('127.0.0.1', 'localhost'),
    readDemoToken: readTokens.demo ? demoReadCredentials().token : undefined,
  };
}

/** The built-in traffic simulator, feeding the ingest service directly. */
async function startSimulator(f: Foundation, ingest: IngestService, stops: Stops): Promise<Simulator> {
  const { log, store } = f;
  const sim = new Simulator({
    log: log.child({ component: 'simulator' }),
    submit: async (source, events) => {
      // The simulator's maintenance history (declared before its windows) is its own change calendar: trusted.
      const result = await ingest.ingest(
        source,
        { items: events.map((value, index) => ({ index, value })), errors: [], count: events.length },
        { mayBackdate: true },
      );
      if (result.rejected > 0) log.warn({ errors: result.errors.slice(0, 3) }, 'simulator produced invalid events');
    },
  });
  const [existing] = await store.query<{ n: string }>(`SELECT count() AS n FROM ${store.table(PROBE_TABLE)}`);
  await sim.start({ seedHistory: Number(existing?.n ?? 0) === 0 });
  stops.push(() => sim.stop());
  return sim;
}

export async function startPipeline(config: Config, log: Logger, overrides: PipelineOverrides = {}): Promise<Pipeline> {
  // An invalid source declaration refuses the start, with the problems `cxvitals check` names.
  assertDeclaredSourcesLoaded();
  const stops: Stops = [];
  const runStops = async () => {
    for (const stop of stops.reverse()) await stop().catch((err) => log.error({ err }, 'shutdown step failed'));
  };
  const roles = new Set<Role>(overrides.roles ?? ALL_ROLES);
  try {
    const f = await startFoundation(config, log, overrides, stops);
    const ingest = await startIngest(f, roles.has('ingest'), stops);
    const aggregator = roles.has('aggregator') ? await startAggregator(f, overrides, stops) : undefined;
    const api = roles.has('api') ? apiPlugins(f, overrides) : [];
    const goals = roles.has('goals') ? await startGoals(f) : undefined;
    const http = await startHttp(f, [...ingest.plugins, ...api, ...(goals?.plugins ?? [])], aggregator?.aggregator, stops);
    if (goals) {
      const service = goals.goals;
      service.start();
      stops.push(() => service.stop());
    }
    const simulator = config.simulate && roles.has('ingest') ? await startSimulator(f, ingest.ingest, stops) : undefined;

    let stopped = false;
    return {
      url: http.url,
      config,
      bus: f.bus,
      store: f.store,
      metrics: f.metrics,
      ingest: ingest.ingest,
      aggregator: aggregator?.aggregator,
      server: http.server,
      simulator,
      goals: goals?.goals,
      csi: aggregator?.csi,
      model: f.model,
      goalsDemoToken: goals?.demoToken,
      ingestDemoToken: ingest.demoToken,
      readDemoToken: http.readDemoToken,
      brokers: f.brokers,
      async stop() {
        if (stopped) return;
        stopped = true;
        await runStops();
      },
    };
  } catch (err) {
    await runStops();
    throw err;
  }
}
