import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HttpError } from '../api/errors.ts';
import type { RolePlugin } from '../api/server.ts';
import { filterParams, rangeParams } from '../api/time-params.ts';
import type { CxModel } from '../model/types.ts';
import type { Store } from '../shared/store/store.ts';
import { readIncident, readIncidents, readTimeline, type StoredIncident } from './repository.ts';
import { DEFAULT_INCIDENT_SETTINGS } from './settings.ts';

/**
 * GET /api/v1/incidents and GET /api/v1/incidents/{id} (with its evidence: every signal's
 * score per minute from before its start to its resolution). read:vitals, like the vitals
 * they are derived from.
 */

export interface IncidentRouteDeps {
  store: Store;
  model: () => CxModel;
  now?: () => number;
}

const MINUTE = 60_000;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** An incident as the API shows it: instants in ISO-8601, lead/lag in minutes. */
export function incidentView(i: StoredIncident) {
  return {
    id: i.id,
    service: i.service,
    region: i.region,
    status: i.status,
    start: iso(i.start),
    openedAt: iso(i.openedAt),
    resolvedAt: iso(i.resolvedAt),
    lastAnomalous: iso(i.lastAnomalous),
    trigger: i.trigger,
    signals: i.signals.map((s) => ({
      signal: s.signal,
      kind: s.kind,
      firstAnomalous: iso(s.firstAnomalous),
      lagMinutes: s.lagMinutes,
      anomalousMinutes: s.anomalousMinutes,
      peak: { ...s.peak, minute: iso(s.peak.minute) },
    })),
    maintenance: i.maintenance,
    customersAffected: i.customersAffected,
  };
}

export function registerIncidentRoutes(app: FastifyInstance, deps: IncidentRouteDeps): void {
  const now = deps.now ?? Date.now;
  const typed = app.withTypeProvider<ZodTypeProvider>();
  typed.get(
    '/api/v1/incidents',
    {
      schema: {
        summary: 'Incidents (early warning across signals), newest first: those active at some time in [from, to)',
        querystring: z.object({
          service: filterParams.service,
          region: filterParams.region,
          status: z.enum(['open', 'resolved']).optional().describe('open or resolved (default: both).'),
          ...rangeParams,
          limit: z.coerce
            .number()
            .int()
            .min(1)
            .max(1000)
            .default(200)
            .describe('At most this many incidents (1-1000, default 200).'),
        }),
      },
    },
    async (request) => {
      const q = request.query;
      const to = q.to ?? now();
      const from = q.from ?? to - 24 * 3600_000;
      if (to <= from)
        throw new HttpError(400, 'INVALID_REQUEST', 'Invalid querystring: to must be after from', [
          { field: 'to', message: 'must be after from' },
        ]);
      const incidents = await readIncidents(deps.store, {
        service: q.service,
        region: q.region,
        status: q.status,
        from,
        to,
        limit: q.limit,
      });
      return { from: iso(from), to: iso(to), incidents: incidents.map(incidentView) };
    },
  );

  typed.get(
    '/api/v1/incidents/:id',
    {
      schema: {
        summary:
          'One incident with its evidence timeline: every signal per minute, value against baseline, from before its start to its resolution',
        params: z.object({ id: z.string().regex(/^[0-9a-f]{16}$/, { message: 'must be an incident id (16 hex digits)' }) }),
      },
    },
    async (request) => {
      const incident = await readIncident(deps.store, request.params.id);
      if (!incident)
        throw new HttpError(
          404,
          'INCIDENT_NOT_FOUND',
          `No incident ${request.params.id}; GET /api/v1/incidents lists the incidents (ids are kept as long as the incidents table keeps them).`,
        );
      const settings = deps.model().incidents ?? DEFAULT_INCIDENT_SETTINGS;
      const from = incident.start - (settings.lookbackMinutes + 5) * MINUTE;
      const to = (incident.resolvedAt ?? Math.max(incident.lastAnomalous + MINUTE, incident.version + MINUTE)) + 5 * MINUTE;
      const timeline = await readTimeline(deps.store, incident, from, to);
      return { ...incidentView(incident), timeline: { from: iso(from), to: iso(to), minutes: timeline } };
    },
  );
}

/** The incidents API as a role plugin (registered with the read API). */
export const incidentsPlugin = (deps: IncidentRouteDeps): RolePlugin => ({
  name: 'incidents',
  scope: 'read:vitals',
  register: (app: FastifyInstance) => registerIncidentRoutes(app, deps),
});
