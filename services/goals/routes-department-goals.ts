import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf, flat, idParams, listOf, versionBody, withVersion } from './http.ts';
import {
  actionMetricSchema,
  actionSchema,
  actionStatuses,
  deptGoalSchema,
  deptGoalStatuses,
  isoTime,
  successMetricSchema,
} from './model.ts';
import type { GoalsService } from './service.ts';

/** Department goals, their lifecycle transitions, verification requests and actions. */

const goal = withVersion(deptGoalSchema);
const action = withVersion(actionSchema);
const goalBody = z.object({
  orgGoalId: z.string(),
  departmentId: z.string(),
  title: z.string().trim().min(1).max(200),
  description: z.string().max(20_000).optional(),
  ownerId: z.string().optional(),
  metric: successMetricSchema,
});
const transitionBody = z
  .object({
    /** When given, must be the current version (409 STALE_VERSION otherwise). */
    version: versionBody.optional(),
    comment: z.string().max(5000).optional(),
  })
  .optional();
const actionBody = z.object({
  title: z.string().trim().min(1).max(200),
  ownerId: z.string(),
  ownerOutsideDepartment: z.boolean().optional().describe("Allow an owner from outside the goal's department"),
  dueDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { message: 'must be a date YYYY-MM-DD' }),
  status: z.enum(actionStatuses).optional(),
  metric: actionMetricSchema.optional().describe("The action's own metric (any feed) and target; default: the goal's feed"),
  window: actionSchema.shape.window.optional().describe('Length of the equal before/after windows (default 7d)'),
  startedAt: isoTime.optional().describe('When the action began (default now); the before-window ends here'),
  doneAt: isoTime.optional().describe('With status done: when it was done (default now); the after-window starts here'),
});
const actionPatch = actionBody.omit({ metric: true, window: true, startedAt: true }).partial().extend({ version: versionBody });

const TRANSITION_SUMMARY = {
  submit: 'Send a draft or rejected goal to the up-line manager for verification (department members and managers above)',
  verify: 'Verify a submitted goal (the up-line manager or someone above; never the author or owner)',
  reject: 'Reject a submitted goal with a comment (the up-line manager or someone above; never the author or owner)',
  activate: 'Activate a verified goal (the department manager or someone above)',
} as const;

export function registerDepartmentGoalRoutes(app: FastifyInstance, goals: GoalsService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const service = goals.departmentGoals;

  r.get(
    '/api/v1/department-goals',
    {
      schema: {
        summary: 'Department goals the caller may read',
        querystring: z.object({
          cycleId: z.string().optional().describe('Only this planning cycle (default: every cycle the caller may read).'),
          departmentId: z
            .string()
            .optional()
            .describe('Only goals of this department (default: every department the caller may read).'),
          status: z.enum(deptGoalStatuses).optional().describe('Only goals in this status (default: any).'),
        }),
        response: { 200: listOf(goal) },
      },
    },
    async (request) => ({ items: (await service.list(actorOf(request), request.query)).map(flat) }),
  );
  r.get('/api/v1/department-goals/:id', { schema: { params: idParams, response: { 200: goal } } }, async (request) =>
    flat(await service.get(actorOf(request), request.params.id)),
  );
  r.post(
    '/api/v1/department-goals',
    {
      schema: {
        summary: 'Draft a department goal tied to an organisation goal; its baseline is read from the feed now',
        body: goalBody,
        response: { 201: goal },
      },
    },
    async (request, reply) => reply.code(201).send(flat(await service.create(actorOf(request), request.body))),
  );
  r.patch(
    '/api/v1/department-goals/:id',
    {
      schema: {
        summary: 'Edit a draft or rejected goal; send the version you read (409 STALE_VERSION if it changed)',
        params: idParams,
        body: goalBody.omit({ orgGoalId: true, departmentId: true }).partial().extend({ version: versionBody }),
        response: { 200: goal },
      },
    },
    async (request) => {
      const { version, ...patch } = request.body;
      return flat(await service.update(actorOf(request), request.params.id, version, patch));
    },
  );
  for (const transition of ['submit', 'verify', 'reject', 'activate'] as const) {
    r.post(
      `/api/v1/department-goals/:id/${transition}`,
      { schema: { summary: TRANSITION_SUMMARY[transition], params: idParams, body: transitionBody, response: { 200: goal } } },
      async (request) =>
        flat(
          await service.transition(actorOf(request), request.params.id, transition, {
            version: request.body?.version,
            comment: request.body?.comment,
          }),
        ),
    );
  }
  r.get(
    '/api/v1/verification-requests',
    { schema: { summary: 'Submitted goals waiting for the caller to verify or reject', response: { 200: listOf(goal) } } },
    async (request) => ({ items: (await service.verificationRequests(actorOf(request))).map(flat) }),
  );

  r.get(
    '/api/v1/department-goals/:id/actions',
    { schema: { summary: 'Actions recorded against a goal', params: idParams, response: { 200: listOf(action) } } },
    async (request) => ({ items: (await service.listActions(actorOf(request), request.params.id)).map(flat) }),
  );
  r.post(
    '/api/v1/department-goals/:id/actions',
    {
      schema: {
        summary: 'Record a measurable action against a verified or active goal; the metric before is read now',
        params: idParams,
        body: actionBody,
        response: { 201: action },
      },
    },
    async (request, reply) =>
      reply.code(201).send(flat(await service.createAction(actorOf(request), request.params.id, request.body))),
  );
  r.get(
    '/api/v1/actions/:id',
    { schema: { summary: 'One action (its owner, or whoever may read its goal)', params: idParams, response: { 200: action } } },
    async (request) => flat(await service.getAction(actorOf(request), request.params.id)),
  );
  r.patch(
    '/api/v1/actions/:id',
    {
      schema: {
        summary: 'Update an action (status done reads the metric after); send the version you read',
        params: idParams,
        body: actionPatch,
        response: { 200: action },
      },
    },
    async (request) => {
      const { version, ...patch } = request.body;
      return flat(await service.updateAction(actorOf(request), request.params.id, version, patch));
    },
  );
}
