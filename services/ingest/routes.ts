import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HttpError } from '../api/errors.ts';
import { BusError } from '../shared/bus/bus.ts';
import { isSourceName, sourceNames } from '../shared/sources/registry.ts';
import { parseEventsBody } from './body.ts';
import type { IngestService } from './ingest.ts';

/**
 * `POST /api/v1/events/{source}`: a JSON array (or one object) or NDJSON. Each event is
 * checked on its own: valid events are produced even when others in the same body
 * are not, and the answer lists every bad event by index and field path (400 when
 * any was refused, 200 when all were accepted). Kafka down or slow → 503 with
 * Retry-After, and nothing of that body was accepted.
 */

const ingestResponse = z.object({
  code: z.string(),
  message: z.string(),
  source: z.string(),
  received: z.number().int(),
  accepted: z.number().int(),
  rejected: z.number().int(),
  errors: z.array(z.object({ index: z.number().int(), field: z.string(), code: z.string(), message: z.string() })),
});

export function registerIngestRoutes(app: FastifyInstance, ingest: IngestService): void {
  // Scoped: in this plugin the body arrives as text, so a body that is not JSON is
  // counted and answered like any other bad event instead of failing before the route.
  app.register(async (scope) => {
    scope.removeContentTypeParser(['application/json']);
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
        schema: {
          summary: 'Ingest events of one source (JSON array, one object, or NDJSON)',
          params: z.object({ source: z.string() }),
          response: { 200: ingestResponse, 400: ingestResponse },
        },
      },
      async (request, reply) => {
        const { source } = request.params;
        if (!isSourceName(source)) {
          throw new HttpError(404, 'UNKNOWN_SOURCE', `No source named "${source}". Known sources: ${sourceNames.join(', ')}.`, [
            { field: 'source', message: `must be one of ${sourceNames.join(', ')}` },
          ]);
        }
        const raw = request.body as { format: 'json' | 'ndjson'; text: string } | undefined;
        if (!raw || typeof raw.text !== 'string') {
          throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send application/json or application/x-ndjson.');
        }
        const body = parseEventsBody(raw.text, raw.format);
        try {
          const result = await ingest.ingest(source, body);
          const ok = result.rejected === 0;
          return reply.code(ok ? 200 : 400).send({
            code: ok ? 'ACCEPTED' : 'INVALID_EVENTS',
            message: ok
              ? `${result.accepted} event(s) accepted`
              : `${result.rejected} of ${result.received} event(s) rejected (see errors); ${result.accepted} accepted`,
            ...result,
          });
        } catch (err) {
          if (err instanceof BusError) {
            throw new HttpError(
              503,
              'BUS_UNAVAILABLE',
              `Kafka did not acknowledge the events; nothing was accepted. Retry later. (${err.message})`,
              undefined,
              { 'retry-after': '5' },
            );
          }
          throw err;
        }
      },
    );
  });
}
