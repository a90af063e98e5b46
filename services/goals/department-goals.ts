import {
  checkMetric,
  cycleSpan,
  deny,
  type GoalsContext,
  iso,
  loadDirectory,
  readFeed,
  requireOpenCycle,
  requirePerson,
} from './context.ts';
import { GoalsError } from './errors.ts';
import { isAdmin, managesOrAbove, readDenial, uplineManager, verifyDenial, writeDenial } from './hierarchy.ts';
import {
  type DeptGoalTransition,
  EVALUATED,
  editProblem,
  TRANSITIONS,
  type TransitionProblem,
  transitionProblem,
} from './lifecycle.ts';
import type { Action, Cycle, DeptGoal, DeptGoalStatus, Person, Reading, SuccessMetric } from './model.ts';
import { baselineWindow, evaluationWindow } from './period.ts';
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

export interface ActionInput {
  title: string;
  ownerId: string;
  dueDate: string;
  status?: Action['status'] | undefined;
}

/** The goal's metric as it stands now: its evaluation window so far (or one period back, before it starts). */
export async function currentReading(ctx: GoalsContext, metric: SuccessMetric, cycle: Cycle): Promise<Reading> {
  const now = ctx.clock();
  const w = evaluationWindow(metric.period, cycleSpan(cycle), now);
  const window = w.to > w.from ? w : baselineWindow(metric.period, cycleSpan(cycle), now);
  return readFeed(ctx, metric.feed, window.from, window.to);
}

function check(problem: TransitionProblem | undefined): void {
  if (problem) throw new GoalsError(problem.code, problem.message);
}

export class DepartmentGoalService {
  constructor(private readonly ctx: GoalsContext) {}

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
    checkMetric(input.metric);
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
    if (patch.metric) checkMetric(patch.metric);
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
    transition: Exclude<DeptGoalTransition, 'achieve' | 'miss'>,
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

  async listActions(actor: Person, goalId: string): Promise<Array<Stored<Action>>> {
    await this.get(actor, goalId);
    return (await this.ctx.entities.list('action')).filter((a) => a.value.goalId === goalId);
  }

  async createAction(actor: Person, goalId: string, input: ActionInput): Promise<Stored<Action>> {
    const goal = (await this.ctx.entities.require('department_goal', goalId)).value;
    const dir = await loadDirectory(this.ctx);
    deny(writeDenial(dir, actor, goal.departmentId));
    requirePerson(dir, input.ownerId, 'body.ownerId');
    if (!EVALUATED.includes(goal.status)) {
      throw new GoalsError(
        'GOAL_NOT_COMMITTED',
        `Goal "${goalId}" is ${goal.status}: actions are recorded once the up-line manager has verified it (verified or active).`,
      );
    }
    const cycle = (await this.ctx.entities.require('cycle', goal.cycleId)).value;
    requireOpenCycle(cycle);
    const action: Action = {
      id: this.ctx.entities.newId('action'),
      goalId,
      cycleId: goal.cycleId,
      title: input.title,
      ownerId: input.ownerId,
      dueDate: input.dueDate,
      status: input.status ?? 'planned',
      metricBefore: await currentReading(this.ctx, goal.metric, cycle),
      metricAfter: null,
    };
    if (action.status === 'done') action.metricAfter = action.metricBefore;
    return this.ctx.entities.create('action', action, { actorId: actor.id, action: 'action.create' });
  }

  async updateAction(actor: Person, actionId: string, version: number, patch: Partial<ActionInput>): Promise<Stored<Action>> {
    const existing = (await this.ctx.entities.require('action', actionId)).value;
    const goal = (await this.ctx.entities.require('department_goal', existing.goalId)).value;
    const dir = await loadDirectory(this.ctx);
    // The action's owner may report progress on it even from another department.
    if (existing.ownerId !== actor.id) deny(writeDenial(dir, actor, goal.departmentId));
    if (patch.ownerId) requirePerson(dir, patch.ownerId, 'body.ownerId');
    return this.ctx.entities.update('action', actionId, version, { actorId: actor.id, action: 'action.update' }, async (a) => {
      const next: Action = { ...a, ...patch, id: actionId };
      // "After" is read when the action is done: the metric as it stands then.
      if (patch.status === 'done' && a.status !== 'done') {
        next.metricAfter = await currentReading(
          this.ctx,
          goal.metric,
          (await this.ctx.entities.require('cycle', goal.cycleId)).value,
        );
      }
      if (patch.status && patch.status !== 'done') next.metricAfter = null;
      return next;
    });
  }
}
