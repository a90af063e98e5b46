import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { instant } from '../api/time-params.ts';
import { renderTrendHtml } from './html.ts';
import { actorOf, changeRecordSchema, evaluationRecordSchema, idParams, listOf, signedInActor } from './http.ts';
import { actionSchema, cycleSchema, deptGoalSchema, entityKinds, orgGoalSchema, versionFields } from './model.ts';
import type { GoalsService } from './service.ts';

/** A goal's page (trend against target), its evaluation history and audit trail, and the alert rules. */

const goalPage = z.object({
  kind: z.enum(['org', 'department']),
  goal: z.union([deptGoalSchema.extend(versionFields), orgGoalSchema.extend(versionFields)]),
  cycle: cycleSchema,
  evaluation: evaluationRecordSchema,
  trend: z.object({ stepMs: z.number().int(), points: z.array(z.object({ t: z.string(), value: z.number().nullable() })) }),
  actions: z.array(actionSchema.extend(versionFields)),
  departmentGoalIds: z.array(z.string()),
});

export function registerEvaluationRoutes(app: FastifyInstance, goals: GoalsService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/api/v1/goals/alert-rules',
    { schema: { summary: 'Prometheus alert rules generated for every evaluated goal the caller may read (YAML)' } },
    async (request, reply) => reply.type('application/yaml; charset=utf-8').send(await goals.alertRulesYaml(actorOf(request))),
  );
  r.get(
    '/api/v1/goals/strip',
    {
      config: { goalsSignInOptional: true },
      schema: {
        summary:
          "The dashboard's goal strip: the open cycle's goals the caller may read, with title, status and page. A browser not signed in to the goals gets signedIn false and no goals (the dashboard then shows counts only)",
        response: {
          200: listOf(
            z.object({
              id: z.string(),
              kind: z.enum(['org', 'department']),
              title: z.string(),
              departmentId: z.string().nullable(),
              cycleId: z.string(),
              lifecycle: z.string(),
              status: z.string().nullable(),
              value: z.number().nullable(),
              valueText: z.string(),
              targetText: z.string(),
              reason: z.string().nullable(),
              page: z.string(),
            }),
          ).extend({ signedIn: z.boolean().describe('whether the caller is signed in to the goals') }),
        },
      },
    },
    async (request) => {
      const actor = signedInActor(request);
      return { signedIn: actor !== undefined, items: actor ? await goals.strip(actor) : [] };
    },
  );
  r.get(
    '/api/v1/goals/:id',
    {
      schema: {
        summary: "A goal's page: the metric's trend against its target, the evaluation now, its actions",
        params: idParams,
        response: { 200: goalPage },
      },
    },
    async (request) => goals.goalPage(actorOf(request), request.params.id),
  );
  r.get(
    '/api/v1/goals/:id/trend.html',
    { schema: { summary: "The goal's trend against its target as a printable page", params: idParams } },
    async (request, reply) =>
      reply.type('text/html; charset=utf-8').send(renderTrendHtml(await goals.goalPage(actorOf(request), request.params.id))),
  );
  r.get(
    '/api/v1/goals/:id/evaluations',
    {
      schema: {
        summary: 'Stored evaluation history, newest first (a row whenever the outcome changed)',
        params: idParams,
        querystring: z.object({
          from: instant.optional().describe('Evaluations at or after this instant: ISO-8601 or epoch ms (default: the first).'),
          to: instant.optional().describe('Evaluations before this instant: ISO-8601 or epoch ms (default: no bound).'),
          limit: z.coerce
            .number()
            .int()
            .min(1)
            .max(10_000)
            .default(500)
            .describe('At most this many, newest first (default 500).'),
        }),
        response: { 200: listOf(evaluationRecordSchema) },
      },
    },
    async (request) => ({ items: await goals.goalHistory(actorOf(request), request.params.id, request.query) }),
  );
  r.post(
    '/api/v1/goals/:id/evaluate',
    {
      schema: {
        summary: 'Evaluate a goal now and store the outcome',
        params: idParams,
        response: { 200: evaluationRecordSchema },
      },
    },
    async (request) => (await goals.evaluateNow(actorOf(request), request.params.id)).record,
  );
  r.get(
    '/api/v1/goals/:id/audit',
    {
      schema: {
        summary: "The goal's audit trail: every change with who, when, before and after",
        params: idParams,
        response: { 200: listOf(changeRecordSchema) },
      },
    },
    async (request) => ({ items: await goals.goalAudit(actorOf(request), request.params.id) }),
  );
  r.get(
    '/api/v1/audit',
    {
      schema: {
        summary: 'The whole audit trail, newest first (planners and admins)',
        querystring: z.object({
          kind: z.enum(entityKinds).optional().describe('Only changes to this kind of record (default: every kind).'),
          actorId: z.string().optional().describe('Only changes made by this person (default: anyone).'),
          limit: z.coerce
            .number()
            .int()
            .min(1)
            .max(10_000)
            .default(200)
            .describe('At most this many, newest first (default 200).'),
        }),
        response: { 200: listOf(changeRecordSchema) },
      },
    },
    async (request) => ({ items: await goals.audit(actorOf(request), request.query) }),
  );
}
