import {
  badRequest,
  checkFeed,
  deny,
  type GoalsContext,
  iso,
  loadDirectory,
  readFeed,
  requireOpenCycle,
  requirePerson,
} from './context.ts';
import { GoalsError } from './errors.ts';
import type { FeedRef } from './feeds.ts';
import { type Directory, managesOrAbove, writeDenial } from './hierarchy.ts';
import { EVALUATED } from './lifecycle.ts';
import type { Action, ActionMetric, Cycle, DeptGoal, Person } from './model.ts';
import { parseDuration } from './period.ts';
import type { Stored } from './repository.ts';

/**
 * Measurable actions. An action is measured on its own metric (any feed) or, without one,
 * on its goal's feed, over two windows of the same stated length: the one that ends when
 * the action started, and the one that begins when it was done. The "after" reading is
 * taken only once its window is over (the evaluator fills it then), so a window still
 * filling never passes for an effect.
 *
 * Due dates lie inside the goal's cycle; owners come from the goal's department (or
 * manage it), unless the action says explicitly that its owner is from outside.
 */

export interface ActionInput {
  title: string;
  ownerId: string;
  /** Let an owner from outside the goal's department own it (recorded on the action). */
  ownerOutsideDepartment?: boolean | undefined;
  dueDate: string;
  status?: Action['status'] | undefined;
  metric?: ActionMetric | null | undefined;
  /** Length of the before and after windows (default 7d). */
  window?: string | undefined;
  /** When the action began (default: when it is recorded); not in the future. */
  startedAt?: string | undefined;
  /** When it was done, with status done (default: now); not in the future. */
  doneAt?: string | undefined;
}

const DEFAULT_WINDOW = '7d';

/** The feed an action is measured on. */
export const actionFeed = (action: Pick<Action, 'metric'>, goal: Pick<DeptGoal, 'metric'>): FeedRef =>
  action.metric?.feed ?? goal.metric.feed;

function windowMs(window: string, field: string): number {
  const ms = parseDuration(window);
  if (ms === undefined) throw badRequest(field, 'must be a duration such as 7d, 12h or P7D (at most 366 days)');
  return ms;
}

function pastInstant(value: string | undefined, now: number, field: string): number {
  if (value === undefined) return now;
  const t = Date.parse(value);
  if (t > now) throw badRequest(field, 'must not be in the future: record it when it has happened');
  return t;
}

export function checkDueDate(cycle: Cycle, dueDate: string, field = 'body.dueDate'): void {
  const first = cycle.startsAt.slice(0, 10);
  const last = iso(Date.parse(cycle.endsAt) - 1).slice(0, 10);
  if (dueDate < first || dueDate > last) {
    throw new GoalsError(
      'DUE_OUTSIDE_CYCLE',
      `Invalid ${field}: ${dueDate} is outside cycle "${cycle.id}" (${first} to ${last}); an action is due within its goal's cycle.`,
      [{ field, message: `must be between ${first} and ${last}` }],
    );
  }
}

function checkOwner(dir: Directory, goal: DeptGoal, ownerId: string, outsideAllowed: boolean): boolean {
  const owner = requirePerson(dir, ownerId, 'body.ownerId');
  const inside = owner.departmentId === goal.departmentId || managesOrAbove(dir, owner.id, goal.departmentId);
  if (!inside && !outsideAllowed) {
    throw new GoalsError(
      'OWNER_NOT_ALLOWED',
      `Invalid body.ownerId: ${owner.id} is not in department "${goal.departmentId}" nor one of its managers. Choose an owner from the department, or send "ownerOutsideDepartment": true to allow one from outside.`,
      [{ field: 'body.ownerId', message: `not in department "${goal.departmentId}"` }],
    );
  }
  return !inside;
}

async function afterReading(ctx: GoalsContext, action: Action, goal: DeptGoal, now: number): Promise<Action['metricAfter']> {
  if (action.doneAt === null) return null;
  const from = Date.parse(action.doneAt);
  const to = from + windowMs(action.window, 'window');
  return now >= to ? readFeed(ctx, actionFeed(action, goal), from, to) : null;
}

export class ActionService {
  constructor(private readonly ctx: GoalsContext) {}

  async list(goalId: string): Promise<Array<Stored<Action>>> {
    return (await this.ctx.entities.list('action')).filter((a) => a.value.goalId === goalId);
  }

