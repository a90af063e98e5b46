import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HttpError } from '../api/errors.ts';
import { goalStatuses } from './evaluate.ts';
import { type Person, versionFields } from './model.ts';
import type { Stored } from './repository.ts';
import type { GoalsService } from './service.ts';

/** What the goals route modules share: who is calling, and the shapes of answers. */

const actors = new WeakMap<FastifyRequest, Person>();

/**
 * Authenticates every request of the scope before its body is validated, so an
 * unauthenticated caller gets 401 whatever they sent.
 */
export function requireBearer(scope: FastifyInstance, goals: GoalsService): void {
  scope.addHook('onRequest', async (request) => {
    actors.set(request, await goals.auth.authenticate(request.headers.authorization));
  });
}

export function actorOf(request: FastifyRequest): Person {
  const actor = actors.get(request);
  if (!actor) throw new HttpError(401, 'UNAUTHENTICATED', 'Send "Authorization: Bearer <token>".');
  return actor;
}

export const flat = <T>(s: Stored<T>): T & { version: number; updatedAt: string; updatedBy: string } => ({
  ...s.value,
  version: s.version,
  updatedAt: s.updatedAt,
  updatedBy: s.updatedBy,
});

export const withVersion = <S extends z.ZodObject>(schema: S) => schema.extend(versionFields);
export const listOf = <S extends z.ZodType>(schema: S) => z.object({ items: z.array(schema) });

export const idParams = z.object({ id: z.string().min(1).max(64) });
export const versionBody = z.number().int().positive();

export const changeRecordSchema = z.object({
  changeId: z.string(),
  kind: z.string(),
  id: z.string(),
  version: z.number().int(),
  action: z.string(),
  actorId: z.string(),
  at: z.string(),
  comment: z.string().nullable(),
  before: z.unknown(),
  after: z.unknown(),
  changedFields: z.array(z.string()),
});

export const evaluationRecordSchema = z.object({
  goalId: z.string(),
  goalKind: z.enum(['org', 'department']),
  cycleId: z.string(),
  evaluatedAt: z.string(),
  window: z.object({ from: z.string(), to: z.string(), periodEnd: z.string(), final: z.boolean() }),
  status: z.enum(goalStatuses),
  value: z.number().nullable(),
  numerator: z.number().nullable(),
  denominator: z.number().nullable(),
  comparator: z.string(),
  target: z.number(),
  warning: z.number(),
  attainment: z.number().nullable(),
  errorBudget: z
    .object({
      allowedBadFraction: z.number(),
      badEvents: z.number(),
      totalEvents: z.number(),
      burnRate: z.number(),
      consumed: z.number(),
      remaining: z.number(),
    })
    .nullable(),
  burnRates: z.record(z.string(), z.number().nullable()),
  dataPoints: z.number().int(),
  reason: z.string(),
  noData: z.object({ code: z.string(), message: z.string() }).nullable(),
});
