import type { Store } from '../shared/store/store.ts';
import { cycleSpan, type GoalsContext, iso } from './context.ts';
import { BURN_WINDOWS, type ErrorBudget, evaluate, type GoalStatus, type MetricPoint } from './evaluate.ts';
import type { Cycle, DeptGoal, OrgGoal } from './model.ts';
import { evaluationWindow } from './period.ts';

/**
 * Reads a goal's feed over its evaluation window, runs the pure evaluation, and keeps the
 * history in `goals_evaluations` (a row whenever the outcome changed, so the table is the
 * story of the goal rather than one row per minute of "no change").
 */

export type GoalKind = 'org' | 'department';

export interface EvaluationRecord {
  goalId: string;
  goalKind: GoalKind;
  cycleId: string;
  evaluatedAt: string;
  window: { from: string; to: string; periodEnd: string; final: boolean };
  status: GoalStatus;
  value: number | null;
  numerator: number | null;
  denominator: number | null;
  comparator: string;
  target: number;
  warning: number;
  attainment: number | null;
  errorBudget: ErrorBudget | null;
  burnRates: Record<string, number | null>;
  dataPoints: number;
  reason: string;
  /** Why the feed had nothing to say (UNKNOWN_FEED, FILTER_NOT_SUPPORTED, UNKNOWN_PRODUCT), when that is the cause. */
  noData: { code: string; message: string } | null;
}

export interface GoalEvaluation {
  record: EvaluationRecord;
  /** The metric over the window, for the trend. */
  trend: { stepMs: number; points: MetricPoint[] };
  ratio: boolean;
  periodLengthMs: number;
  /** Ratio goals in their period: the last days in 5-minute buckets (burn rates, Prometheus SLI counters). */
  recent: { stepMs: number; points: MetricPoint[] } | null;
}

const RECENT_STEP_MS = 5 * 60_000;
const RECENT_SPAN_MS = Math.max(...Object.values(BURN_WINDOWS));

interface EvaluationRow {
  goal_id: string;
  detail: string;
}

/** The part of a record whose change is worth a history row. */
const outcomeKey = (r: EvaluationRecord): string =>
  JSON.stringify([
    r.status,
    r.value,
    r.numerator,
    r.denominator,
    r.window.final,
    r.target,
    r.warning,
    r.comparator,
    r.noData?.code,
  ]);

export class GoalEvaluator {
  private readonly lastStored = new Map<string, string>();

  constructor(
    private readonly ctx: GoalsContext,
    private readonly store: Store,
  ) {}

  async evaluate(kind: GoalKind, goal: OrgGoal | DeptGoal, cycle: Cycle, now = this.ctx.clock()): Promise<GoalEvaluation> {
    const { metric } = goal;
    const window = evaluationWindow(metric.period, cycleSpan(cycle), now);
    const reading = await this.ctx.feeds.read(metric.feed, window.from, window.to);
    // Burn rates over short windows need a finer history than the (possibly quarter-long) period.
    const recent =
      reading.ratio && !window.final
        ? { ...(await this.ctx.feeds.read(metric.feed, now - RECENT_SPAN_MS, now, { stepMs: RECENT_STEP_MS })), now }
        : undefined;
    const evaluation = evaluate({
      comparator: metric.comparator,
      target: metric.target,
      warning: metric.warning,
      ratio: reading.ratio,
      window,
      // A non-ratio feed's value over the window is the read model's value for the whole
      // window (a week's CSI is the score of the week's KPIs, as the API gives it), not a
      // mean of its buckets; ratio feeds sum their points' counts to the same value.
      points: reading.ratio || reading.value === null ? reading.points : [{ t: window.from, value: reading.value }],
      ...(recent ? { recent: { points: recent.points, stepMs: recent.stepMs, now } } : {}),
    });
    const noData = reading.noData ?? null;
    const record: EvaluationRecord = {
      goalId: goal.id,
      goalKind: kind,
      cycleId: cycle.id,
      evaluatedAt: iso(now),
      window: { from: iso(window.from), to: iso(window.to), periodEnd: iso(window.periodEnd), final: window.final },
      status: evaluation.status,
      value: evaluation.value,
      numerator: evaluation.numerator,
      denominator: evaluation.denominator,
      comparator: evaluation.comparator,
      target: evaluation.target,
      warning: evaluation.warning,
      attainment: evaluation.attainment,
      errorBudget: evaluation.errorBudget,
      burnRates: evaluation.burnRates,
      dataPoints: reading.ratio ? evaluation.dataPoints : reading.points.length,
      reason: noData && evaluation.status === 'no_data' ? noData.message : evaluation.reason,
      noData,
    };
    return {
      record,
      trend: { stepMs: reading.stepMs, points: reading.points },
      ratio: reading.ratio,
      periodLengthMs: window.lengthMs,
      recent: recent ? { stepMs: recent.stepMs, points: recent.points } : null,
    };
  }

  /** Stores the records whose outcome changed since the last stored one; returns how many. */
  async record(records: readonly EvaluationRecord[]): Promise<number> {
    const changed = records.filter((r) => this.lastStored.get(r.goalId) !== outcomeKey(r));
    await this.store.insert(
      'goals_evaluations',
      changed.map((r) => ({
        goal_id: r.goalId,
        goal_kind: r.goalKind,
        cycle_id: r.cycleId,
        evaluated_at: Date.parse(r.evaluatedAt),
        window_from: Date.parse(r.window.from),
        window_to: Date.parse(r.window.to),
        period_end: Date.parse(r.window.periodEnd),
        status: r.status,
        value: r.value,
        numerator: r.numerator,
        denominator: r.denominator,
        comparator: r.comparator,
        target: r.target,
        warning: r.warning,
        attainment: r.attainment,
        budget_remaining: r.errorBudget?.remaining ?? null,
        burn_rate: r.errorBudget?.burnRate ?? null,
        final: r.window.final ? 1 : 0,
        detail: JSON.stringify(r),
      })),
    );
    for (const r of changed) this.lastStored.set(r.goalId, outcomeKey(r));
    return changed.length;
  }

  /** Stored evaluations of one goal, newest first. */
  async history(
    goalId: string,
    query: { from?: number | undefined; to?: number | undefined; limit: number },
  ): Promise<EvaluationRecord[]> {
    const rows = await this.store.query<EvaluationRow>(
      `SELECT goal_id, detail FROM ${this.store.table('goals_evaluations')}
       WHERE goal_id = {goalId:String}
         AND evaluated_at >= fromUnixTimestamp64Milli({from:Int64}) AND evaluated_at < fromUnixTimestamp64Milli({to:Int64})
       ORDER BY evaluated_at DESC LIMIT {limit:UInt32}`,
      { goalId, from: query.from ?? 0, to: query.to ?? 253_402_300_799_000, limit: query.limit },
    );
    return rows.map((r) => JSON.parse(r.detail) as EvaluationRecord);
  }

  /** The newest stored evaluation of each goal. */
  async latest(goalIds: readonly string[]): Promise<Map<string, EvaluationRecord>> {
    if (goalIds.length === 0) return new Map();
    const rows = await this.store.query<EvaluationRow>(
      `SELECT goal_id, argMax(detail, evaluated_at) AS detail FROM ${this.store.table('goals_evaluations')}
       WHERE goal_id IN {ids:Array(String)} GROUP BY goal_id`,
      { ids: goalIds },
    );
    return new Map(rows.map((r) => [r.goal_id, JSON.parse(r.detail) as EvaluationRecord]));
  }
}
