import { type ActionInput, ActionService } from './actions.ts';
import { checkMetric, deny, type GoalsContext, iso, loadDirectory, requireOpenCycle, requirePerson } from './context.ts';
import { GoalsError } from './errors.ts';
import { isAdmin, managesOrAbove, readDenial, uplineManager, verifyDenial, writeDenial } from './hierarchy.ts';
import { type DeptGoalTransition, editProblem, TRANSITIONS, type TransitionProblem, transitionProblem } from './lifecycle.ts';
import type { Action, DeptGoal, DeptGoalStatus, Person, SuccessMetric } from './model.ts';
import { readBaseline } from './planning.ts';
import type { Stored } from './repository.ts';

/** Department goals through their lifecycle (lifecycle.ts), with verification and actions. */

export interface DeptGoalInput {
  orgGoalId: string;
  departmentId: string;
  title: string;
  description?: string | undefined;
  ownerId?: string | undefined;
  metric: SuccessMetric;
}

export type DeptGoalPatch = Partial<Pick<DeptGoalInput, 'title' | 'description' | 'ownerId' | 'metric'>>;

function check(problem: TransitionProblem | undefined): void {
  if (problem) throw new GoalsError(problem.code, problem.message);
}

export class DepartmentGoalService {
  readonly actions: ActionService;

  constructor(private readonly ctx: GoalsContext) {
    this.actions = new ActionService(ctx);
  }

  async list(
    actor: Person,
    filter: { cycleId?: string | undefined; departmentId?: string | undefined; status?: DeptGoalStatus | undefined },
  ): Promise<Array<Stored<DeptGoal>>> {
    const [dir, all] = await Promise.all([loadDirectory(this.ctx), this.ctx.entities.list('department_goal')]);
    return all.filter(
      (g) =>
        (!filter.cycleId || g.value.cycleId === filter.cycleId) &&
        (!filter.departmentId || g.value.departmentId === filter.departmentId) &&
        (!filter.status || g.value.status === filter.status) &&
        !readDenial(dir, actor, g.value.departmentId),
    );
  }

  async get(actor: Person, id: string): Promise<Stored<DeptGoal>> {
    const goal = await this.ctx.entities.require('department_goal', id);
    deny(readDenial(await loadDirectory(this.ctx), actor, goal.value.departmentId));
    return goal;
  }

  async create(actor: Person, input: DeptGoalInput): Promise<Stored<DeptGoal>> {
    const dir = await loadDirectory(this.ctx);
    if (!dir.departments.has(input.departmentId)) {
      throw new GoalsError('UNKNOWN_DEPARTMENT', `No department "${input.departmentId}".`, [
        { field: 'body.departmentId', message: 'unknown department' },
      ]);
    }
    deny(writeDenial(dir, actor, input.departmentId));
    checkMetric(this.ctx, input.metric);
    const orgGoal = (await this.ctx.entities.require('org_goal', input.orgGoalId)).value;
    if (orgGoal.status !== 'active') {
      throw new GoalsError(
        'ORG_GOAL_CLOSED',
        `Organisation goal "${orgGoal.id}" is ${orgGoal.status}; tie the department goal to an active one.`,
      );
    }
    const cycle = (await this.ctx.entities.require('cycle', orgGoal.cycleId)).value;
    requireOpenCycle(cycle);
    const ownerId = input.ownerId ?? actor.id;
    requirePerson(dir, ownerId, 'body.ownerId');
    const goal: DeptGoal = {
      id: this.ctx.entities.newId('department_goal'),
      cycleId: cycle.id,
      departmentId: input.departmentId,
      orgGoalId: orgGoal.id,
      title: input.title,
      description: input.description ?? '',
      ownerId,
      authorId: actor.id,
      metric: input.metric,
      baseline: await readBaseline(this.ctx, input.metric, cycle),
      status: 'draft',
      verifications: [],
      carriedFromId: null,
    };
    return this.ctx.entities.create('department_goal', goal, { actorId: actor.id, action: 'department_goal.create' });
  }

