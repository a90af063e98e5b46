/**
 * Social surge: how far a window's mention count stands above its trailing baseline, as
 * a z-score against an exponentially weighted mean and variance of the previous windows.
 *
 * The state is three plain numbers, so the aggregator can keep it per key (and store it
 * beside the window row to resume after a restart). Windows must be fed in event-time
 * order, one per base window (1 minute), including empty ones: a minute without mentions
 * is a count of 0 (`surgeSkip` feeds a run of them), otherwise a quiet night would not
 * pull the baseline down.
 *
 * Update (Finch, "Incremental calculation of weighted mean and variance", 2009), after
 * the z-score of x is taken against the state before x:
 *   d = x − mean;  mean ← mean + α·d;  variance ← (1 − α)·(variance + α·d²)
 * The first window sets mean = x, variance = 0.
 *
 * Defaults: α = 0.1 (a window's weight halves in ln 0.5 / ln 0.9 ≈ 6.6 windows, so the
 * baseline is roughly the last quarter hour); warm-up 10 windows (z is null before, the
 * baseline is not yet one); the standard deviation is floored at 1 mention, because
 * after a run of identical counts the variance is 0 and a single extra mention would be
 * an infinite surge.
 *
 * Surge is a per-base-window signal: it has no sum, so a coarse grain reports the
 * largest z of its windows rather than a recomputed one.
 */

export interface SurgeState {
  /** Windows seen so far. */
  windows: number;
  mean: number;
  variance: number;
}

export interface SurgeOptions {
  alpha: number;
  warmUpWindows: number;
  minStdDev: number;
}

export const DEFAULT_SURGE_OPTIONS: SurgeOptions = { alpha: 0.1, warmUpWindows: 10, minStdDev: 1 };

export const initialSurgeState = (): SurgeState => ({ windows: 0, mean: 0, variance: 0 });

export interface SurgeStep {
  /** z-score of this window's count against the baseline before it; null during warm-up. */
  z: number | null;
  /** The state including this window. */
  state: SurgeState;
}

/** Scores one window's count and returns the next state. Pure: `state` is not changed. */
export function surgeStep(state: SurgeState, count: number, options: SurgeOptions = DEFAULT_SURGE_OPTIONS): SurgeStep {
  const z =
    state.windows < options.warmUpWindows ? null : (count - state.mean) / Math.max(Math.sqrt(state.variance), options.minStdDev);
  if (state.windows === 0) return { z, state: { windows: 1, mean: count, variance: 0 } };
  const diff = count - state.mean;
  const increment = options.alpha * diff;
  return {
    z,
    state: {
      windows: state.windows + 1,
      mean: state.mean + increment,
      variance: (1 - options.alpha) * (state.variance + diff * increment),
    },
  };
}

/** The z-score of every window of a sequence of counts, from `state` on. */
export function surgeSeries(
  counts: readonly number[],
  options: SurgeOptions = DEFAULT_SURGE_OPTIONS,
  state: SurgeState = initialSurgeState(),
): { zs: (number | null)[]; state: SurgeState } {
  const zs: (number | null)[] = [];
  let current = state;
  for (const count of counts) {
    const step = surgeStep(current, count, options);
    zs.push(step.z);
    current = step.state;
  }
  return { zs, state: current };
}

/** Feeds `emptyWindows` windows of 0 mentions (a gap with no events for the key). */
export function surgeSkip(state: SurgeState, emptyWindows: number, options: SurgeOptions = DEFAULT_SURGE_OPTIONS): SurgeState {
  let current = state;
  for (let i = 0; i < emptyWindows; i += 1) current = surgeStep(current, 0, options).state;
  return current;
}
