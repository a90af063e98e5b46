import type { EvaluationWindow } from './period.ts';

/**
 * Goal evaluation: a pure function over a metric history (no I/O, no clock).
 *
 * Status, in this order:
 *   no_data    no point in the window carries data yet (or the cycle has not started)
 *   not_measured  the period is over and no point carried data: the goal was not
 *              measured, which is an outcome of its own, never `missed`
 *   achieved   the period is over and the value meets the target
 *   missed     the period is over and it does not
 *   off_track  the value does not meet the target (yet)
 *   at_risk    it meets the target but not the early-warning threshold
 *   on_track   it meets both
 *
 * The early-warning threshold lies on the good side of the target (for `>=`, warning ≥
 * target): crossing it warns before the target itself is breached.
 *
 * Ratio metrics (points carry numerator and denominator) are summed, never averaged:
 * value = Σnumerator / Σdenominator. They also get an error budget: the share of "bad"
 * events the target allows (1 − target for higher-is-better, target for lower-is-better).
 * Burn rate = observed bad share / allowed bad share (1 = exactly on budget). Over a
 * calendar period the budget belongs to the whole period, so the share consumed so far
 * is burn rate × elapsed fraction; over a rolling window it is the burn rate itself.
 */

export type Comparator = '>=' | '>' | '<=' | '<';
export const comparators = ['>=', '>', '<=', '<'] as const;
export const goalStatuses = ['on_track', 'at_risk', 'off_track', 'achieved', 'missed', 'no_data', 'not_measured'] as const;
export type GoalStatus = (typeof goalStatuses)[number];

/** One bucket [t, t + step): a value, and for ratio metrics the counts behind it. */
export interface MetricPoint {
  t: number;
  value: number | null;
  numerator?: number;
  denominator?: number;
}

/** Windows whose burn rates are computed and exported (multi-window burn-rate alerts). */
export const BURN_WINDOWS = {
  '5m': 5 * 60_000,
  '30m': 30 * 60_000,
  '1h': 3_600_000,
  '2h': 7_200_000,
  '6h': 21_600_000,
  '1d': 86_400_000,
  '3d': 3 * 86_400_000,
} as const;
export type BurnWindow = keyof typeof BURN_WINDOWS;
export const burnWindowNames = Object.keys(BURN_WINDOWS) as BurnWindow[];

/** Attainment is capped so a near-zero value of a lower-is-better metric stays readable. */
export const ATTAINMENT_CAP = 10;

export interface EvaluationInput {
  comparator: Comparator;
  target: number;
  warning: number;
  /** Ratio metric: points carry numerator/denominator and the value is their summed ratio. */
  ratio: boolean;
  window: EvaluationWindow;
  /** Points of the window; points outside [window.from, window.to) are ignored. */
  points: readonly MetricPoint[];
  /** Fine-grained recent history for burn rates over short windows (ratio metrics). */
  recent?: { points: readonly MetricPoint[]; stepMs: number; now: number };
}

export interface ErrorBudget {
  /** Share of events allowed to be bad. */
  allowedBadFraction: number;
  badEvents: number;
  totalEvents: number;
  /** Observed bad share / allowed bad share over the window. */
  burnRate: number;
  /** Share of the period's budget used (may exceed 1). */
  consumed: number;
  remaining: number;
}

export interface Evaluation {
  status: GoalStatus;
  value: number | null;
  numerator: number | null;
  denominator: number | null;
  comparator: Comparator;
  target: number;
  warning: number;
  /** value / target (higher is better) or target / value (lower is better), capped; null when undefined. */
  attainment: number | null;
  final: boolean;
  errorBudget: ErrorBudget | null;
  burnRates: Partial<Record<BurnWindow, number | null>>;
  /** Points in the window that carried data. */
  dataPoints: number;
  /** Why the status is what it is, for a person. */
  reason: string;
}

export const higherIsBetter = (c: Comparator): boolean => c === '>=' || c === '>';

export function meets(value: number, comparator: Comparator, threshold: number): boolean {
  switch (comparator) {
    case '>=':
      return value >= threshold;
    case '>':
      return value > threshold;
    case '<=':
      return value <= threshold;
    case '<':
      return value < threshold;
  }
}

/** Checks that the early-warning threshold lies on the good side of the target. */
export function warningProblem(comparator: Comparator, target: number, warning: number): string | undefined {
  if (higherIsBetter(comparator) && warning < target) {
    return `must be at least the target (${target}) for "${comparator}": it warns before the target is breached`;
  }
  if (!higherIsBetter(comparator) && warning > target) {
    return `must be at most the target (${target}) for "${comparator}": it warns before the target is breached`;
  }
  return undefined;
}

export function attainment(value: number, comparator: Comparator, target: number): number | null {
  if (higherIsBetter(comparator)) return target > 0 && value >= 0 ? Math.min(ATTAINMENT_CAP, value / target) : null;
  if (target < 0 || value < 0) return null;
  return value === 0 ? ATTAINMENT_CAP : Math.min(ATTAINMENT_CAP, target / value);
}

interface Summary {
  value: number | null;
  numerator: number | null;
  denominator: number | null;
  dataPoints: number;
}

