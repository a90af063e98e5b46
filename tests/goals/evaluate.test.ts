import { describe, expect, it } from 'vitest';
import { evaluate, type MetricPoint, warningProblem } from '../../services/goals/evaluate.ts';
import { baselineWindow, evaluationWindow, parseDuration, quarterStart } from '../../services/goals/period.ts';

/**
 * The pure evaluation over hand-made metric histories. Every expected value below is
 * worked out by hand in the comment beside it.
 */

const DAY = 86_400_000;
const MIN = 60_000;
const Q1 = { startsAt: Date.UTC(2026, 0, 1), endsAt: Date.UTC(2026, 3, 1) }; // 90 days
const jan = (day: number, hour = 12) => Date.UTC(2026, 0, day, hour);
const ratio = (t: number, numerator: number, denominator: number): MetricPoint => ({
  t,
  value: numerator / denominator,
  numerator,
  denominator,
});
const rolling7d = (now: number) => evaluationWindow({ type: 'rolling', duration: '7d' }, Q1, now);
const availabilityGoal = { comparator: '>=' as const, target: 0.995, warning: 0.998, ratio: true };

describe('periods', () => {
  it('parses short and ISO-8601 durations, refusing months and empty ones', () => {
    expect(parseDuration('7d')).toBe(7 * DAY);
    expect(parseDuration('P7D')).toBe(7 * DAY);
    expect(parseDuration('PT12H')).toBe(12 * 3_600_000);
    expect(parseDuration('P1DT6H')).toBe(30 * 3_600_000);
    expect(parseDuration('2w')).toBe(14 * DAY);
    expect(parseDuration('30m')).toBe(30 * MIN);
    expect(parseDuration('P1M')).toBeUndefined();
    expect(parseDuration('1mo')).toBeUndefined();
    expect(parseDuration('P')).toBeUndefined();
    expect(parseDuration('0d')).toBeUndefined();
  });

  it('a rolling window ends now, and at the cycle end once the cycle is over', () => {
    const during = rolling7d(jan(15, 0));
    expect(during).toEqual({
      from: jan(8, 0),
      to: jan(15, 0),
      periodStart: jan(8, 0),
      periodEnd: Q1.endsAt,
      final: false,
      lengthMs: 7 * DAY,
      started: true,
    });
    const after = rolling7d(Date.UTC(2026, 3, 3));
    expect(after.to).toBe(Q1.endsAt);
    expect(after.from).toBe(Date.UTC(2026, 2, 25));
    expect(after.final).toBe(true);
  });

  it('a calendar quarter runs from its first day to now, then to its end', () => {
    expect(quarterStart(Date.UTC(2026, 1, 15, 13))).toBe(Date.UTC(2026, 0, 1));
    const w = evaluationWindow(
      { type: 'calendar', calendar: 'quarter' },
      { startsAt: Date.UTC(2026, 1, 1), endsAt: Date.UTC(2026, 4, 1) },
      Date.UTC(2026, 1, 10),
    );
    // The quarter is the one the cycle starts in (Q1), whatever the cycle's own end.
    expect(w).toEqual({
      from: Q1.startsAt,
      to: Date.UTC(2026, 1, 10),
      periodStart: Q1.startsAt,
      periodEnd: Q1.endsAt,
      final: false,
      lengthMs: 90 * DAY,
      started: true,
    });
  });

  it.each([
    ['rolling 7d', { type: 'rolling', duration: '7d' }],
    ['calendar quarter', { type: 'calendar', calendar: 'quarter' }],
    ['calendar cycle', { type: 'calendar', calendar: 'cycle' }],
  ] as const)('a goal of a cycle that has not begun reads nothing, whatever its period (%s)', (_name, spec) => {
    // The cycle starts Feb 1; on Jan 10 a 7-day window or the quarter (from Jan 1) would reach data.
    const cycle = { startsAt: Date.UTC(2026, 1, 1), endsAt: Date.UTC(2026, 4, 1) };
    const w = evaluationWindow(spec, cycle, jan(10, 0));
    expect([w.started, w.final, w.to - w.from]).toEqual([false, false, 0]);
    const e = evaluate({ ...availabilityGoal, window: w, points: [ratio(jan(5), 990, 1000), ratio(jan(9), 10, 1000)] });
    expect([e.status, e.value, e.reason]).toEqual(['no_data', null, 'period not started: the cycle has not begun']);
  });

  it('a baseline covers one period length of data ending now', () => {
    expect(baselineWindow({ type: 'rolling', duration: 'P7D' }, Q1, jan(5, 0))).toEqual({
      from: Date.UTC(2025, 11, 29),
      to: jan(5, 0),
    });
  });
});

