import { describe, expect, it } from 'vitest';
import { MAD_TO_SIGMA, Scorer } from '../../services/incidents/score.ts';
import { incidentSettings } from '../../services/incidents/settings.ts';
import type { MinuteCounts } from '../../services/incidents/signals.ts';

const MIN = 60_000;
const WEEK = 7 * 24 * 60 * MIN;
const T0 = Date.UTC(2026, 10, 23, 9, 0, 0);

/** Small baselines so a case fits on a line: 5 recent minutes (3 needed), 2 weeks (2 needed). */
const settings = incidentSettings({
  baseline: { recentMinutes: 5, minRecentSamples: 3, seasonalWeeks: 2, minSeasonalSamples: 2 },
});
const one = (id: string, patch: object) => incidentSettings({ baseline: settings.baseline, signals: { [id]: patch } });

const contacts = (offered: number, extra: Partial<NonNullable<MinuteCounts['contact']>> = {}): MinuteCounts => ({
  probe: null,
  contact: { offered, abandoned: 0, answered: offered, answeredWaitSecSum: 0, ...extra },
  survey: null,
  social: null,
});
const probes = (attempts: number, successes: number, planned: [number, number] = [0, 0]): MinuteCounts => ({
  probe: { attempts, successes, plannedAttempts: planned[0], plannedSuccesses: planned[1], retroAttempts: 0, retroSuccesses: 0 },
  contact: null,
  survey: null,
  social: null,
});

function series(values: MinuteCounts[], at = T0): Map<number, MinuteCounts> {
  return new Map(values.map((v, i) => [at + i * MIN, v]));
}

