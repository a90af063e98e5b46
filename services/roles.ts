import type { FastifyInstance } from 'fastify';
import { registerAvailabilityRoute } from './api/availability-route.ts';
import { buildServer, type RolePlugin, type ServerDeps } from './api/server.ts';
import { registerVitalsRoutes, type VitalsDeps } from './api/vitals-routes.ts';
import { type DashboardDeps, registerDashboard } from './dashboard/index.ts';
import { goalsCredentialCheck } from './goals/http.ts';
import { type GoalsService, registerGoalsRoutes } from './goals/routes.ts';
import type { IngestService } from './ingest/ingest.ts';
import { type IngestEdgeOptions, ingestEdge } from './ingest/routes.ts';

/**
 * Each role's HTTP routes as one plugin with the scope its routes need (the auth layer
 * in shared/auth/layer.ts enforces it): the application picks the plugins of the roles
 * it runs and hands them to the server (api/server.ts), which imports none of them.
 */

/** POST /api/v1/events/{source}: source tokens, checked by the auth layer through `authorize`; its counters need read:metrics. */
export const ingestPlugin = (ingest: IngestService, edge: IngestEdgeOptions = {}): RolePlugin => {
  const routes = ingestEdge(ingest, edge);
  return {
    name: 'ingest',
    scope: 'ingest',
    authorize: routes.authorize,
    register(app: FastifyInstance) {
      app.addHook('onRoute', (route) => {
        if (route.url === '/api/v1/ingest/stats')
          route.config = { ...route.config, scope: 'read:metrics' } as typeof route.config;
      });
      routes.register(app);
    },
  };
};

/** KPIs, KQIs, CSI, Availability: read:vitals. */
export const vitalsPlugin = (vitals: VitalsDeps): RolePlugin => ({
  name: 'vitals',
  scope: 'read:vitals',
  register(app: FastifyInstance) {
    registerAvailabilityRoute(app, vitals);
    registerVitalsRoutes(app, vitals);
  },
});

/** The dashboard page, drill-down, live stream: read:vitals (raw events unmasked with read:events). */
export const dashboardPlugin = (deps: DashboardDeps): RolePlugin => ({
  name: 'dashboard',
  scope: 'read:vitals',
  register: (app: FastifyInstance) => registerDashboard(app, deps),
});

/** The goals API: person tokens (services/goals/auth.ts), checked by the auth layer through `authorize`. */
export const goalsPlugin = (goals: GoalsService): RolePlugin => ({
  name: 'goals',
  scope: 'goals',
  authorize: goalsCredentialCheck(goals),
  register(app: FastifyInstance) {
    registerGoalsRoutes(app, goals);
  },
});

export interface HttpAppDeps extends Omit<ServerDeps, 'plugins'> {
  ingest?: IngestService;
  ingestEdge?: IngestEdgeOptions;
  vitals?: VitalsDeps;
  goals?: GoalsService;
  dashboard?: DashboardDeps['options'];
  excuseRetroactiveMaintenance?: boolean;
}

/** The server with the plugins of whichever roles are given (tests and tools that assemble one by hand). */
export function buildHttpApp(deps: HttpAppDeps): Promise<FastifyInstance> {
  const plugins: RolePlugin[] = [];
  if (deps.ingest) plugins.push(ingestPlugin(deps.ingest, deps.ingestEdge));
  if (deps.vitals) {
    plugins.push(vitalsPlugin(deps.vitals));
    plugins.push(
      dashboardPlugin({
        store: deps.store,
        metrics: deps.metrics,
        model: deps.vitals.model,
        excuseRetroactiveMaintenance: deps.vitals.excuseRetroactiveMaintenance,
        log: deps.log,
        options: deps.dashboard,
      }),
    );
  }
  if (deps.goals) plugins.push(goalsPlugin(deps.goals));
  return buildServer({ ...deps, plugins });
}
