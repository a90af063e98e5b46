/**
 * Evaluation periods of a success metric (pure, no I/O).
 *
 * - rolling: the last `duration` (e.g. `P7D` or `7d`) ending now. The goal is judged
 *   (achieved or missed) at the end of its cycle, over the rolling window that ends there.
 * - calendar: a fixed period: the UTC calendar quarter the cycle starts in (`quarter`), or
 *   the cycle itself (`cycle`). Before it ends the value covers the part elapsed so far.
 */

export type PeriodSpec = { type: 'rolling'; duration: string } | { type: 'calendar'; calendar: 'quarter' | 'cycle' };

export interface CycleSpan {
  startsAt: number;
  endsAt: number;
}

export interface EvaluationWindow {
  /** Data is read over [from, to). */
  from: number;
  to: number;
  /** The whole period the goal is judged over; for rolling periods periodStart = from. */
  periodStart: number;
  periodEnd: number;
  /** The period is over: the evaluation decides achieved or missed. */
  final: boolean;
  /** Length of the period the error budget is defined over. */
  lengthMs: number;
  /** The goal's cycle has begun. Before it does, every period type reads nothing (from = to). */
  started: boolean;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const UNIT_MS: Record<string, number> = { m: MINUTE, h: HOUR, d: DAY, w: 7 * DAY };
const MAX_DURATION_MS = 366 * DAY;

/**
 * `7d`, `12h`, `30m`, `2w` or ISO-8601 `P7D`, `PT12H`, `P1W`, `P1DT6H` → milliseconds.
 * Months and years are refused on purpose: their length varies, so use a calendar period.
 */
export function parseDuration(text: string): number | undefined {
  const short = /^([1-9]\d{0,4})([mhdw])$/.exec(text.trim());
  let ms: number | undefined;
  if (short) {
    ms = Number(short[1]) * (UNIT_MS[short[2] ?? 'd'] ?? 0);
  } else {
    const iso = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$/.exec(text.trim().toUpperCase());
    if (!iso || text.trim().toUpperCase() === 'P' || /T$/.test(text.trim().toUpperCase())) return undefined;
    const [, w, d, h, m] = iso;
    ms = Number(w ?? 0) * 7 * DAY + Number(d ?? 0) * DAY + Number(h ?? 0) * HOUR + Number(m ?? 0) * MINUTE;
  }
  return ms > 0 && ms <= MAX_DURATION_MS ? ms : undefined;
}

/** Start of the UTC calendar quarter containing `t`. */
export function quarterStart(t: number): number {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), Math.floor(d.getUTCMonth() / 3) * 3, 1);
}

/** Start of the UTC calendar quarter after the one containing `t`. */
export function nextQuarterStart(t: number): number {
  const d = new Date(quarterStart(t));
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 3, 1);
}

/** The fixed bounds of a calendar period, or the judging bounds of a rolling one. */
export function periodBounds(spec: PeriodSpec, cycle: CycleSpan): { start: number; end: number; lengthMs: number } {
  if (spec.type === 'rolling') {
    const lengthMs = parseDuration(spec.duration);
    if (lengthMs === undefined) throw new RangeError(`Invalid rolling duration "${spec.duration}"`);
    return { start: cycle.endsAt - lengthMs, end: cycle.endsAt, lengthMs };
  }
  if (spec.calendar === 'quarter') {
    const start = quarterStart(cycle.startsAt);
    const end = nextQuarterStart(cycle.startsAt);
    return { start, end, lengthMs: end - start };
  }
  return { start: cycle.startsAt, end: cycle.endsAt, lengthMs: cycle.endsAt - cycle.startsAt };
}

/** The data window to evaluate at `now`. */
export function evaluationWindow(spec: PeriodSpec, cycle: CycleSpan, now: number): EvaluationWindow {
  const bounds = periodBounds(spec, cycle);
  if (now < cycle.startsAt) {
    // A rolling window or a quarter could reach data from before the cycle: a goal of a
    // cycle that has not begun has no period yet, whatever its type.
    const at = spec.type === 'rolling' ? cycle.startsAt : bounds.start;
    return { from: at, to: at, periodStart: at, periodEnd: bounds.end, final: false, lengthMs: bounds.lengthMs, started: false };
  }
  const final = now >= bounds.end;
  if (spec.type === 'rolling') {
    const to = Math.min(now, bounds.end);
    const from = to - bounds.lengthMs;
    return { from, to, periodStart: from, periodEnd: bounds.end, final, lengthMs: bounds.lengthMs, started: true };
  }
  const to = Math.max(bounds.start, Math.min(now, bounds.end));
  return {
    from: bounds.start,
    to,
    periodStart: bounds.start,
    periodEnd: bounds.end,
    final,
    lengthMs: bounds.lengthMs,
    started: true,
  };
}

/**
 * The window a baseline is read over when a goal is set: one period's length of data
 * ending now, so the baseline is comparable with what the goal will be judged on.
 */
export function baselineWindow(spec: PeriodSpec, cycle: CycleSpan, now: number): { from: number; to: number } {
  const { lengthMs } = periodBounds(spec, cycle);
  return { from: now - lengthMs, to: now };
}