describe('anomaly scores', () => {
  it('judges contact volume against the median and MAD of the recent minutes when there is no seasonal history', () => {
    // Minutes 0-4: 2, 4, 3, 5, 3 contacts; minute 5: 12.
    const s = series([2, 4, 3, 5, 3, 12].map((n) => contacts(n)));
    // Two weeks before: one week has data, fewer than the 2 a seasonal baseline needs.
    s.set(T0 + 5 * MIN - 7 * 24 * 60 * MIN, contacts(40));
    const x = new Scorer(s, one('contact_volume', { windowMinutes: 1, minSpread: 1 })).scoreSignal(
      'contact_volume',
      T0 + 5 * MIN,
    );
    // Baseline: median of 3, 5, 3, 4, 2 = 3; |deviations| 0, 2, 0, 1, 1 → MAD 1 → spread 1.4826.
    expect(x.baselineKind).toBe('recent');
    expect(x.baselineSamples).toBe(5);
    expect(x.value).toBe(12);
    expect(x.baseline).toBe(3);
    expect(x.spread).toBe(MAD_TO_SIGMA);
    expect(x.score).toBeCloseTo(9 / 1.4826, 12);
    expect(x.anomalous).toBe(true);
    expect(x.reason).toBe(
      'contact volume 12 against 3 (last 5 minutes), spread 1.4826: 6.07 spreads above, at or past the threshold 4',
    );
  });

  it('sums a window of minutes for the value and for each baseline value', () => {
    // windowMinutes 2: minute 5 is 3 + 12 = 15 against windows ending at minutes 3, 2, 1, 0, -1.
    const s = series([2, 4, 3, 5, 3, 12].map((n) => contacts(n)));
    const x = new Scorer(s, one('contact_volume', { windowMinutes: 2 })).scoreSignal('contact_volume', T0 + 5 * MIN);
    // Windows ending at minute 3: 3 + 5 = 8, at 2: 4 + 3 = 7, at 1: 2 + 4 = 6, at 0: 2 (minute −1 has
    // no data); the window ending at −1 has no minute with data at all, so it is no value.
    expect(x.value).toBe(15);
    expect(x.baselineSamples).toBe(4);
    expect(x.baseline).toBe(6.5);
    // |8 − 6.5|, |7 − 6.5|, |6 − 6.5|, |2 − 6.5| = 1.5, 0.5, 0.5, 4.5 → MAD 1 → 1.4826, floored at 1.5.
    expect(x.spread).toBe(1.5);
    expect(x.score).toBe(8.5 / 1.5);
  });

  it('prefers the same minute of the week: a Monday peak judged against Mondays is not an anomaly', () => {
    const t = T0 + 2 * WEEK;
    const s = new Map<number, MinuteCounts>([
      // Recent minutes are quiet (night before), the same minute of the two weeks before was as busy.
      [t - 2 * WEEK, contacts(11)],
      [t - WEEK, contacts(13)],
      ...[1, 2, 3, 4, 5].map((i) => [t - i * MIN, contacts(1)] as [number, MinuteCounts]),
      [t, contacts(12)],
    ]);
    const x = new Scorer(s, one('contact_volume', { windowMinutes: 1 })).scoreSignal('contact_volume', t);
    // Median of 11 and 13 = 12, MAD 1 → 1.4826, floored at contact volume's minSpread 1.5.
    expect(x.baselineKind).toBe('seasonal');
    expect(x.baseline).toBe(12);
    expect(x.spread).toBe(1.5);
    expect(x.score).toBe(0);
    expect(x.anomalous).toBe(false);
  });

  it('floors the spread: Serviceability 0.5 against 0.99 and 0.97 a week and two weeks before', () => {
    const t = T0 + 2 * WEEK;
    const s = new Map<number, MinuteCounts>([
      [t - 2 * WEEK, probes(100, 99)],
      [t - WEEK, probes(100, 97)],
      [t, probes(100, 50)],
    ]);
    const x = new Scorer(s, settings).scoreSignal('serviceability', t);
    // Median 0.98, MAD 0.01 → 0.014826, under minSpread 0.02: (0.98 − 0.5) / 0.02 = 24.
    expect(x.baseline).toBeCloseTo(0.98, 12);
    expect(x.spread).toBe(0.02);
    expect(x.score).toBeCloseTo(24, 10);
    expect(x.anomalous).toBe(true);
  });

  it('leaves Availability to the attempts outside planned maintenance', () => {
    const s = series([...[0, 1, 2, 3, 4].map(() => probes(100, 100)), probes(100, 60, [40, 0])]);
    const x = new Scorer(s, settings).scoreSignal('availability', T0 + 5 * MIN);
    // 60 successes of the 60 attempts outside maintenance: 1, no drop. Serviceability: 0.6.
    expect(x.value).toBe(1);
    expect(x.count).toBe(60);
    expect(x.anomalous).toBe(false);
    const y = new Scorer(s, settings).scoreSignal('serviceability', T0 + 5 * MIN);
    expect(y.value).toBe(0.6);
    expect(y.score).toBeCloseTo(0.4 / 0.02, 10);
  });

  it('computes NPS over its window from summed answers, not from averaged minute scores', () => {
    const survey = (n: number, promoters: number, detractors: number): MinuteCounts => ({
      probe: null,
      contact: null,
      social: null,
      survey: { npsResponses: n, npsPromoters: promoters, npsDetractors: detractors, csatResponses: 0, csatSatisfied: 0 },
    });
    const s = series([survey(2, 2, 0), survey(3, 0, 3), survey(5, 1, 1)]);
    const x = new Scorer(s, one('nps', { windowMinutes: 3, minCount: 1 })).scoreSignal('nps', T0 + 2 * MIN);
    // 10 answers, 3 promoters, 4 detractors: (3 − 4) / 10 × 100 = −10 (the mean of minute NPS would be 100, −100, 0 → 0).
    expect(x.value).toBeCloseTo(-10, 12);
    expect(x.count).toBe(10);
  });

  it('does not judge a minute without enough history or events, and says why', () => {
    const s = series([contacts(2), contacts(3), contacts(2, { answered: 2, answeredWaitSecSum: 50 })]);
    const warm = new Scorer(s, one('contact_volume', { windowMinutes: 1 })).scoreSignal('contact_volume', T0 + 2 * MIN);
    // Of minutes 1, 0, −1, −2, −3 only two have data: fewer than the 3 a baseline needs.
    expect(warm.baselineKind).toBe('none');
    expect(warm.baselineSamples).toBe(2);
    const asa = new Scorer(s, one('asa_sec', { windowMinutes: 1, minCount: 4 })).scoreSignal('asa_sec', T0 + 2 * MIN);
    // ASA needs 4 answered contacts: none of the minutes has them, so there is no baseline.
    expect(asa.baselineKind).toBe('none');
    expect(asa.score).toBeNull();
    expect(asa.anomalous).toBe(false);
    expect(asa.reason).toBe('not judged: 0 past values, a baseline needs 3 (warming up)');
  });
});