describe('evaluate: every status', () => {
  it('no_data when no point in the window carries data (points outside it do not count)', () => {
    const e = evaluate({
      ...availabilityGoal,
      window: rolling7d(jan(15, 0)),
      points: [ratio(jan(7), 999, 1000), { t: jan(9), value: null, numerator: 0, denominator: 0 }],
    });
    expect(e.status).toBe('no_data');
    expect(e.value).toBeNull();
    expect(e.attainment).toBeNull();
    expect(e.errorBudget).toBeNull();
    expect(e.dataPoints).toBe(0);
    expect(e.reason).toBe('no data in the evaluation window');
  });

  it('no_data with its own reason when a calendar period has not started', () => {
    const cycle = { startsAt: Date.UTC(2026, 3, 1), endsAt: Date.UTC(2026, 6, 1) };
    const w = evaluationWindow({ type: 'calendar', calendar: 'cycle' }, cycle, jan(20, 0));
    expect(w.to).toBe(w.from);
    const e = evaluate({ ...availabilityGoal, window: w, points: [] });
    expect(e.status).toBe('no_data');
    expect(e.reason).toBe('period not started: the cycle has not begun');
  });

  it('not_measured, never missed, when the period ends with no data', () => {
    const over = evaluationWindow({ type: 'calendar', calendar: 'quarter' }, Q1, Date.UTC(2026, 3, 2));
    const e = evaluate({ ...availabilityGoal, window: over, points: [ratio(Date.UTC(2025, 11, 30), 0, 1000)] });
    expect([e.status, e.final, e.value, e.attainment]).toEqual(['not_measured', true, null, null]);
    expect(e.reason).toBe('period over with no data: the goal was not measured');
  });

  it('on_track: meets the target and the early warning; the budget is exact from summed counts', () => {
    // (999 + 998) / (1000 + 1000) = 0.9985 ≥ 0.998. Bad 3 of 2000 = 0.0015; allowed 0.005 → burn 0.3.
    const e = evaluate({
      ...availabilityGoal,
      window: rolling7d(jan(15, 0)),
      points: [ratio(jan(10), 999, 1000), ratio(jan(11), 998, 1000)],
    });
    expect(e.status).toBe('on_track');
    expect(e.value).toBe(0.9985);
    expect(e.numerator).toBe(1997);
    expect(e.denominator).toBe(2000);
    expect(e.attainment).toBeCloseTo(0.9985 / 0.995, 12);
    expect(e.errorBudget?.allowedBadFraction).toBeCloseTo(0.005, 12);
    expect(e.errorBudget?.badEvents).toBe(3);
    expect(e.errorBudget?.burnRate).toBeCloseTo(0.3, 12);
    // A rolling window is its own budget period: consumed = burn rate.
    expect(e.errorBudget?.consumed).toBeCloseTo(0.3, 12);
    expect(e.errorBudget?.remaining).toBeCloseTo(0.7, 12);
  });

  it('at_risk: meets the target but not the early warning', () => {
    // (997 + 996) / 2000 = 0.9965: ≥ 0.995, < 0.998.
    const e = evaluate({
      ...availabilityGoal,
      window: rolling7d(jan(15, 0)),
      points: [ratio(jan(10), 997, 1000), ratio(jan(11), 996, 1000)],
    });
    expect(e.status).toBe('at_risk');
    expect(e.value).toBe(0.9965);
    expect(e.errorBudget?.burnRate).toBeCloseTo(0.7, 12); // 7/2000 = 0.0035; / 0.005
  });

  it('off_track: does not meet the target; a ratio is never an average of ratios', () => {
    // 10/10 and 980/1000: mean of ratios would be 0.99; summed counts give 990/1010 = 0.98019…
    const e = evaluate({
      ...availabilityGoal,
      window: rolling7d(jan(15, 0)),
      points: [ratio(jan(10), 10, 10), ratio(jan(11), 980, 1000)],
    });
    expect(e.status).toBe('off_track');
    expect(e.value).toBe(990 / 1010);
    expect(e.errorBudget?.burnRate).toBeCloseTo(20 / 1010 / 0.005, 12);
    expect(e.errorBudget?.remaining).toBeCloseTo(1 - 20 / 1010 / 0.005, 12);
  });

  it('achieved and missed once the period is over', () => {
    const over = rolling7d(Date.UTC(2026, 3, 2));
    const good = evaluate({ ...availabilityGoal, window: over, points: [ratio(Date.UTC(2026, 2, 30), 996, 1000)] });
    expect(good.status).toBe('achieved');
    expect(good.final).toBe(true);
    const bad = evaluate({ ...availabilityGoal, window: over, points: [ratio(Date.UTC(2026, 2, 30), 994, 1000)] });
    expect(bad.status).toBe('missed');
    expect(bad.reason).toBe('period over: 0.994 does not meet >= 0.995');
  });

  it('an unfinished calendar quarter: status from the part so far, budget consumed in proportion to time elapsed', () => {
    // Q1 2026 = 90 days; on Jan 10 00:00, 9 days have elapsed → 0.1 of the period.
    const w = evaluationWindow({ type: 'calendar', calendar: 'quarter' }, Q1, jan(10, 0));
    const e = evaluate({
      ...availabilityGoal,
      window: w,
      points: [ratio(Date.UTC(2025, 11, 31), 0, 1000), ratio(jan(2), 990, 1000)], // Dec 31 lies before the quarter
    });
    // 990/1000 = 0.99 < 0.995; bad share 0.01 / 0.005 = burn 2; consumed 2 × 0.1 = 0.2.
    expect(e.status).toBe('off_track');
    expect(e.final).toBe(false);
    expect(e.value).toBe(0.99);
    expect(e.errorBudget?.burnRate).toBeCloseTo(2, 12);
    expect(e.errorBudget?.consumed).toBeCloseTo(0.2, 12);
    expect(e.errorBudget?.remaining).toBeCloseTo(0.8, 12);
  });

  it('lower-is-better metrics that are not ratios: mean of buckets, attainment target/value, no budget', () => {
    // ASA 20 s, 30 s, 40 s → mean 30 ≤ 30 (target) but not ≤ 25 (warning) → at_risk.
    const e = evaluate({
      comparator: '<=',
      target: 30,
      warning: 25,
      ratio: false,
      window: rolling7d(jan(15, 0)),
      points: [20, 30, 40].map((value, i) => ({ t: jan(10 + i), value })),
    });
    expect(e.status).toBe('at_risk');
    expect(e.value).toBe(30);
    expect(e.attainment).toBe(1);
    expect(e.errorBudget).toBeNull();
    expect(e.burnRates).toEqual({});
  });

  it('a strict comparator is not met at equality', () => {
    const e = evaluate({
      comparator: '>',
      target: 50,
      warning: 60,
      ratio: false,
      window: rolling7d(jan(15, 0)),
      points: [{ t: jan(10), value: 50 }],
    });
    expect(e.status).toBe('off_track');
  });
});