  async update(actor: Person, id: string, version: number, patch: DeptGoalPatch): Promise<Stored<DeptGoal>> {
    const existing = await this.ctx.entities.require('department_goal', id);
    const dir = await loadDirectory(this.ctx);
    deny(writeDenial(dir, actor, existing.value.departmentId));
    if (patch.metric) checkMetric(this.ctx, patch.metric);
    if (patch.ownerId) requirePerson(dir, patch.ownerId, 'body.ownerId');
    return this.ctx.entities.update(
      'department_goal',
      id,
      version,
      { actorId: actor.id, action: 'department_goal.update' },
      async (g) => {
        check(editProblem(g.status));
        const next: DeptGoal = { ...g, ...patch, id };
        if (patch.metric)
          next.baseline = await readBaseline(this.ctx, patch.metric, (await this.ctx.entities.require('cycle', g.cycleId)).value);
        return next;
      },
    );
  }

  /** Applies one lifecycle transition after its permission check; `version`, when given, must be current. */
  async transition(
    actor: Person,
    id: string,
    transition: Exclude<DeptGoalTransition, 'achieve' | 'miss' | 'not_measured'>,
    options: { version?: number | undefined; comment?: string | undefined },
  ): Promise<Stored<DeptGoal>> {
    const existing = await this.ctx.entities.require('department_goal', id);
    const dir = await loadDirectory(this.ctx);
    const goal = existing.value;
    if (transition === 'submit') deny(writeDenial(dir, actor, goal.departmentId));
    if (transition === 'verify' || transition === 'reject') deny(verifyDenial(dir, actor, goal));
    if (transition === 'activate' && !isAdmin(actor) && !managesOrAbove(dir, actor.id, goal.departmentId)) {
      throw new GoalsError(
        'FORBIDDEN_ACTIVATE',
        `Only the manager of department "${goal.departmentId}" or a manager above may activate its goals.`,
      );
    }
    if (transition === 'reject' && !options.comment?.trim()) {
      throw new GoalsError('COMMENT_REQUIRED', 'A rejection needs a comment saying what to change.', [
        { field: 'body.comment', message: 'required when rejecting' },
      ]);
    }
    const now = iso(this.ctx.clock());
    const meta = { actorId: actor.id, action: `department_goal.${transition}`, comment: options.comment };
    return this.ctx.entities.update('department_goal', id, options.version, meta, async (g) => {
      check(transitionProblem(g.status, transition));
      requireOpenCycle((await this.ctx.entities.require('cycle', g.cycleId)).value);
      const next: DeptGoal = { ...g, status: TRANSITIONS[transition].to };
      if (transition === 'submit') {
        next.verifications = [
          ...g.verifications,
          {
            requestedAt: now,
            requestedBy: actor.id,
            uplineManagerId: uplineManager(dir, g.departmentId),
            decision: null,
            decidedAt: null,
            decidedBy: null,
            comment: null,
          },
        ];
      } else if (transition === 'verify' || transition === 'reject') {
        const open = g.verifications.at(-1);
        if (open) {
          next.verifications = [
            ...g.verifications.slice(0, -1),
            {
              ...open,
              decision: transition === 'verify' ? 'verified' : 'rejected',
              decidedAt: now,
              decidedBy: actor.id,
              comment: options.comment ?? null,
            },
          ];
        }
      }
      return next;
    });
  }

  /** Submitted goals this person may verify or reject. */
  async verificationRequests(actor: Person): Promise<Array<Stored<DeptGoal>>> {
    const [dir, all] = await Promise.all([loadDirectory(this.ctx), this.ctx.entities.list('department_goal')]);
    return all.filter((g) => g.value.status === 'submitted' && !verifyDenial(dir, actor, g.value));
  }

  async getAction(actor: Person, actionId: string): Promise<Stored<Action>> {
    const action = await this.ctx.entities.require('action', actionId);
    if (action.value.ownerId !== actor.id) await this.get(actor, action.value.goalId);
    return action;
  }

  async listActions(actor: Person, goalId: string): Promise<Array<Stored<Action>>> {
    await this.get(actor, goalId);
    return this.actions.list(goalId);
  }

  createAction(actor: Person, goalId: string, input: ActionInput): Promise<Stored<Action>> {
    return this.actions.create(actor, goalId, input);
  }

  updateAction(
    actor: Person,
    actionId: string,
    version: number,
    patch: Parameters<ActionService['update']>[3],
  ): Promise<Stored<Action>> {
    return this.actions.update(actor, actionId, version, patch);
  }
}
