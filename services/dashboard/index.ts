import type { FastifyInstance } from 'fastify';
import type { CxModel } from '../model/types.ts';
import type { Logger } from '../shared/log.ts';
import type { Metrics } from '../shared/metrics.ts';
import type { Store } from '../shared/store/store.ts';
import { loadDashboardAssets } from './assets.ts';
import {
  BusinessGauges,
  DEFAULT_GAUGE_INTERVAL_MS,
  DEFAULT_GAUGE_WINDOW_MINUTES,
  DEFAULT_MAX_GAUGE_PAIRS,
} from './business-gauges.ts';
import { LandingWatcher } from './landing-watcher.ts';
import { registerLiveRoute } from './live.ts';
import { registerMetaRoutes } from './meta-routes.ts';
import { dashboardPage, unavailablePage } from './page.ts';
import { registerRawEventsRoute } from './raw-events.ts';

/**
 * The vital-signs dashboard as one server plugin: the page at `/` and its bundle under
 * /dashboard/, the drill-down and filter routes, the live stream, and the two background
 * readers behind them (window landing, business gauges). They start when the server is
 * ready and stop when it closes, so the server's own lifecycle orders them.
 */

export interface DashboardOptions {
  /** How often the store is polled for newly written windows (live updates, freshness metrics). */
  livePollMs: number;
  liveHeartbeatMs: number;
  maxLiveClients: number;
  /** The page calls data stale when the newest window ended longer ago than this. */
  staleAfterMs: number;
  /** Business gauges: how often, over how many closed minutes, and for at most how many (service, region) pairs. */
  gaugeIntervalMs: number;
  gaugeWindowMinutes: number;
  maxGaugePairs: number;
  /** Contacts waiting longer than this are problems in drill-down (CXV_SERVICE_LEVEL_SEC). */
  serviceLevelSec: number;
}

export const DEFAULT_DASHBOARD_OPTIONS: DashboardOptions = {
  livePollMs: 2000,
  liveHeartbeatMs: 5000,
  maxLiveClients: 100,
  staleAfterMs: 180_000,
  gaugeIntervalMs: DEFAULT_GAUGE_INTERVAL_MS,
  gaugeWindowMinutes: DEFAULT_GAUGE_WINDOW_MINUTES,
  maxGaugePairs: DEFAULT_MAX_GAUGE_PAIRS,
  serviceLevelSec: 20,
};

export interface DashboardDeps {
  store: Store;
  metrics: Metrics;
  model: () => CxModel;
  excuseRetroactiveMaintenance: boolean;
  log: Logger;
  options?: Partial<DashboardOptions>;
}

const SECURITY_HEADERS = {
  // Everything is served from this origin: no CDN, no inline script.
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export async function registerDashboard(app: FastifyInstance, deps: DashboardDeps): Promise<void> {
  const o = { ...DEFAULT_DASHBOARD_OPTIONS, ...deps.options };
  const log = deps.log.child({ component: 'dashboard' });
  const assets = await loadDashboardAssets(log);

  app.get('/', { schema: { hide: true } }, async (_request, reply) => {
    reply.headers({ ...SECURITY_HEADERS, 'cache-control': 'no-cache' }).type('text/html; charset=utf-8');
    if (!assets.ok) return reply.code(503).send(unavailablePage(assets.problem));
    return dashboardPage(assets.sourceHash);
  });

  app.get<{ Params: { file: string } }>('/dashboard/:file', { schema: { hide: true } }, async (request, reply) => {
    const file = assets.ok ? assets.files.get(request.params.file) : undefined;
    if (!file) {
      return reply.code(404).send({ code: 'NOT_FOUND', message: `No dashboard file ${request.params.file.slice(0, 100)}.` });
    }
    // The page asks for ?v=<source hash>, so a new build is a new URL and caching is safe.
    reply.headers({ ...SECURITY_HEADERS, 'cache-control': 'public, max-age=86400' }).type(file.contentType);
    return file.body;
  });

  registerMetaRoutes(app, {
    store: deps.store,
    model: deps.model,
    staleAfterMs: o.staleAfterMs,
    maxServices: 32,
    maxRegions: 64,
  });
  registerRawEventsRoute(app, deps.store, { serviceLevelSec: o.serviceLevelSec });

  const watcher = new LandingWatcher({ store: deps.store, metrics: deps.metrics, log, pollMs: o.livePollMs });
  registerLiveRoute(app, watcher, deps.metrics, {
    heartbeatMs: o.liveHeartbeatMs,
    staleAfterMs: o.staleAfterMs,
    maxClients: o.maxLiveClients,
  });
  const gauges = new BusinessGauges({
    store: deps.store,
    metrics: deps.metrics,
    model: deps.model,
    excuseRetroactive: deps.excuseRetroactiveMaintenance,
    log,
    intervalMs: o.gaugeIntervalMs,
    windowMinutes: o.gaugeWindowMinutes,
    maxPairs: o.maxGaugePairs,
  });

  app.addHook('onReady', async () => {
    await watcher.start();
    gauges.start();
  });
  app.addHook('onClose', async () => {
    await gauges.stop();
    await watcher.stop();
  });
}
