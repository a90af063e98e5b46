import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBody, HttpError } from '../api/errors.ts';
import { BusError } from '../shared/bus/bus.ts';
import { isSourceName, sourceNames } from '../shared/sources/registry.ts';
import { IngestAuth, mayBackdate } from './auth.ts';
import { countEventsUpTo, parseEventsBody } from './body.ts';
import { IngestCapacityError } from './capacity.ts';
import type { IngestService } from './ingest.ts';
import { ingestStatsBody } from './stats.ts';

/**
 * `POST /api/v1/events/{source}[?backfill=true]`: a JSON array (or one object) or
 * NDJSON. In order: the bearer token (401 / 403, before the body is read), the source
 * (404), the content type (415) and size (413); then each event is checked on its own:
 * valid events are produced even when others in the same body are not, and the answer
 * lists every bad event by index and field path (400 when any was refused, 200 when
 * all were accepted). Over the in-flight bound, or the aggregator too far behind on
 * the topic (backlog.ts) → 429, Kafka down or slow → 503, all with Retry-After, and
 * nothing of that body was accepted.
 */

/** Seconds a sender should wait after a 503 (Kafka down or slow). */
export const BUS_RETRY_AFTER_SEC = 5;

const fieldError = z.object({ index: z.number().int(), field: z.string(), code: z.string(), message: z.string() });

const ingestResponse = z.object({
  code: z.string(),
  message: z.string(),
  source: z.string(),
  topic: z.string(),
  received: z.number().int(),
  accepted: z.number().int(),
  rejected: z.number().int(),
  errors: z.array(fieldError),
  errorsOmitted: z.number().int().describe('field errors beyond the first 1000, not listed'),
  corrected: z
    .number()
    .int()
    .optional()
    .describe('of accepted: eventIds seen before with other content, which replace their earlier version (docs/corrections.md)'),
  duplicate: z
    .number()
    .int()
    .optional()
    .describe('of accepted: eventIds seen before with the same content, which change nothing'),
  classified: z
    .boolean()
    .optional()
    .describe(
      'whether `corrected` and `duplicate` are given: false when the store did not tell within CXV_INGEST_VERSION_LOOKUP_MS of the request (the events are accepted all the same; GET /api/v1/ingest/stats `aggregated` has the verdict)',
    ),
});

const UNSUPPORTED_MEDIA_TYPE = 'Unsupported content type: send application/json or application/x-ndjson.';

const flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export interface IngestEdgeOptions {
  /** Who may post what. Default: the process's demo token, for every source (see auth.ts). */
  auth?: IngestAuth;
  /** Largest request body in bytes (CXV_INGEST_MAX_BODY_BYTES). Default: the server's body limit. */
  maxBodyBytes?: number;
}

/**
 * The ingest edge: its routes, and the check of its source tokens that the auth layer
 * (shared/auth/layer.ts) runs for every route of scope `ingest`, in its onRequest hook:
 * before the body is read, so an unauthorised sender costs no parsing.
 */
export interface IngestEdge {
  authorize(request: FastifyRequest): void;
  register(app: FastifyInstance): void;
}

export function ingestEdge(ingest: IngestService, edge: IngestEdgeOptions = {}): IngestEdge {
  const auth = edge.auth ?? IngestAuth.demo();
  /** Per request, from its token: whether maintenance it posts may be declared before receipt. */
  const backdating = new WeakMap<object, boolean>();
  return {
    authorize(request) {
      const source = (request.params as { source?: string }).source ?? '';
      const decision = auth.authorize(request.headers.authorization, source);
      if (!decision.ok) throw new HttpError(decision.status, decision.code, decision.message, undefined, decision.headers);
      backdating.set(request, mayBackdate(decision));
      if (!isSourceName(source)) throw unknownSource(source);
    },
    register: (app) => registerIngestRoutes(app, ingest, edge, backdating),
  };
}

