import fastifySwagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type DashboardOptions, registerDashboard } from '../dashboard/index.ts';
import { type GoalsService, registerGoalsRoutes } from '../goals/routes.ts';
import type { IngestService } from '../ingest/ingest.ts';
import { type IngestEdgeOptions, registerIngestRoutes } from '../ingest/routes.ts';
import type { Bus } from '../shared/bus/bus.ts';
import type { Logger } from '../shared/log.ts';
import type { Metrics } from '../shared/metrics.ts';
import type { Store } from '../shared/store/store.ts';
import { readAvailability } from './availability.ts';
import { HttpError } from './errors.ts';
import { type ConsumerGroupProbe, registerProbes } from './probes.ts';
import { checkRange, instant, step } from './time-params.ts';
import { registerVitalsRoutes, type VitalsDeps } from './vitals-routes.ts';

/**
 * The one HTTP server: /healthz, /metrics, the ingest routes and the read API under
 * /api/v1, with an OpenAPI document at /api/v1/openapi.json generated from the same
 * zod schemas that validate each route.
 */

export interface ServerDeps {
  bus: Bus;
  store: Store;
  metrics: Metrics;
  /** The ingest path, when this process takes events. */
  ingest?: IngestService;
  log: Logger;
  excuseRetroactiveMaintenance: boolean;
  /** The KPI/KQI/CSI reads, when this process serves them. */
  vitals?: VitalsDeps;
  /** The goals service (action-planning cycle), when this process runs it. */
  goals?: GoalsService;
  bodyLimitBytes?: number;
  /** Ingest tokens and body limit (config.ingest); without it, the process's demo token guards ingest. */
  ingestEdge?: IngestEdgeOptions;
  /** The aggregator's consumer-group membership, for /readyz (when this process runs it). */
  consumerGroup?: ConsumerGroupProbe;
  /** Dashboard tuning (tests shorten the intervals); defaults in services/dashboard/index.ts. */
  dashboard?: Partial<DashboardOptions>;
}

const healthBody = z.object({
  status: z.enum(['ok', 'unavailable']),
  bus: z.object({ ok: z.boolean(), client: z.string(), brokers: z.string(), detail: z.string() }),
  store: z.object({ ok: z.boolean(), mode: z.string(), location: z.string() }),
});

const boolParam = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    // Per-request logs would drown the structured log under dashboard polling; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.bodyLimitBytes ?? 10 * 1024 * 1024,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'cxvitals API',
        version: '1.0.0',
        description: 'Ingest customer-experience events; read Availability, Serviceability and (later) KPIs, KQIs and CSI.',
      },
    },
    transform: jsonSchemaTransform,
  });

  app.setErrorHandler((err, request, reply) => {
    if (err instanceof HttpError) {
      if (err.headers) reply.headers(err.headers);
      return reply.code(err.statusCode).send({ code: err.code, message: err.message, errors: err.errors });
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      return reply.code(400).send({
        code: 'INVALID_REQUEST',
        message: `Invalid ${err.validationContext ?? 'request'}: see errors`,
        errors: err.validation.map((v) => ({
          field: [err.validationContext, ...String(v.instancePath).split('/').filter(Boolean)].filter(Boolean).join('.'),
          message: v.message ?? 'invalid',
        })),
      });
    }
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    if (status < 500) {
      const code = status === 413 ? 'BODY_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_REQUEST';
      const message =
        status === 415
          ? 'Unsupported content type: send application/json or application/x-ndjson.'
          : status === 413
            ? `Request body over the limit of ${request.routeOptions.bodyLimit} bytes: split it into smaller batches.`
            : (err as Error).message;
      return reply.code(status).send({ code, message });
    }
    request.log.error({ err }, 'request failed');
    return reply.code(500).send({ code: 'INTERNAL', message: 'Internal error; the server log has the details.' });
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      code: 'NOT_FOUND',
      message: `No route ${request.method} ${(request.url.split('?')[0] ?? '').slice(0, 200)}; the API is described at /api/v1/openapi.json.`,
    }),
  );

  const typed = app.withTypeProvider<ZodTypeProvider>();

  typed.get(
    '/healthz',
    { schema: { summary: 'Bus and store health (503 when either is down)', response: { 200: healthBody, 503: healthBody } } },
    async (_request, reply) => {
      const [bus, storeOk] = await Promise.all([deps.bus.health(), deps.store.ping()]);
      const ok = bus.ok && storeOk;
      return reply.code(ok ? 200 : 503).send({
        status: ok ? 'ok' : 'unavailable',
        bus,
        store: { ok: storeOk, mode: deps.store.mode, location: deps.store.location },
      });
    },
  );

  registerProbes(app, deps);

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });

  if (deps.ingest) registerIngestRoutes(app, deps.ingest, deps.ingestEdge);

  typed.get(
    '/api/v1/availability',
    {
      schema: {
        summary:
          'Availability and Serviceability per bucket, with the counts behind them and the maintenance that touched the range',
        querystring: z.object({
          service: z.string().min(1).max(128),
          region: z.string().min(1).max(128).optional(),
          from: instant.optional(),
          to: instant.optional(),
          step: step.default(60),
          excuseRetroactive: boolParam.optional(),
        }),
      },
    },
    async (request) => {
      const q = request.query;
      const to = q.to ?? Date.now();
      const from = q.from ?? to - 3600_000;
      const problem = checkRange(from, to, q.step);
      if (problem)
        throw new HttpError(400, 'INVALID_REQUEST', `Invalid querystring: ${problem.field} ${problem.message}`, [problem]);
      return readAvailability(deps.store, {
        service: q.service,
        region: q.region,
        from,
        to,
        stepSec: q.step,
        excuseRetroactive: q.excuseRetroactive ?? deps.excuseRetroactiveMaintenance,
      });
    },
  );

  if (deps.vitals) registerVitalsRoutes(app, deps.vitals);
  // The vital-signs dashboard at / (services/dashboard): page, drill-down, live stream, business gauges.
  if (deps.vitals) {
    await registerDashboard(app, {
      store: deps.store,
      metrics: deps.metrics,
      model: deps.vitals.model,
      excuseRetroactiveMaintenance: deps.vitals.excuseRetroactiveMaintenance,
      log: deps.log,
      options: deps.dashboard,
    });
  }
  if (deps.goals) registerGoalsRoutes(app, deps.goals);

  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  return app;
}
