import type { FastifyInstance } from 'fastify';
import type { GoalsDeps } from './context.ts';
import { mapGoalsErrors, requireBearer } from './http.ts';
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
  app.register(async (scope) => {
    mapGoalsErrors(scope);
    requireBearer(scope, goals);
    registerOrganisationRoutes(scope, goals);
    registerPlanningRoutes(scope, goals);
    registerDepartmentGoalRoutes(scope, goals);
    registerCommitmentRoutes(scope, goals);
    registerEvaluationRoutes(scope, goals);
  });
  return goals;
}
