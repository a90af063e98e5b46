import { type GoalsContext, iso } from './context.ts';
import { GoalsError } from './errors.ts';
import type { EvaluationRecord, GoalEvaluator, GoalKind } from './evaluator.ts';
import { CLOSED } from './lifecycle.ts';
import type { Cycle, CycleResult, DeptGoal, OrgGoal, Person } from './model.ts';
import { readBaseline, requirePlanner } from './planning.ts';
import type { Stored } from './repository.ts';

/**
 * Starting the next cycle from the last one: the previous cycle's goals are judged where
 * they stand (active goals become achieved or missed, or not_measured when their feed
 * had no data: never missed for want of data), their results are compared with their
 * baselines, and every goal not achieved is carried forward into the new cycle
 * (organisation goals stay active; department goals start again as drafts, because a
 * new cycle needs a new verification), with their open actions (planned or in progress).
 * The previous cycle keeps the comparison. A new cycle id given by the caller is used as
 * given, or refused (409 ALREADY_EXISTS) when taken: never replaced by another.
 *
 * ClickHouse has no transaction across these writes. The previous cycle is closed first,
 * under its lock, so a second "next" is refused (409 CYCLE_ALREADY_CONTINUED) and never
 * forks the plan; a crash after that leaves a closed cycle whose remaining carry-over is
 * visible in the audit trail (docs/goals.md).
 */

export interface NextCycleResult {
  cycle: Stored<Cycle>;
  previousCycle: Stored<Cycle>;
  results: CycleResult[];
  summary: {
    achieved: number;
    missed: number;
    notMeasured: number;
    notStarted: number;
    carriedForward: number;
    carriedActions: number;
  };
}

const alreadyContinued = (c: Cycle): GoalsError =>
  new GoalsError(
    'CYCLE_ALREADY_CONTINUED',
    `Cycle "${c.id}" is already closed${c.nextCycleId ? ` and continued in "${c.nextCycleId}"` : ''}.`,
  );

type Judged = { kind: GoalKind; goal: OrgGoal | DeptGoal; evaluation: EvaluationRecord; statusAfter: string };

/** Where a goal ends when its cycle closes early or on time. */
function judge(goal: OrgGoal | DeptGoal, evaluation: EvaluationRecord): string {
  if (goal.status !== 'active') return goal.status;
  if (evaluation.status === 'no_data' || evaluation.status === 'not_measured') return 'not_measured';
  const meets = evaluation.status === 'achieved' || evaluation.status === 'on_track' || evaluation.status === 'at_risk';
  return meets ? 'achieved' : 'missed';
}

