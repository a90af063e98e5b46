import {
  badRequest,
  checkFeed,
  checkMetric,
  cycleSpan,
  type GoalsContext,
  iso,
  loadDirectory,
  readFeed,
  requireOpenCycle,
  requirePerson,
} from './context.ts';
import { GoalsError } from './errors.ts';
import type { FeedRef } from './feeds.ts';
import { isPlanner } from './hierarchy.ts';
import type { Cycle, OrgGoal, Person, Reading, StrategySession, SuccessMetric } from './model.ts';
import { baselineWindow, parseDuration } from './period.ts';
import type { Stored } from './repository.ts';

/**
 * Cycles, strategy sessions and organisation goals: the top of the planning cycle.
 * Planners (and admins) run them; everyone signed in may read them.
 */

export interface CycleInput {
  id?: string | undefined;
  name: string;
  startsAt: string;
  endsAt: string;
}

export interface StrategySessionInput {
  cycleId: string;
  heldAt?: string | undefined;
  participantIds: string[];
  notes?: string | undefined;
  /** The data the session looks at: each feed is read over [heldAt − lookback, heldAt). */
  baseline: Array<{ label: string; feed: FeedRef; lookback: string }>;
}

export interface OrgGoalInput {
  strategySessionId: string;
  title: string;
  description?: string | undefined;
  ownerId: string;
  metric: SuccessMetric;
}

export function requirePlanner(actor: Person, what: string): void {
  if (!isPlanner(actor))
    throw new GoalsError('PLANNER_ONLY', `Only a planner or an admin may ${what}; ${actor.id} is ${actor.role}.`);
}

function checkSpan(startsAt: string, endsAt: string): void {
  if (Date.parse(endsAt) <= Date.parse(startsAt)) throw badRequest('body.endsAt', 'must be after startsAt');
}

/** Reads a metric's baseline: one period's length of data ending now. */
export async function readBaseline(ctx: GoalsContext, metric: SuccessMetric, cycle: Cycle): Promise<Reading> {
  const window = baselineWindow(metric.period, cycleSpan(cycle), ctx.clock());
  return readFeed(ctx, metric.feed, window.from, window.to);
}

export class PlanningService {
  constructor(private readonly ctx: GoalsContext) {}

  listCycles(): Promise<Array<Stored<Cycle>>> {
    return this.ctx.entities.list('cycle');
  }

  getCycle(id: string): Promise<Stored<Cycle>> {
    return this.ctx.entities.require('cycle', id);
  }

  async createCycle(actor: Person, input: CycleInput): Promise<Stored<Cycle>> {
    requirePlanner(actor, 'create cycles');
    checkSpan(input.startsAt, input.endsAt);
    const cycle: Cycle = {
      id: input.id ?? this.ctx.entities.newId('cycle'),
      name: input.name,
      startsAt: iso(Date.parse(input.startsAt)),
      endsAt: iso(Date.parse(input.endsAt)),
      status: 'open',
      previousCycleId: null,
      nextCycleId: null,
      results: null,
    };
    return this.ctx.entities.create('cycle', cycle, { actorId: actor.id, action: 'cycle.create' });
  }

  async listStrategySessions(cycleId?: string): Promise<Array<Stored<StrategySession>>> {
    const all = await this.ctx.entities.list('strategy_session');
    return cycleId ? all.filter((s) => s.value.cycleId === cycleId) : all;
  }

  getStrategySession(id: string): Promise<Stored<StrategySession>> {
    return this.ctx.entities.require('strategy_session', id);
  }

  async createStrategySession(actor: Person, input: StrategySessionInput): Promise<Stored<StrategySession>> {
    requirePlanner(actor, 'hold strategy sessions');
    const cycle = (await this.ctx.entities.require('cycle', input.cycleId)).value;
    requireOpenCycle(cycle);
    const dir = await loadDirectory(this.ctx);
    for (const [i, p] of input.participantIds.entries()) requirePerson(dir, p, `body.participantIds.${i}`);
    const heldAt = input.heldAt ? Date.parse(input.heldAt) : this.ctx.clock();
    const baseline = [];
    for (const [i, item] of input.baseline.entries()) {
      checkFeed(this.ctx, item.feed, `body.baseline.${i}.feed`);
      const lookbackMs = parseDuration(item.lookback);
      if (lookbackMs === undefined) throw badRequest(`body.baseline.${i}.lookback`, 'must be a duration such as 7d or P30D');
      const reading = await readFeed(this.ctx, item.feed, heldAt - lookbackMs, heldAt);
      baseline.push({ label: item.label, feed: item.feed, lookback: item.lookback, reading });
    }
    const session: StrategySession = {
      id: this.ctx.entities.newId('strategy_session'),
      cycleId: cycle.id,
      heldAt: iso(heldAt),
      facilitatorId: actor.id,
      participantIds: [...new Set(input.participantIds)],
      notes: input.notes ?? '',
      baseline,
    };
    return this.ctx.entities.create('strategy_session', session, { actorId: actor.id, action: 'strategy_session.create' });
  }

  async listOrgGoals(cycleId?: string): Promise<Array<Stored<OrgGoal>>> {
    const all = await this.ctx.entities.list('org_goal');
    return cycleId ? all.filter((g) => g.value.cycleId === cycleId) : all;
  }

  getOrgGoal(id: string): Promise<Stored<OrgGoal>> {
    return this.ctx.entities.require('org_goal', id);
  }

  async createOrgGoal(actor: Person, input: OrgGoalInput): Promise<Stored<OrgGoal>> {
    requirePlanner(actor, 'set organisation goals');
    checkMetric(this.ctx, input.metric);
    const session = (await this.ctx.entities.require('strategy_session', input.strategySessionId)).value;
    const cycle = (await this.ctx.entities.require('cycle', session.cycleId)).value;
    requireOpenCycle(cycle);
    requirePerson(await loadDirectory(this.ctx), input.ownerId, 'body.ownerId');
    const goal: OrgGoal = {
      id: this.ctx.entities.newId('org_goal'),
      cycleId: cycle.id,
      strategySessionId: session.id,
      title: input.title,
      description: input.description ?? '',
      ownerId: input.ownerId,
      metric: input.metric,
      baseline: await readBaseline(this.ctx, input.metric, cycle),
      status: 'active',
      carriedFromId: null,
    };
    return this.ctx.entities.create('org_goal', goal, { actorId: actor.id, action: 'org_goal.create' });
  }

  async updateOrgGoal(
    actor: Person,
    id: string,
    version: number,
    patch: Partial<Pick<OrgGoalInput, 'title' | 'description' | 'ownerId' | 'metric'>>,
  ): Promise<Stored<OrgGoal>> {
    requirePlanner(actor, 'change organisation goals');
    if (patch.metric) checkMetric(this.ctx, patch.metric);
    if (patch.ownerId) requirePerson(await loadDirectory(this.ctx), patch.ownerId, 'body.ownerId');
    return this.ctx.entities.update('org_goal', id, version, { actorId: actor.id, action: 'org_goal.update' }, async (g) => {
      if (g.status !== 'active')
        throw new GoalsError('NOT_EDITABLE', `Organisation goal "${id}" is ${g.status}; only active goals can be edited.`);
      const cycle = (await this.ctx.entities.require('cycle', g.cycleId)).value;
      requireOpenCycle(cycle);
      const next = { ...g, ...patch, id };
      // A new metric is a new commitment: its baseline is read again, from the data now.
      if (patch.metric) next.baseline = await readBaseline(this.ctx, patch.metric, cycle);
      return next;
    });
  }
}
