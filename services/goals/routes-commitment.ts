import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { renderOverviewHtml } from './html.ts';
import { actorOf, flat, idParams, listOf, withVersion } from './http.ts';
import { acknowledgementSchema, commitmentSessionSchema, isoTime, overviewSchema } from './model.ts';
import type { GoalsService } from './service.ts';

/** Commitment sessions: the overview (JSON and printable HTML) and each staff member's acknowledgement. */

const session = withVersion(commitmentSessionSchema);

export function registerCommitmentRoutes(app: FastifyInstance, goals: GoalsService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const service = goals.commitments;

  r.get(
    '/api/v1/commitment-sessions',
    {
      schema: {
        querystring: z.object({
          cycleId: z.string().optional().describe('Only this planning cycle (default: every cycle the caller may read).'),
        }),
        response: { 200: listOf(session) },
      },
    },
    async (request) => ({ items: (await service.list(actorOf(request), request.query.cycleId)).map(flat) }),
  );
  r.get('/api/v1/commitment-sessions/:id', { schema: { params: idParams, response: { 200: session } } }, async (request) =>
    flat(await service.get(actorOf(request), request.params.id)),
  );
  r.post(
    '/api/v1/commitment-sessions',
    {
      schema: {
        summary: "Hold a commitment session (the department's manager or above): the overview is fixed now",
        body: z.object({
          cycleId: z.string(),
          departmentId: z.string(),
          heldAt: isoTime.optional(),
          staffIds: z.array(z.string()).optional(),
        }),
        response: { 201: session },
      },
    },
    async (request, reply) => reply.code(201).send(flat(await service.create(actorOf(request), request.body))),
  );
  r.get(
    '/api/v1/commitment-sessions/:id/overview',
    {
      schema: {
        summary: 'The overview document with who has acknowledged it',
        params: idParams,
        response: {
          200: z.object({
            sessionId: z.string(),
            heldAt: z.string(),
            overview: overviewSchema,
            acknowledgements: z.array(acknowledgementSchema),
            pending: z.array(z.string()),
          }),
        },
      },
    },
    async (request) => {
      const { value: s } = await service.get(actorOf(request), request.params.id);
      const acknowledged = new Set(s.acknowledgements.map((a) => a.personId));
      return {
        sessionId: s.id,
        heldAt: s.heldAt,
        overview: s.overview,
        acknowledgements: s.acknowledgements,
        pending: s.staffIds.filter((p) => !acknowledged.has(p)),
      };
    },
  );
  r.get(
    '/api/v1/commitment-sessions/:id/overview.html',
    { schema: { summary: 'The overview as a printable page', params: idParams } },
    async (request, reply) => {
      const { value } = await service.get(actorOf(request), request.params.id);
      return reply.type('text/html; charset=utf-8').send(renderOverviewHtml(value));
    },
  );
  r.post(
    '/api/v1/commitment-sessions/:id/acknowledgements',
    {
      schema: {
        summary: 'Acknowledge the overview (each listed staff member, once, for themselves)',
        params: idParams,
        body: z.object({ comment: z.string().max(2000).optional() }).optional(),
        response: { 201: session },
      },
    },
    async (request, reply) =>
      reply.code(201).send(flat(await service.acknowledge(actorOf(request), request.params.id, request.body?.comment))),
  );
}
