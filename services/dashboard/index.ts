import type { FastifyInstance } from 'fastify';
import { IncidentWatcher } from '../incidents/watcher.ts';
import type { CxModel } from '../model/types.ts';
import { setSessionCookie } from '../shared/auth/layer.ts';
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
import { dashboardPage, signInPage, unavailablePage } from './page.ts';
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
  /** Live streams one client (address and token) may hold open. */
  maxLiveStreamsPerClient: number;
  /** A live stream is ended after this long; the browser reconnects (and is authorized again). */
  liveMaxAgeMs: number;
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
  maxLiveStreamsPerClient: 8,
  liveMaxAgeMs: 3_600_000,
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

  // Sign-in: `/?token=…` (the URL the start-up banner prints) sets the session cookie and
  // redirects to the same URL without the token; without a session, a sign-in form.
  app.get<{ Querystring: { token?: string } }>(
    '/',
    { config: { scope: 'public' }, schema: { hide: true } },
    async (request, reply) => {
      reply.headers({ ...SECURITY_HEADERS, 'cache-control': 'no-store' }).type('text/html; charset=utf-8');
      const token = request.query.token;
      if (token !== undefined) {
        const check = app.readTokens.check(token);
        if (!check.ok) return reply.code(401).send(signInPage(check.message));
        if (!check.principal.scopes.has('read:vitals'))
          return reply.code(403).send(signInPage('This token has no read:vitals scope: the dashboard needs one that has.'));
        setSessionCookie(request, reply, token, check.principal);
        const clean = new URL(request.url, 'http://localhost');
        clean.searchParams.delete('token');
        return reply.redirect(`${clean.pathname}${clean.search}`, 303);
      }
      if (!request.principal?.scopes.has('read:vitals')) return reply.code(401).send(signInPage());
      if (!assets.ok) return reply.code(503).send(unavailablePage(assets.problem));
      return dashboardPage(assets.sourceHash);
    },
  );

  // The bundle holds no data: served to anyone, so the sign-in page can be styled like the rest.
  app.get<{ Params: { file: string } }>(
    '/dashboard/:file',
    { config: { scope: 'public' }, schema: { hide: true } },
    async (request, reply) => {
      const file = assets.ok ? assets.files.get(request.params.file) : undefined;
      if (!file) {
        return reply.code(404).send({ code: 'NOT_FOUND', message: `No dashboard file ${request.params.file.slice(0, 100)}.` });
      }
      // The page asks for ?v=<source hash>, so a new build is a new URL and caching is safe.
      reply.headers({ ...SECURITY_HEADERS, 'cache-control': 'public, max-age=86400' }).type(file.contentType);
      return file.body;
    },
  );

  registerMetaRoutes(app, {
    store: deps.store,
    model: deps.model,
    staleAfterMs: o.staleAfterMs,
    maxServices: 32,
    maxRegions: 64,
  });
  registerRawEventsRoute(app, deps.store, { serviceLevelSec: o.serviceLevelSec });

  const watcher = new LandingWatcher({ store: deps.store, metrics: deps.metrics, log, pollMs: o.livePollMs });
  const incidents = new IncidentWatcher({ store: deps.store, log, pollMs: o.livePollMs });
  registerLiveRoute(app, watcher, deps.metrics, {
    heartbeatMs: o.liveHeartbeatMs,
    staleAfterMs: o.staleAfterMs,
    maxClients: o.maxLiveClients,
    maxStreamsPerClient: o.maxLiveStreamsPerClient,
    maxStreamAgeMs: o.liveMaxAgeMs,
    incidents,
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
    incidents.start();
    gauges.start();
  });
  app.addHook('onClose', async () => {
    await gauges.stop();
    await watcher.stop();
    await incidents.stop();
  });
}