/** Ratio: Σnumerator/Σdenominator. Other metrics: mean of bucket values (equal buckets, so time-weighted). */
export function summarise(points: readonly MetricPoint[], ratio: boolean): Summary {
  let num = 0;
  let den = 0;
  let sum = 0;
  let n = 0;
  for (const p of points) {
    if (ratio) {
      if (!p.denominator || p.denominator <= 0) continue;
      num += p.numerator ?? 0;
      den += p.denominator;
      n += 1;
    } else if (p.value !== null && Number.isFinite(p.value)) {
      sum += p.value;
      n += 1;
    }
  }
  if (ratio)
    return {
      value: den > 0 ? num / den : null,
      numerator: den > 0 ? num : null,
      denominator: den > 0 ? den : null,
      dataPoints: n,
    };
  return { value: n > 0 ? sum / n : null, numerator: null, denominator: null, dataPoints: n };
}

function allowedBadFraction(comparator: Comparator, target: number): number {
  return higherIsBetter(comparator) ? 1 - target : target;
}

function badEvents(comparator: Comparator, numerator: number, denominator: number): number {
  return higherIsBetter(comparator) ? denominator - numerator : numerator;
}

/** Burn rate of a set of ratio points; null without data or without a budget. */
export function burnRate(points: readonly MetricPoint[], comparator: Comparator, target: number): number | null {
  const s = summarise(points, true);
  const allowed = allowedBadFraction(comparator, target);
  if (s.denominator === null || s.numerator === null || allowed <= 0) return null;
  return badEvents(comparator, s.numerator, s.denominator) / s.denominator / allowed;
}

function errorBudget(input: EvaluationInput, s: Summary): ErrorBudget | null {
  const allowed = allowedBadFraction(input.comparator, input.target);
  if (!input.ratio || s.numerator === null || s.denominator === null || allowed <= 0 || allowed >= 1) return null;
  const bad = badEvents(input.comparator, s.numerator, s.denominator);
  const rate = bad / s.denominator / allowed;
  const w = input.window;
  // The budget belongs to one whole period: a rolling window always spans it (elapsed 1);
  // a calendar period part-way through has used `elapsed` of its time so far.
  const elapsed = w.lengthMs > 0 ? Math.min(1, (w.to - w.from) / w.lengthMs) : 1;
  const consumed = rate * elapsed;
  return {
    allowedBadFraction: allowed,
    badEvents: bad,
    totalEvents: s.denominator,
    burnRate: rate,
    consumed,
    remaining: 1 - consumed,
  };
}

function burnRates(input: EvaluationInput): Partial<Record<BurnWindow, number | null>> {
  if (!input.ratio || !input.recent) return {};
  const { points, stepMs, now } = input.recent;
  const out: Partial<Record<BurnWindow, number | null>> = {};
  for (const name of burnWindowNames) {
    const span = BURN_WINDOWS[name];
    // A window shorter than one bucket cannot be measured from this history.
    out[name] =
      span < stepMs
        ? null
        : burnRate(
            points.filter((p) => p.t >= now - span && p.t < now),
            input.comparator,
            input.target,
          );
  }
  return out;
}

export function evaluate(input: EvaluationInput): Evaluation {
  const w = input.window;
  const inWindow = input.points.filter((p) => p.t >= w.from && p.t < w.to);
  const s = summarise(inWindow, input.ratio);
  const base = {
    value: s.value,
    numerator: s.numerator,
    denominator: s.denominator,
    comparator: input.comparator,
    target: input.target,
    warning: input.warning,
    final: w.final,
    dataPoints: s.dataPoints,
  };
  if (s.value === null) {
    const none = { ...base, attainment: null, errorBudget: null, burnRates: burnRates(input) };
    if (!w.started) return { ...none, status: 'no_data', reason: 'period not started: the cycle has not begun' };
    if (w.final) return { ...none, status: 'not_measured', reason: 'period over with no data: the goal was not measured' };
    const reason = w.to <= w.from ? 'period not started' : 'no data in the evaluation window';
    return { ...none, status: 'no_data', reason };
  }
  const value = s.value;
  const meetsTarget = meets(value, input.comparator, input.target);
  let status: GoalStatus;
  let reason: string;
  if (w.final) {
    status = meetsTarget ? 'achieved' : 'missed';
    reason = `period over: ${value} ${meetsTarget ? 'meets' : 'does not meet'} ${input.comparator} ${input.target}`;
  } else if (!meetsTarget) {
    status = 'off_track';
    reason = `${value} does not meet ${input.comparator} ${input.target}`;
  } else if (!meets(value, input.comparator, input.warning)) {
    status = 'at_risk';
    reason = `${value} meets the target ${input.target} but not the early-warning threshold ${input.warning}`;
  } else {
    status = 'on_track';
    reason = `${value} meets the target ${input.target} and the early-warning threshold ${input.warning}`;
  }
  return {
    ...base,
    status,
    attainment: attainment(value, input.comparator, input.target),
    errorBudget: errorBudget(input, s),
    burnRates: burnRates(input),
    reason,
  };
}
