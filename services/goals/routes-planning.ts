import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf, flat, idParams, listOf, versionBody, withVersion } from './http.ts';
import {
  cycleResultSchema,
  cycleSchema,
  feedSchema,
  isoTime,
  orgGoalSchema,
  strategySessionSchema,
  successMetricSchema,
} from './model.ts';
import type { GoalsService } from './service.ts';

/** Cycles, strategy sessions, organisation goals, and starting the next cycle. */

const cycle = withVersion(cycleSchema);
const session = withVersion(strategySessionSchema);
const orgGoal = withVersion(orgGoalSchema);
const cycleQuery = z.object({
  cycleId: z.string().optional().describe('Only this planning cycle (default: every cycle the caller may read).'),
});
const orgGoalBody = z.object({
  strategySessionId: z.string(),
  title: z.string().trim().min(1).max(200),
  description: z.string().max(20_000).optional(),
  ownerId: z.string(),
  metric: successMetricSchema,
});

export function registerPlanningRoutes(app: FastifyInstance, goals: GoalsService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const planning = goals.planning;

  r.get('/api/v1/cycles', { schema: { summary: 'Planning cycles', response: { 200: listOf(cycle) } } }, async () => ({
    items: (await planning.listCycles()).map(flat),
  }));
  r.get('/api/v1/cycles/:id', { schema: { params: idParams, response: { 200: cycle } } }, async (request) =>
    flat(await planning.getCycle(request.params.id)),
  );
  r.post(
    '/api/v1/cycles',
    {
      schema: {
        summary: 'Open a planning cycle (planner)',
        body: z.object({
          id: z
            .string()
            .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/)
            .optional(),
          name: z.string().trim().min(1).max(200),
          startsAt: isoTime,
          endsAt: isoTime,
        }),
        response: { 201: cycle },
      },
    },
    async (request, reply) => reply.code(201).send(flat(await planning.createCycle(actorOf(request), request.body))),
  );
  r.post(
    '/api/v1/cycles/:id/next',
    {
      schema: {
        summary:
          'Close this cycle and start the next from its results (planner): goals judged, compared, open ones carried forward',
        params: idParams,
        body: z.object({
          id: z
            .string()
            .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/)
            .optional()
            .describe('Id of the new cycle; used as given, or 409 ALREADY_EXISTS'),
          name: z.string().trim().min(1).max(200),
          startsAt: isoTime.optional(),
          endsAt: isoTime.optional(),
          version: versionBody.optional(),
        }),
        response: {
          201: z.object({
            cycle,
            previousCycle: cycle,
            results: z.array(cycleResultSchema),
            summary: z.object({
              achieved: z.number().int(),
              missed: z.number().int(),
              notMeasured: z.number().int(),
              notStarted: z.number().int(),
              carriedForward: z.number().int(),
              carriedActions: z.number().int(),
            }),
          }),
        },
      },
    },
    async (request, reply) => {
      const result = await goals.nextCycle(actorOf(request), request.params.id, request.body);
      return reply.code(201).send({ ...result, cycle: flat(result.cycle), previousCycle: flat(result.previousCycle) });
    },
  );

  r.get(
    '/api/v1/strategy-sessions',
    { schema: { querystring: cycleQuery, response: { 200: listOf(session) } } },
    async (request) => ({
      items: (await planning.listStrategySessions(request.query.cycleId)).map(flat),
    }),
  );
  r.get('/api/v1/strategy-sessions/:id', { schema: { params: idParams, response: { 200: session } } }, async (request) =>
    flat(await planning.getStrategySession(request.params.id)),
  );
  r.post(
    '/api/v1/strategy-sessions',
    {
      schema: {
        summary: 'Record a strategy session (planner): when, who, and the data baseline seen, read from the feeds at that time',
        body: z.object({
          cycleId: z.string(),
          heldAt: isoTime.optional(),
          participantIds: z.array(z.string()).min(1),
          notes: z.string().max(20_000).optional(),
          baseline: z
            .array(z.object({ label: z.string().trim().min(1).max(200), feed: feedSchema, lookback: z.string() }))
            .max(50)
            .default([]),
        }),
        response: { 201: session },
      },
    },
    async (request, reply) => reply.code(201).send(flat(await planning.createStrategySession(actorOf(request), request.body))),
  );

  r.get(
    '/api/v1/org-goals',
    { schema: { summary: 'Organisation goals', querystring: cycleQuery, response: { 200: listOf(orgGoal) } } },
    async (request) => ({
      items: (await planning.listOrgGoals(request.query.cycleId)).map(flat),
    }),
  );
  r.get('/api/v1/org-goals/:id', { schema: { params: idParams, response: { 200: orgGoal } } }, async (request) =>
    flat(await planning.getOrgGoal(request.params.id)),
  );
  r.post(
    '/api/v1/org-goals',
    {
      schema: {
        summary: 'Set an organisation goal from a strategy session (planner); its baseline is read from the feed now',
        body: orgGoalBody,
        response: { 201: orgGoal },
      },
    },
    async (request, reply) => reply.code(201).send(flat(await planning.createOrgGoal(actorOf(request), request.body))),
  );
  r.patch(
    '/api/v1/org-goals/:id',
    {
      schema: {
        summary: 'Change an organisation goal (planner); send the version you read',
        params: idParams,
        body: orgGoalBody.omit({ strategySessionId: true }).partial().extend({ version: versionBody }),
        response: { 200: orgGoal },
      },
    },
    async (request) => {
      const { version, ...patch } = request.body;
      return flat(await planning.updateOrgGoal(actorOf(request), request.params.id, version, patch));
    },
  );
}