describe('burn rates over recent windows', () => {
  const now = jan(15, 0);
  // 10 bad of 100 ten minutes ago; 0 bad of 100 two hours ago. Allowed bad share 0.005.
  const recent = [ratio(now - 2 * 3_600_000, 100, 100), ratio(now - 10 * MIN, 90, 100)];

  it('sums the buckets inside each window; an empty window has no rate', () => {
    const e = evaluate({
      ...availabilityGoal,
      window: rolling7d(now),
      points: recent,
      recent: { points: recent, stepMs: 5 * MIN, now },
    });
    expect(e.burnRates['5m']).toBeNull();
    expect(e.burnRates['30m']).toBeCloseTo(20, 12); // 10/100 = 0.1 / 0.005
    expect(e.burnRates['1h']).toBeCloseTo(20, 12);
    expect(e.burnRates['2h']).toBeCloseTo(10, 12); // 10/200 = 0.05 / 0.005
    expect(e.burnRates['3d']).toBeCloseTo(10, 12);
  });

  it('a window shorter than one bucket of the history is not measured', () => {
    const e = evaluate({
      ...availabilityGoal,
      window: rolling7d(now),
      points: recent,
      recent: { points: recent, stepMs: 3_600_000, now },
    });
    expect(e.burnRates['5m']).toBeNull();
    expect(e.burnRates['30m']).toBeNull();
    expect(e.burnRates['1h']).toBeCloseTo(20, 12);
  });
});

describe('early-warning threshold', () => {
  it('must lie on the good side of the target', () => {
    expect(warningProblem('>=', 0.995, 0.998)).toBeUndefined();
    expect(warningProblem('>=', 0.995, 0.99)).toBe(
      'must be at least the target (0.995) for ">=": it warns before the target is breached',
    );
    expect(warningProblem('<=', 30, 25)).toBeUndefined();
    expect(warningProblem('<', 30, 35)).toBe('must be at most the target (30) for "<": it warns before the target is breached');
  });
});
