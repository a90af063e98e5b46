import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type CredentialCheck, noteRefusedBearer } from '../shared/auth/layer.ts';
import { GoalsError, type GoalsErrorCode } from './errors.ts';
import { goalStatuses } from './evaluate.ts';
import { type Person, versionFields } from './model.ts';
import type { Stored } from './repository.ts';
import type { GoalsService } from './service.ts';

/** What the goals route modules share: who is calling, and the shapes of answers. */

const actors = new WeakMap<FastifyRequest, Person>();

/**
 * A browser signed in to the goals (GET /api/v1/goals/sign-in) carries its person token in
 * this HttpOnly, SameSite=Strict cookie. It is honoured on GET and HEAD only, so the
 * printable pages open in a browser while every change still needs the bearer header.
 */
export const GOALS_SESSION_COOKIE = 'cxv_goals_session';

export function sessionCookieToken(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === GOALS_SESSION_COOKIE && value.length > 0) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

/**
 * Who is calling a goals route: the person of the bearer token (or of the goals cookie on
 * GET/HEAD). The auth layer runs it for every route of scope `goals` (RolePlugin.authorize),
 * before the body is validated, so an unauthenticated caller gets 401 whatever they sent.
 */
export function goalsCredentialCheck(goals: GoalsService): CredentialCheck {
  return async (request) => {
    const cookie = request.method === 'GET' || request.method === 'HEAD' ? sessionCookieToken(request) : undefined;
    if (request.routeOptions.config?.goalsSignInOptional) {
      // A read that answers everyone (the dashboard's goal strip): the person is whoever the
      // goals cookie or bearer names, if either is a goals token; otherwise nobody, not a 401
      // (a dashboard browser carries a read token, which is not a person's).
      for (const candidate of [cookie ? `Bearer ${cookie}` : undefined, request.headers.authorization]) {
        if (!candidate) continue;
        const person = await goals.auth.authenticate(candidate).catch(() => undefined);
        if (person) {
          actors.set(request, person);
          return;
        }
      }
      return;
    }
    const authorization = request.headers.authorization ?? (cookie ? `Bearer ${cookie}` : undefined);
    try {
      actors.set(request, await goals.auth.authenticate(authorization));
    } catch (error) {
      if (request.headers.authorization !== undefined) noteRefusedBearer(request);
      throw error;
    }
  };
}

/**
 * The one place a goals error gets its HTTP status. Typed as a complete record, so a new
 * domain code does not compile until it has a status here.
 */
export const GOALS_ERROR_STATUS: Record<GoalsErrorCode, number> = {
  UNAUTHENTICATED: 401,
  ADMIN_ONLY: 403,
  PLANNER_ONLY: 403,
  FORBIDDEN_READ: 403,
  FORBIDDEN_WRITE: 403,
  FORBIDDEN_ACTIVATE: 403,
  SELF_VERIFICATION: 403,
  NOT_UPLINE_MANAGER: 403,
  NOT_IN_SESSION: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  STALE_VERSION: 409,
  CHANGED_MEANWHILE: 409,
  CYCLE_CLOSED: 409,
  CYCLE_NOT_STARTED: 409,
  CYCLE_ALREADY_CONTINUED: 409,
  INVALID_TRANSITION: 409,
  NOT_EDITABLE: 409,
  ORG_GOAL_CLOSED: 409,
  GOAL_NOT_COMMITTED: 409,
  ALREADY_ACKNOWLEDGED: 409,
  PERSON_INACTIVE: 409,
  INVALID_REQUEST: 400,
  UNKNOWN_DEPARTMENT: 400,
  UNKNOWN_PERSON: 400,
  UNKNOWN_FEED: 400,
  UNKNOWN_PRODUCT: 400,
  FILTER_NOT_SUPPORTED: 400,
  HIERARCHY_LOOP: 400,
  INVALID_WARNING: 400,
  COMMENT_REQUIRED: 400,
  OWNER_NOT_ALLOWED: 400,
  DUE_OUTSIDE_CYCLE: 400,
  CYCLE_ID_MISMATCH: 400,
};

/**
 * Answers a goals domain error in the API's one error shape; anything else goes on to the
 * application's error handler (validation errors, 500s).
 */
export function mapGoalsErrors(scope: FastifyInstance): void {
  scope.setErrorHandler((err, _request, reply) => {
    if (!(err instanceof GoalsError)) throw err;
    if (err.code === 'UNAUTHENTICATED') reply.header('www-authenticate', 'Bearer realm="cxvitals-goals"');
    return reply
      .code(GOALS_ERROR_STATUS[err.code])
      .send({ code: err.code, message: err.message, ...(err.fields ? { errors: err.fields } : {}) });
  });
}

export function actorOf(request: FastifyRequest): Person {
  const actor = actors.get(request);
  if (!actor) throw new GoalsError('UNAUTHENTICATED', 'Send "Authorization: Bearer <token>".');
  return actor;
}

/** The signed-in person, if any: for the one read that answers everyone (the dashboard's goal strip). */
export const signedInActor = (request: FastifyRequest): Person | undefined => actors.get(request);

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
