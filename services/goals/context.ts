import type { Registry } from 'prom-client';
import type { CxModel } from '../model/types.ts';
import type { Logger } from '../shared/log.ts';
import type { Store } from '../shared/store/store.ts';
import { GoalsError, type GoalsErrorCode } from './errors.ts';
import { warningProblem } from './evaluate.ts';
import type { FeedRef, MetricFeedReader } from './feeds.ts';
import type { Denial, Directory } from './hierarchy.ts';
import type { Cycle, Department, Person, Reading, SuccessMetric } from './model.ts';
import type { CycleSpan } from './period.ts';
import type { EntityRepository } from './repository.ts';

/** What the goals service needs from the rest of the application. */
export interface GoalsDeps {
  store: Store;
  log: Logger;
  /** The app's prom-client Registry; the goals gauges are registered on it. */
  registry: Registry;
  /** Epoch milliseconds; tests pass a fixed clock. Default Date.now. */
  clock?: () => number;
  /** Default: every feed read from the store through the read model (services/shared/vitals). */
  feeds?: MetricFeedReader;
  /** The KPI → KQI → CSI model in force (the API's); default: the model file at its default path. */
  model?: (() => CxModel) | undefined;
  /** Whether maintenance declared after it started excuses downtime in Availability (as the API). */
  excuseRetroactiveMaintenance?: boolean;
  /** CXV_GOALS_ADMIN_TOKEN: a bootstrap admin token (at least 24 characters); only its hash is kept. */
  adminToken?: string | undefined;
  /** How often the evaluator runs (default 60 000 ms; at most a minute is the contract). */
  evaluationIntervalMs?: number;
  /** Goals exported with a goal_id label at most (default 200), so label cardinality stays bounded. */
  maxExportedGoals?: number;
  /** When set, the generated Prometheus alert rules are written to this file whenever they change. */
  alertRulesPath?: string | undefined;
}

/** What the goals modules share inside the service. */
export interface GoalsContext {
  entities: EntityRepository;
  feeds: MetricFeedReader;
  clock: () => number;
  log: Logger;
}

export const iso = (ms: number): string => new Date(ms).toISOString();

export const cycleSpan = (c: Pick<Cycle, 'startsAt' | 'endsAt'>): CycleSpan => ({
  startsAt: Date.parse(c.startsAt),
  endsAt: Date.parse(c.endsAt),
});

export function deny(denial: Denial | undefined): void {
  if (denial) throw new GoalsError(denial.code, denial.message);
}

export function badRequest(field: string, message: string, code: GoalsErrorCode = 'INVALID_REQUEST'): GoalsError {
  return new GoalsError(code, `Invalid ${field}: ${message}`, [{ field, message }]);
}

export async function loadDirectory(ctx: GoalsContext): Promise<Directory> {
  const [departments, people] = await Promise.all([ctx.entities.list('department'), ctx.entities.list('person')]);
  return {
    departments: new Map<string, Department>(departments.map((d) => [d.value.id, d.value])),
    people: new Map<string, Person>(people.map((p) => [p.value.id, p.value])),
  };
}

export function requirePerson(dir: Directory, id: string, field: string): Person {
  const person = dir.people.get(id);
  if (!person) throw badRequest(field, `no person "${id}"`, 'UNKNOWN_PERSON');
  if (!person.active) throw badRequest(field, `person "${id}" is deactivated`, 'UNKNOWN_PERSON');
  return person;
}

/** A feed is checked when it is bound, so a goal never sits at no_data over a name that does not exist. */
export function checkFeed(ctx: GoalsContext, feed: FeedRef, field: string): void {
  const checked = ctx.feeds.validate(feed);
  if (!checked.ok) {
    // The feed's message already names the valid choices (checked.valid).
    throw new GoalsError(checked.code, `Invalid ${field}.${checked.field}: ${checked.message}`, [
      { field: `${field}.${checked.field}`, message: checked.message },
    ]);
  }
}

export function checkMetric(ctx: GoalsContext, metric: SuccessMetric, field = 'body.metric'): void {
  checkFeed(ctx, metric.feed, `${field}.feed`);
  const problem = warningProblem(metric.comparator, metric.target, metric.warning);
  if (problem) throw badRequest(`${field}.warning`, problem, 'INVALID_WARNING');
}

export function requireOpenCycle(cycle: Cycle): void {
  if (cycle.status !== 'open') {
    throw new GoalsError(
      'CYCLE_CLOSED',
      `Cycle "${cycle.id}" is closed${cycle.nextCycleId ? `; its work continues in cycle "${cycle.nextCycleId}"` : ''}. Plan in an open cycle.`,
    );
  }
}

/** Reads a feed over [from, to) into a stored Reading. */
export async function readFeed(ctx: GoalsContext, feed: FeedRef, from: number, to: number): Promise<Reading> {
  const r = await ctx.feeds.read(feed, from, to);
  return {
    readAt: iso(ctx.clock()),
    from: iso(from),
    to: iso(to),
    value: r.value,
    numerator: r.numerator ?? null,
    denominator: r.denominator ?? null,
    noData: r.noData ?? (r.value === null ? { code: 'NO_DATA', message: 'The feed has no data in this window.' } : null),
  };
}
