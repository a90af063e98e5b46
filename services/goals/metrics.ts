import { Counter, Gauge, type Registry } from 'prom-client';
import { burnWindowNames, goalStatuses, type MetricPoint } from './evaluate.ts';
import type { EvaluationRecord } from './evaluator.ts';

/**
 * Goal gauges on the app's Registry, so Prometheus alerts fire from the same numbers the
 * planners see. Cardinality is bounded: at most `maxExportedGoals` goals carry a goal_id
 * label (the evaluated ones, lowest ids first — ids are stable, so the exported set does
 * not churn); the rest are counted in cxv_goals_unexported. Other labels are fixed enums
 * (kind: org|department, status: six values, window: seven burn windows).
 */

function gauge<T extends string>(registry: Registry, name: string, help: string, labelNames: readonly T[]): Gauge<T> {
  // One registry may see several GoalsService instances (tests); reuse what is there.
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge<T>;
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

function counter<T extends string>(registry: Registry, name: string, help: string, labelNames: readonly T[]): Counter<T> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<T>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

/** A 5-minute bucket is counted into the SLI counters once this long after it ends (windows land after they close). */
export const SLI_SETTLE_MS = 2 * 60_000;

/**
 * The complete buckets not counted yet: [countedUpTo, upTo), where upTo is the end of the
 * last bucket that ended at least `settleMs` ago. On a goal's first run nothing is counted
 * (countedUpTo undefined): the counters start from zero then, as any Prometheus counter.
 */
export function newlyComplete(
  points: readonly MetricPoint[],
  stepMs: number,
  countedUpTo: number | undefined,
  now: number,
  settleMs = SLI_SETTLE_MS,
): { numerator: number; denominator: number; upTo: number } {
  const upTo = Math.floor((now - settleMs) / stepMs) * stepMs;
  let numerator = 0;
  let denominator = 0;
  if (countedUpTo !== undefined) {
    for (const p of points) {
      if (p.t < countedUpTo || p.t + stepMs > upTo || !p.denominator) continue;
      numerator += p.numerator ?? 0;
      denominator += p.denominator;
    }
  }
  return { numerator, denominator, upTo: Math.max(upTo, countedUpTo ?? upTo) };
}

export class GoalsMetrics {
  readonly status: Gauge<'goal_id' | 'kind' | 'status'>;
  readonly attainment: Gauge<'goal_id' | 'kind'>;
  readonly value: Gauge<'goal_id' | 'kind'>;
  readonly target: Gauge<'goal_id' | 'kind'>;
  readonly budgetRemaining: Gauge<'goal_id' | 'kind'>;
  readonly burnRate: Gauge<'goal_id' | 'kind' | 'window'>;
  readonly byStatus: Gauge<'status'>;
  readonly unexported: Gauge<never>;
  readonly runs: Counter<'outcome'>;
  readonly goalFailures: Counter<never>;
  readonly lastRun: Gauge<never>;
  /** Counters Prometheus takes rates of (recording rules in alerts.ts), as Sloth and Pyrra do. */
  readonly sliNumerator: Counter<'goal_id' | 'kind'>;
  readonly sliDenominator: Counter<'goal_id' | 'kind'>;
  private readonly countedUpTo = new Map<string, number>();

  constructor(
    registry: Registry,
    private readonly maxExportedGoals: number,
  ) {
    this.status = gauge(registry, 'cxv_goal_status', 'Goal evaluation status: 1 for the current status, 0 for the others.', [
      'goal_id',
      'kind',
      'status',
    ]);
    this.attainment = gauge(
      registry,
      'cxv_goal_attainment',
      'Value / target (higher is better) or target / value (lower is better), capped at 10.',
      ['goal_id', 'kind'],
    );
    this.value = gauge(registry, 'cxv_goal_value', 'The success metric over its evaluation window.', ['goal_id', 'kind']);
    this.target = gauge(registry, 'cxv_goal_target', 'The success metric target.', ['goal_id', 'kind']);
    this.budgetRemaining = gauge(
      registry,
      'cxv_goal_error_budget_remaining',
      'Share of the period error budget left (ratio metrics; negative when overspent).',
      ['goal_id', 'kind'],
    );
    this.burnRate = gauge(
      registry,
      'cxv_goal_error_budget_burn_rate',
      'Error budget burn rate over a recent window (1 = exactly on budget).',
      ['goal_id', 'kind', 'window'],
    );
    this.byStatus = gauge(registry, 'cxv_goals_by_status', 'Evaluated goals per status (every goal, exported or not).', [
      'status',
    ]);
    this.unexported = gauge(
      registry,
      'cxv_goals_unexported',
      'Evaluated goals left out of the per-goal gauges by the cardinality bound.',
      [],
    );
    this.runs = counter(registry, 'cxv_goals_evaluation_runs_total', 'Evaluator runs, per outcome (ok, failed).', ['outcome']);
    this.goalFailures = counter(
      registry,
      'cxv_goals_evaluation_failures_total',
      'Goal evaluations that failed (feed or store error); the goal keeps its last status.',
      [],
    );
    this.lastRun = gauge(registry, 'cxv_goals_last_evaluation_timestamp_seconds', 'When the evaluator last finished a run.', []);
    this.sliNumerator = counter(
      registry,
      'cxv_goal_sli_numerator_total',
      "Numerator of a ratio goal's metric (e.g. successful probe results), summed over complete 5-minute buckets.",
      ['goal_id', 'kind'],
    );
    this.sliDenominator = counter(
      registry,
      'cxv_goal_sli_denominator_total',
      "Denominator of a ratio goal's metric (e.g. probe results), summed over complete 5-minute buckets.",
      ['goal_id', 'kind'],
    );
  }

  /** Adds each ratio goal's newly complete buckets to its SLI counters (exported goals only). */
  countSli(
    goals: ReadonlyArray<{
      goalId: string;
      kind: 'org' | 'department';
      recent: { stepMs: number; points: MetricPoint[] } | null;
    }>,
    now: number,
  ): void {
    const exported = [...goals].sort((a, b) => (a.goalId < b.goalId ? -1 : 1)).slice(0, this.maxExportedGoals);
    for (const g of exported) {
      if (!g.recent) continue;
      const labels = { goal_id: g.goalId, kind: g.kind };
      const added = newlyComplete(g.recent.points, g.recent.stepMs, this.countedUpTo.get(g.goalId), now);
      // Touch both so the series exist from the first run (rate() needs two samples).
      this.sliNumerator.inc(labels, added.numerator);
      this.sliDenominator.inc(labels, added.denominator);
      this.countedUpTo.set(g.goalId, added.upTo);
    }
  }

  /** Replaces the per-goal series with the latest evaluations. */
  update(records: readonly EvaluationRecord[], nowMs: number): void {
    for (const g of [this.status, this.attainment, this.value, this.target, this.budgetRemaining, this.burnRate]) g.reset();
    for (const s of goalStatuses) this.byStatus.set({ status: s }, records.filter((r) => r.status === s).length);
    const exported = [...records].sort((a, b) => (a.goalId < b.goalId ? -1 : 1)).slice(0, this.maxExportedGoals);
    this.unexported.set(records.length - exported.length);
    for (const r of exported) {
      const labels = { goal_id: r.goalId, kind: r.goalKind };
      for (const s of goalStatuses) this.status.set({ ...labels, status: s }, r.status === s ? 1 : 0);
      this.target.set(labels, r.target);
      if (r.value !== null) this.value.set(labels, r.value);
      if (r.attainment !== null) this.attainment.set(labels, r.attainment);
      if (r.errorBudget) this.budgetRemaining.set(labels, r.errorBudget.remaining);
      for (const w of burnWindowNames) {
        const rate = r.burnRates[w];
        if (rate !== undefined && rate !== null) this.burnRate.set({ ...labels, window: w }, rate);
      }
    }
    this.lastRun.set(nowMs / 1000);
  }
}
