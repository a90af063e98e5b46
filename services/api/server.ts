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
import {
  type AuthLayerOptions,
  type CredentialCheck,
  installAuthLayer,
  type RouteScope,
  scopedPlugin,
} from '../shared/auth/layer.ts';
import { ReadTokens } from '../shared/auth/tokens.ts';
import type { Bus } from '../shared/bus/bus.ts';
import type { Logger } from '../shared/log.ts';
import type { Metrics } from '../shared/metrics.ts';
import type { Store } from '../shared/store/store.ts';
import { HttpError } from './errors.ts';
import { type ConsumerGroupProbe, registerProbes } from './probes.ts';

/**
 * The one HTTP server: the auth layer (shared/auth/layer.ts), /healthz, probes, /metrics
 * and the OpenAPI document at /api/v1/openapi.json generated from the zod schemas that
 * validate each route. The roles' routes (ingest, vitals, dashboard, goals) arrive as
 * plugins, each with the scope its routes need; this module knows none of them.
 */

/** A role's routes: registered in a context of their own, every route needing `scope` unless it declares one. */
export interface RolePlugin {
  name: string;
  scope: RouteScope;
  /**
   * The plugin's own credentials (ingest's source tokens, the goals' person tokens): the auth
   * layer calls it, in its onRequest hook, for every route of the plugin's scope. Throws
   * HttpError to refuse.
   */
  authorize?: CredentialCheck;
  register(app: FastifyInstance): Promise<void> | void;
}

export interface HttpLimits {
  /** Whole request (headers and body) must arrive within this (node's requestTimeout). */
  requestTimeoutMs: number;
  /** Headers must arrive within this (slow-header connections are closed). */
  headersTimeoutMs: number;
  /** A socket idle this long is closed. */
  connectionTimeoutMs: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  requestTimeoutMs: 60_000,
  headersTimeoutMs: 10_000,
  connectionTimeoutMs: 120_000,
};

export interface ServerDeps {
  bus: Bus;
  store: Store;
  metrics: Metrics;
  log: Logger;
  /** The roles this process serves, in registration order. */
  plugins?: RolePlugin[];
  bodyLimitBytes?: number;
  /** The aggregator's consumer-group membership, for /readyz (when this process runs it). */
  consumerGroup?: ConsumerGroupProbe;
  /** Read tokens, hosts, CORS, rate limits. Default: the process's demo read token, localhost only, no CORS. */
  auth?: Partial<AuthLayerOptions>;
  /** /metrics without a read:metrics token (CXV_METRICS_PUBLIC). */
  metricsPublic?: boolean;
  http?: Partial<HttpLimits>;
}

const healthBody = z.object({
  status: z.enum(['ok', 'unavailable']),
  bus: z.object({ ok: z.boolean(), client: z.string(), brokers: z.string(), detail: z.string() }).optional(),
  store: z.object({ ok: z.boolean(), mode: z.string(), location: z.string() }).optional(),
});

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const limits = { ...DEFAULT_HTTP_LIMITS, ...deps.http };
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    // Per-request logs would drown the structured log under dashboard polling; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.bodyLimitBytes ?? 10 * 1024 * 1024,
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.connectionTimeoutMs,
    // Node checks the header and request deadlines every connectionsCheckingInterval (30 s by default).
    http: {
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(fastifySwagger, {
    openapi: {
      // Read tokens, ingest tokens and goals person tokens are all bearer tokens (docs/security.md).
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
      info: {
        title: 'cxvitals API',
        version: '1.0.0',
        description:
          'Ingest customer-experience events; read KPIs, KQIs, CSI, Availability and Serviceability. Reads need a read token (`Authorization: Bearer`), see docs/security.md.',
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

  await installAuthLayer(app, {
    readTokens: deps.auth?.readTokens ?? ReadTokens.demo(),
    allowedHosts: deps.auth?.allowedHosts ?? [],
    corsOrigins: deps.auth?.corsOrigins ?? [],
    // Without settings (tests, tools) the limits are out of the way; the application passes CXV_RATE_LIMIT_*.
    rateLimit: deps.auth?.rateLimit ?? { perTokenPerMinute: 1_000_000, perAddressPerMinute: 1_000_000 },
    ...(deps.auth?.refusedTokenCacheMs !== undefined ? { refusedTokenCacheMs: deps.auth.refusedTokenCacheMs } : {}),
  });

  const typed = app.withTypeProvider<ZodTypeProvider>();

  typed.get(
    '/healthz',
    {
      config: { scope: 'public' },
      schema: {
        summary: 'Bus and store health (503 when either is down); the details only with a read token',
        response: { 200: healthBody, 503: healthBody },
      },
    },
    async (request, reply) => {
      const [bus, storeOk] = await Promise.all([deps.bus.health(), deps.store.ping()]);
      const ok = bus.ok && storeOk;
      const status = ok ? ('ok' as const) : ('unavailable' as const);
      reply.code(ok ? 200 : 503);
      // Broker addresses and data folders are for operators, not for whoever can reach the port.
      if (!request.principal) return { status };
      return {
        status,
        bus,
        store: { ok: storeOk, mode: deps.store.mode, location: deps.store.location },
      };
    },
  );

  registerProbes(app, deps);

  app.get(
    '/metrics',
    { config: { scope: deps.metricsPublic ? 'public' : 'read:metrics' }, schema: { hide: true } },
    async (_request, reply) => {
      reply.header('content-type', deps.metrics.registry.contentType);
      return deps.metrics.registry.metrics();
    },
  );

  for (const plugin of deps.plugins ?? []) {
    if (plugin.authorize && typeof plugin.scope === 'string') app.credentialChecks.set(plugin.scope, plugin.authorize);
    await app.register(scopedPlugin(plugin.scope, plugin.register));
  }

  app.get('/api/v1/openapi.json', { config: { scope: 'public' }, schema: { hide: true } }, async () => app.swagger());

  return app;
}
