import { describe, expect, it } from 'vitest';
import {
  addSocial,
  emptySocial,
  mergeSocial,
  type SocialAccumulator,
  socialKpis,
} from '../../services/families/social/accumulator.ts';
import type { SocialRecord } from '../../services/families/social/source.ts';
import { DEFAULT_SURGE_OPTIONS, initialSurgeState, surgeSeries, surgeSkip, surgeStep } from '../../services/shared/kpi/surge.ts';
import { mention } from './records.ts';

const windowOf = (records: SocialRecord[]): SocialAccumulator => {
  const acc = emptySocial();
  for (const r of records) addSocial(acc, r);
  return acc;
};

describe('social KPIs', () => {
  it('volume, negative share (sentiment < −0.05, strictly) and mean sentiment', () => {
    // −0.05 sits on the boundary and is not negative; −0.25 and −1 are.
    const k = socialKpis(windowOf([0.5, -0.05, -0.25, -1, 0].map(mention)));
    expect(k.volume).toBe(5);
    expect(k.negativeShare).toBe(2 / 5);
    expect(k.meanSentiment).toBeCloseTo(-0.16, 12); // (0.5 − 0.05 − 0.25 − 1 + 0) / 5 = −0.8 / 5
  });

  it('a window without mentions has volume 0 and no share or mean', () => {
    expect(socialKpis(emptySocial())).toEqual({ volume: 0, negativeShare: null, meanSentiment: null });
  });

  it('the merge of two windows equals the window of all mentions', () => {
    const a = [0.5, -0.5].map(mention);
    const b = [-0.75, 0.25, 1].map(mention);
    expect(mergeSocial(windowOf(a), windowOf(b))).toEqual(windowOf([...a, ...b]));
  });
});

describe('social surge: z-score against an exponentially weighted baseline', () => {
  const options = { alpha: 0.5, warmUpWindows: 2, minStdDev: 1 };

  it('scores each window against the baseline of the windows before it (hand-computed, α = 0.5)', () => {
    // 10: warm-up, z null; state mean 10, variance 0
    // 12: warm-up, z null; d = 2, mean = 10 + 1 = 11, variance = 0.5 · (0 + 2 · 1) = 1
    // 30: z = (30 − 11) / √1 = 19; d = 19, mean = 11 + 9.5 = 20.5, variance = 0.5 · (1 + 19 · 9.5) = 90.75
    const { zs, state } = surgeSeries([10, 12, 30], options);
    expect(zs).toEqual([null, null, 19]);
    expect(state).toEqual({ windows: 3, mean: 20.5, variance: 90.75 });
  });

  it('floors the standard deviation at 1 mention: after a flat run, one window of +3 is z = 3, not infinity', () => {
    const { zs } = surgeSeries([...Array(12).fill(5), 8]);
    expect(zs.slice(0, 10).every((z) => z === null)).toBe(true); // default warm-up: 10 windows
    expect(zs[10]).toBe(0);
    expect(zs[12]).toBe(3);
  });

  it('is pure: a step returns a new state and leaves the old one as it was', () => {
    const state = { windows: 20, mean: 4, variance: 4 };
    const step = surgeStep(state, 10, DEFAULT_SURGE_OPTIONS);
    expect(step.z).toBe(3); // (10 − 4) / 2
    expect(state).toEqual({ windows: 20, mean: 4, variance: 4 });
    expect(step.state.windows).toBe(21);
  });

  it('can resume from a stored state: two halves give the same z-scores as the whole sequence', () => {
    const counts = [3, 4, 2, 5, 9, 4, 3, 40, 6, 5, 4, 3, 2, 20];
    const whole = surgeSeries(counts, options);
    const first = surgeSeries(counts.slice(0, 6), options);
    const second = surgeSeries(counts.slice(6), options, first.state);
    expect([...first.zs, ...second.zs]).toEqual(whole.zs);
    expect(second.state).toEqual(whole.state);
  });

  it('a gap of empty windows is the same as feeding zeros', () => {
    const start = surgeSeries([6, 7, 8], options).state;
    expect(surgeSkip(start, 4, options)).toEqual(surgeSeries([0, 0, 0, 0], options, start).state);
    expect(surgeSkip(initialSurgeState(), 0, options)).toEqual(initialSurgeState());
  });
});