  async create(actor: Person, goalId: string, input: ActionInput): Promise<Stored<Action>> {
    const goal = (await this.ctx.entities.require('department_goal', goalId)).value;
    const dir = await loadDirectory(this.ctx);
    deny(writeDenial(dir, actor, goal.departmentId));
    // A closed cycle answers CYCLE_CLOSED whatever its goals became (docs/goals.md).
    const cycle = (await this.ctx.entities.require('cycle', goal.cycleId)).value;
    requireOpenCycle(cycle);
    if (!EVALUATED.includes(goal.status)) {
      throw new GoalsError(
        'GOAL_NOT_COMMITTED',
        `Goal "${goalId}" is ${goal.status}: actions are recorded once the up-line manager has verified it (verified or active).`,
      );
    }
    const outside = checkOwner(dir, goal, input.ownerId, input.ownerOutsideDepartment === true);
    checkDueDate(cycle, input.dueDate);
    if (input.metric) checkFeed(this.ctx, input.metric.feed, 'body.metric.feed');
    const window = input.window ?? DEFAULT_WINDOW;
    const lengthMs = windowMs(window, 'body.window');
    const now = this.ctx.clock();
    const startedAt = pastInstant(input.startedAt, now, 'body.startedAt');
    const status = input.status ?? 'planned';
    const doneAt = status === 'done' ? pastInstant(input.doneAt, now, 'body.doneAt') : null;
    if (doneAt !== null && doneAt < startedAt) throw badRequest('body.doneAt', 'must not be before startedAt');
    const metric = input.metric ?? null;
    const action: Action = {
      id: this.ctx.entities.newId('action'),
      goalId,
      cycleId: goal.cycleId,
      title: input.title,
      ownerId: input.ownerId,
      ownerOutsideDepartment: outside,
      dueDate: input.dueDate,
      status,
      metric,
      window,
      startedAt: iso(startedAt),
      doneAt: doneAt === null ? null : iso(doneAt),
      metricBefore: await readFeed(this.ctx, actionFeed({ metric }, goal), startedAt - lengthMs, startedAt),
      metricAfter: null,
      carriedFromId: null,
    };
    action.metricAfter = await afterReading(this.ctx, action, goal, now);
    return this.ctx.entities.create('action', action, { actorId: actor.id, action: 'action.create' });
  }

  async update(
    actor: Person,
    actionId: string,
    version: number,
    patch: Partial<Omit<ActionInput, 'metric' | 'window' | 'startedAt'>>,
  ): Promise<Stored<Action>> {
    const existing = (await this.ctx.entities.require('action', actionId)).value;
    const goal = (await this.ctx.entities.require('department_goal', existing.goalId)).value;
    const cycle = (await this.ctx.entities.require('cycle', existing.cycleId)).value;
    const dir = await loadDirectory(this.ctx);
    // The action's owner may report progress on it even from another department.
    if (existing.ownerId !== actor.id) deny(writeDenial(dir, actor, goal.departmentId));
    const outside =
      patch.ownerId === undefined ? undefined : checkOwner(dir, goal, patch.ownerId, patch.ownerOutsideDepartment === true);
    if (patch.dueDate !== undefined) checkDueDate(cycle, patch.dueDate);
    const now = this.ctx.clock();
    return this.ctx.entities.update('action', actionId, version, { actorId: actor.id, action: 'action.update' }, async (a) => {
      const { doneAt: doneAtInput, ownerOutsideDepartment: _, ...fields } = patch;
      const next: Action = { ...a, ...fields, id: actionId };
      if (outside !== undefined) next.ownerOutsideDepartment = outside;
      if (patch.status === 'done' && a.status !== 'done') {
        const doneAt = pastInstant(doneAtInput, now, 'body.doneAt');
        if (a.startedAt !== null && doneAt < Date.parse(a.startedAt))
          throw badRequest('body.doneAt', 'must not be before startedAt');
        next.doneAt = iso(doneAt);
        next.metricAfter = await afterReading(this.ctx, next, goal, now);
      }
      if (patch.status && patch.status !== 'done') {
        next.doneAt = null;
        next.metricAfter = null;
      }
      return next;
    });
  }

  /** Reads the "after" of done actions whose after-window has ended; returns how many. */
  async measureDue(now: number): Promise<number> {
    const pending = (await this.ctx.entities.list('action')).filter(
      (a) =>
        a.value.status === 'done' &&
        a.value.doneAt !== null &&
        a.value.metricAfter === null &&
        now >= Date.parse(a.value.doneAt) + (parseDuration(a.value.window) ?? Number.POSITIVE_INFINITY),
    );
    let measured = 0;
    for (const { value: a } of pending) {
      const goal = (await this.ctx.entities.require('department_goal', a.goalId)).value;
      const reading = await afterReading(this.ctx, a, goal, now);
      await this.ctx.entities.update(
        'action',
        a.id,
        undefined,
        { actorId: 'system:evaluator', action: 'action.measure', comment: 'after-window over' },
        (current) => (current.status === 'done' && current.doneAt === a.doneAt ? { ...current, metricAfter: reading } : current),
      );
      measured += 1;
    }
    return measured;
  }
}