function registerIngestRoutes(
  app: FastifyInstance,
  ingest: IngestService,
  edge: IngestEdgeOptions,
  backdating: WeakMap<object, boolean>,
): void {
  // Scoped: in this plugin the body arrives as text, so a body that is not JSON is
  // counted and answered like any other bad event instead of failing before the route.
  app.register(async (scope) => {
    // Only ours: any other type (text/plain included) is a 415 before the body is read.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(['application/json'], { parseAs: 'string' }, (_req, body, done) =>
      done(null, { format: 'json', text: body as string }),
    );
    scope.addContentTypeParser(
      ['application/x-ndjson', 'application/ndjson', 'application/jsonl'],
      { parseAs: 'string' },
      (_req, body, done) => done(null, { format: 'ndjson', text: body as string }),
    );
    scope.withTypeProvider<ZodTypeProvider>().post(
      '/api/v1/events/:source',
      {
        ...(edge.maxBodyBytes !== undefined ? { bodyLimit: edge.maxBodyBytes } : {}),
        schema: {
          summary: 'Ingest events of one source (JSON array, one object, or NDJSON)',
          description:
            'Needs `Authorization: Bearer <token>`. `backfill=true` sends the events to `cx.<source>.backfill.v1` (history replay).',
          params: z.object({ source: z.string() }),
          querystring: z.object({
            backfill: flag
              .optional()
              .describe(
                'true: history replay, to cx.<source>.backfill.v1 (windows follow the events’ own times). Default: live.',
              ),
          }),
          response: {
            200: ingestResponse,
            400: z.union([ingestResponse, errorBody]),
            401: errorBody,
            403: errorBody,
            404: errorBody,
            413: errorBody,
            415: errorBody,
            429: errorBody,
            503: errorBody,
          },
        },
      },
      async (request, reply) => {
        const { source } = request.params;
        if (!isSourceName(source)) throw unknownSource(source);
        const raw = request.body as { format: 'json' | 'ndjson'; text: string } | undefined;
        if (!raw || typeof raw.text !== 'string') {
          throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', UNSUPPORTED_MEDIA_TYPE);
        }
        refuseOversizedBatch(raw.text, raw.format, ingest.capacity.max);
        const body = parseEventsBody(raw.text, raw.format);
        try {
          const result = await ingest.ingest(source, body, {
            backfill: request.query.backfill ?? false,
            classify: true,
            mayBackdate: backdating.get(request) ?? false,
          });
          const ok = result.rejected === 0;
          return reply.code(ok ? 200 : 400).send({
            code: ok ? 'ACCEPTED' : 'INVALID_EVENTS',
            message: ok
              ? `${result.accepted} event(s) accepted`
              : `${result.rejected} of ${result.received} event(s) rejected (see errors); ${result.accepted} accepted`,
            ...result,
          });
        } catch (err) {
          throw toHttpError(err);
        }
      },
    );
    scope.withTypeProvider<ZodTypeProvider>().delete(
      '/api/v1/events/:source/:eventId',
      {
        schema: {
          summary: 'Retract one event: it is taken out of every window and KPI it counted in',
          description:
            'Needs `Authorization: Bearer <token>` with the source’s ingest scope. Answers 202 once Kafka has the retraction; ' +
            'the aggregator applies it exactly once (`retracted` in /api/v1/ingest/stats), within CXV_CORRECTION_HORIZON_MS of the ' +
            'event’s first arrival (later: late_events, reason correction_past_horizon). See docs/corrections.md.',
          params: z.object({
            source: z.string().describe('the source the event was sent to'),
            eventId: z.string().min(1).describe('the eventId of the event to retract'),
          }),
          response: {
            202: z.object({ code: z.string(), message: z.string(), source: z.string(), eventId: z.string(), topic: z.string() }),
            401: errorBody,
            403: errorBody,
            404: errorBody,
            429: errorBody,
            503: errorBody,
          },
        },
      },
      async (request, reply) => {
        const { source, eventId } = request.params;
        if (!isSourceName(source)) throw unknownSource(source);
        try {
          const { topic } = await ingest.retract(source, eventId);
          return reply.code(202).send({
            code: 'RETRACTION_ACCEPTED',
            message: `Retraction of ${source} event ${eventId} accepted; the aggregator takes it out of its windows.`,
            source,
            eventId,
            topic,
          });
        } catch (err) {
          throw toHttpError(err);
        }
      },
    );
  });

  app.withTypeProvider<ZodTypeProvider>().get(
    '/api/v1/ingest/stats',
    {
      schema: {
        summary: 'Events received, accepted, rejected (by reason) and dead-lettered per source, since this process started',
        response: { 200: ingestStatsBody },
      },
    },
    async () => ingest.stats(),
  );
}

/** Counted before parsing: a body of more events than one request may carry is refused without building them. */
function refuseOversizedBatch(text: string, format: 'json' | 'ndjson', max: number): void {
  if (countEventsUpTo(text, format, max) > max) {
    throw new HttpError(
      413,
      'BATCH_TOO_LARGE',
      `The body holds more than ${max} events; one request may carry at most ${max} (CXV_INGEST_MAX_IN_FLIGHT_EVENTS). Split it into smaller batches.`,
    );
  }
}

const unknownSource = (source: string) =>
  new HttpError(404, 'UNKNOWN_SOURCE', `No source named "${source}". Known sources: ${sourceNames.join(', ')}.`, [
    { field: 'source', message: `must be one of ${sourceNames.join(', ')}` },
  ]);

function toHttpError(err: unknown): unknown {
  if (err instanceof IngestCapacityError) {
    return err.code === 'BATCH_TOO_LARGE'
      ? new HttpError(413, err.code, err.message)
      : new HttpError(429, err.code, err.message, undefined, { 'retry-after': String(err.retryAfterSec) });
  }
  if (err instanceof BusError) {
    return new HttpError(
      503,
      'BUS_UNAVAILABLE',
      `Kafka did not acknowledge the events; nothing was accepted. Resend the body after Retry-After. (${err.message})`,
      undefined,
      { 'retry-after': String(BUS_RETRY_AFTER_SEC) },
    );
  }
  return err;
}