export async function startNextCycle(
  ctx: GoalsContext,
  evaluator: GoalEvaluator,
  actor: Person,
  cycleId: string,
  input: {
    id?: string | undefined;
    name: string;
    startsAt?: string | undefined;
    endsAt?: string | undefined;
    version?: number | undefined;
  },
): Promise<NextCycleResult> {
  requirePlanner(actor, 'start a new cycle');
  const previous = (await ctx.entities.require('cycle', cycleId)).value;
  // Early answer for the common case; the check under the lock below is the real guard.
  if (previous.status === 'closed') throw alreadyContinued(previous);
  const now = ctx.clock();
  const orgGoals = (await ctx.entities.list('org_goal')).filter((g) => g.value.cycleId === cycleId);
  const deptGoals = (await ctx.entities.list('department_goal')).filter((g) => g.value.cycleId === cycleId);
  const judged: Judged[] = [];
  for (const [kind, goals] of [
    ['org', orgGoals],
    ['department', deptGoals],
  ] as const) {
    for (const g of goals) {
      const { record } = await evaluator.evaluate(kind, g.value, previous, now);
      judged.push({ kind, goal: g.value, evaluation: record, statusAfter: judge(g.value, record) });
    }
  }
  const lengthMs = Date.parse(previous.endsAt) - Date.parse(previous.startsAt);
  const startsAt = input.startsAt ? Date.parse(input.startsAt) : Date.parse(previous.endsAt);
  const endsAt = input.endsAt ? Date.parse(input.endsAt) : startsAt + lengthMs;
  if (endsAt <= startsAt)
    throw new GoalsError('INVALID_REQUEST', 'Invalid body.endsAt: must be after startsAt', [
      { field: 'body.endsAt', message: 'must be after startsAt' },
    ]);
  const nextId = input.id ?? ctx.entities.newId('cycle');
  if (input.id !== undefined && (await ctx.entities.get('cycle', input.id))) {
    throw new GoalsError(
      'ALREADY_EXISTS',
      `Cycle "${input.id}" already exists; choose another id for the next cycle, or leave id out.`,
      [{ field: 'body.id', message: 'already exists' }],
    );
  }

  // Close first, under the cycle's lock: the one guard against two concurrent "next".
  const closed = await ctx.entities.update(
    'cycle',
    cycleId,
    input.version,
    { actorId: actor.id, action: 'cycle.close', comment: `continued in ${nextId}` },
    (c) => {
      if (c.status === 'closed' || c.nextCycleId) throw alreadyContinued(c);
      return { ...c, status: 'closed', nextCycleId: nextId };
    },
  );
  const cycle = await ctx.entities.create(
    'cycle',
    {
      id: nextId,
      name: input.name,
      startsAt: iso(startsAt),
      endsAt: iso(endsAt),
      status: 'open',
      previousCycleId: cycleId,
      nextCycleId: null,
      results: null,
    },
    { actorId: actor.id, action: 'cycle.create', comment: `continues ${cycleId}` },
  );

  const meta = (action: string, comment: string) => ({ actorId: actor.id, action, comment });
  for (const j of judged) {
    if (j.statusAfter === j.goal.status) continue;
    const m = meta(
      `${j.kind === 'org' ? 'org_goal' : 'department_goal'}.${closingAction(j.statusAfter)}`,
      `cycle ${cycleId} closed: ${j.evaluation.reason}`,
    );
    // Judged from the status read above; if the evaluator closed it meanwhile, its verdict stands.
    const close = <G extends { status: string }>(g: G): G => (g.status === j.goal.status ? { ...g, status: j.statusAfter } : g);
    if (j.kind === 'org') await ctx.entities.update('org_goal', j.goal.id, undefined, m, (g) => close(g));
    else await ctx.entities.update('department_goal', j.goal.id, undefined, m, (g) => close(g));
  }

  // Carry forward what was not achieved; an organisation goal also travels when one of its department goals does.
  const carried = new Map<string, string>();
  const open = judged.filter((j) => j.statusAfter !== 'achieved');
  const orgNeeded = new Set(open.filter((j) => j.kind === 'department').map((j) => (j.goal as DeptGoal).orgGoalId));
  for (const j of judged.filter((x) => x.kind === 'org' && (x.statusAfter !== 'achieved' || orgNeeded.has(x.goal.id)))) {
    const g = j.goal as OrgGoal;
    const id = ctx.entities.newId('org_goal');
    const baseline = await readBaseline(ctx, g.metric, cycle.value);
    await ctx.entities.create(
      'org_goal',
      { ...g, id, cycleId: nextId, strategySessionId: null, status: 'active', baseline, carriedFromId: g.id },
      meta('org_goal.carry_forward', `from ${g.id}`),
    );
    carried.set(g.id, id);
  }
  for (const j of open.filter((x) => x.kind === 'department')) {
    const g = j.goal as DeptGoal;
    const id = ctx.entities.newId('department_goal');
    const baseline = await readBaseline(ctx, g.metric, cycle.value);
    const orgGoalId = carried.get(g.orgGoalId) ?? g.orgGoalId;
    await ctx.entities.create(
      'department_goal',
      { ...g, id, cycleId: nextId, orgGoalId, status: 'draft', verifications: [], baseline, carriedFromId: g.id },
      meta('department_goal.carry_forward', `from ${g.id}`),
    );
    carried.set(g.id, id);
  }
  const carriedActions = await carryOpenActions(ctx, carried, cycle.value, meta);

  const results: CycleResult[] = judged.map((j) => ({
    goalId: j.goal.id,
    kind: j.kind,
    title: j.goal.title,
    departmentId: j.kind === 'department' ? (j.goal as DeptGoal).departmentId : null,
    statusBefore: j.goal.status,
    statusAfter: j.statusAfter,
    evaluation: {
      status: j.evaluation.status,
      value: j.evaluation.value,
      comparator: j.evaluation.comparator,
      target: j.evaluation.target,
      reason: j.evaluation.reason,
    },
    baselineValue: j.goal.baseline.value,
    change: j.evaluation.value !== null && j.goal.baseline.value !== null ? j.evaluation.value - j.goal.baseline.value : null,
    carriedForwardAs: carried.get(j.goal.id) ?? null,
  }));
  const previousCycle = await ctx.entities.update(
    'cycle',
    cycleId,
    closed.version,
    meta('cycle.results', `${results.length} goals judged`),
    (c) => ({ ...c, results }),
  );
  return {
    cycle,
    previousCycle,
    results,
    summary: {
      achieved: results.filter((r) => r.statusAfter === 'achieved').length,
      missed: results.filter((r) => r.statusAfter === 'missed').length,
      notMeasured: results.filter((r) => r.statusAfter === 'not_measured').length,
      notStarted: results.filter((r) => !CLOSED.includes(r.statusAfter as DeptGoal['status'])).length,
      carriedForward: carried.size,
      carriedActions,
    },
  };
}

const closingAction = (status: string): string =>
  status === 'achieved' ? 'achieve' : status === 'missed' ? 'miss' : 'not_measured';

/**
 * Open actions (planned, in progress) travel with their goal: a copy on the carried goal
 * in the new cycle, its "before" reading kept (the action began then), its due date moved
 * to the new cycle's last day when it fell before the new cycle starts. The old action
 * stays as it was, with the cycle it belonged to.
 */
async function carryOpenActions(
  ctx: GoalsContext,
  carried: ReadonlyMap<string, string>,
  cycle: Cycle,
  meta: (action: string, comment: string) => { actorId: string; action: string; comment: string },
): Promise<number> {
  const open = (await ctx.entities.list('action')).filter(
    (a) => carried.has(a.value.goalId) && (a.value.status === 'planned' || a.value.status === 'in_progress'),
  );
  const firstDay = cycle.startsAt.slice(0, 10);
  const lastDay = iso(Date.parse(cycle.endsAt) - 1).slice(0, 10);
  for (const { value: a } of open) {
    await ctx.entities.create(
      'action',
      {
        ...a,
        id: ctx.entities.newId('action'),
        goalId: carried.get(a.goalId) ?? a.goalId,
        cycleId: cycle.id,
        dueDate: a.dueDate < firstDay ? lastDay : a.dueDate,
        carriedFromId: a.id,
      },
      meta('action.carry_forward', `from ${a.id}`),
    );
  }
  return open.length;
}
