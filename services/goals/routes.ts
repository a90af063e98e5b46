import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { GoalsDeps } from './context.ts';
import { GOALS_SESSION_COOKIE, mapGoalsErrors } from './http.ts';
import { registerCommitmentRoutes } from './routes-commitment.ts';
import { registerDepartmentGoalRoutes } from './routes-department-goals.ts';
import { registerEvaluationRoutes } from './routes-evaluation.ts';
import { registerOrganisationRoutes } from './routes-organisation.ts';
import { registerPlanningRoutes } from './routes-planning.ts';
import { GoalsService } from './service.ts';

export type { GoalsDeps } from './context.ts';
export { GoalsService } from './service.ts';

/**
 * Embedded demo mode: issues a token for the built-in `demo-planner` admin and returns it
 * for the caller to print loudly (the previous demo token is revoked).
 */
export const issueDemoToken = (goals: GoalsService): Promise<{ personId: string; token: string }> => goals.issueDemoToken();

/**
 * The goals API under /api/v1 (see docs/goals.md). Every route needs a bearer token;
 * the routes live in their own plugin scope so that the authentication hook applies to
 * them only. Pass the GoalsService the app starts and stops, or the deps to build one;
 * the service used is returned either way (one per process: its per-entity locks are
 * what make a stale write a reliable 409).
 */
export function registerGoalsRoutes(app: FastifyInstance, deps: GoalsDeps | GoalsService): GoalsService {
  const goals = deps instanceof GoalsService ? deps : new GoalsService(deps);
  app.register(async (open) => {
    mapGoalsErrors(open);
    registerSignIn(open, goals);
  });
  app.register(async (scope) => {
    mapGoalsErrors(scope);
    registerOrganisationRoutes(scope, goals);
    registerPlanningRoutes(scope, goals);
    registerDepartmentGoalRoutes(scope, goals);
    registerCommitmentRoutes(scope, goals);
    registerEvaluationRoutes(scope, goals);
  });
  return goals;
}

/** Only a path of this API may be the page a sign-in goes on to (no open redirect). */
const nextPage = z
  .string()
  .regex(/^\/api\/v1\/[A-Za-z0-9._~\-/]*(\.html)?$/, { message: 'must be a path under /api/v1/' })
  .default('/api/v1/me')
  .describe("the page to go on to once signed in: a path under /api/v1/, e.g. a goal's trend.html (default /api/v1/me)");

/**
 * Browser sign-in for the goals' printable pages: `GET /api/v1/goals/sign-in?token=…&next=…`
 * checks the person token, keeps it in an HttpOnly, SameSite=Strict cookie (12 h) and goes
 * on to `next` (e.g. a goal's trend.html). The cookie is honoured on GET and HEAD only.
 */
function registerSignIn(app: FastifyInstance, goals: GoalsService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/api/v1/goals/sign-in',
    {
      // It checks the token of its query itself: a browser following a sign-in link has no other.
      config: { scope: 'public' },
      schema: {
        summary: 'Sign a browser in to the goals pages with a person token (cookie), then go on to `next`',
        querystring: z.object({
          token: z.string().min(1).max(200).describe("a person's goals token (kept in an HttpOnly cookie, never in the page)"),
          next: nextPage,
        }),
      },
    },
    async (request, reply) => {
      await goals.auth.authenticate(`Bearer ${request.query.token}`);
      const secure = request.protocol === 'https' ? '; Secure' : '';
      return reply
        .header(
          'set-cookie',
          `${GOALS_SESSION_COOKIE}=${encodeURIComponent(request.query.token)}; Path=/api/v1; HttpOnly; SameSite=Strict; Max-Age=43200${secure}`,
        )
        .redirect(request.query.next, 303);
    },
  );
  r.delete(
    '/api/v1/goals/session',
    { config: { scope: 'public' }, schema: { summary: 'Sign the browser out of the goals pages' } },
    async (_request, reply) =>
      reply.header('set-cookie', `${GOALS_SESSION_COOKIE}=; Path=/api/v1; HttpOnly; SameSite=Strict; Max-Age=0`).code(204).send(),
  );
}
