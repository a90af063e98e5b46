import { describe, expect, it } from 'vitest';
import { explainCsi, explainCsiChange, formatKpiValue, storedExplanation } from '../../services/model/explain.ts';
import { scoreCsi } from '../../services/model/score.ts';
import type { KpiValues } from '../../services/shared/kpi/catalog.ts';
import { model } from './fixtures.ts';

const m = model();
// Scores as in score.test.ts: CSI 56.875; care responsiveness lost 33.75 (ASA 15 of them),
// customer voice 9.375 (CSAT 6.25 of them).
const full: KpiValues = { asa_sec: 160, service_level: 0.875, abandonment_rate: 0.375, nps: 40, csat: 70 };

describe('explainCsi', () => {
  it('names each KQI’s points lost, worst first, with the KPI that cost the most inside it', () => {
    expect(explainCsi(scoreCsi(m, full))).toBe(
      'CSI 56.9: care responsiveness cost 33.8 points (ASA 160 s vs best 20 s), ' +
        'customer voice cost 9.4 points (CSAT 70% vs best 90%)',
    );
  });

  it('shows coverage below 100 % and names the KQIs without data', () => {
    // customer_voice without data: CSI 55, coverage 0.75
    expect(explainCsi(scoreCsi(m, { asa_sec: 160, service_level: 0.875, abandonment_rate: 0.375 }))).toBe(
      'CSI 55.0 (coverage 75%): care responsiveness cost 45.0 points (ASA 160 s vs best 20 s); no data: customer voice',
    );
  });

  it('sums up the KQIs beyond maxKqis', () => {
    expect(explainCsi(scoreCsi(m, full), { maxKqis: 1 })).toBe(
      'CSI 56.9: care responsiveness cost 33.8 points (ASA 160 s vs best 20 s), 1 more KQI cost 9.4 points',
    );
  });

  it('says so when nothing was lost, and when there was no data', () => {
    const perfect = { asa_sec: 10, service_level: 1, abandonment_rate: 0, nps: 70, csat: 95 };
    expect(explainCsi(scoreCsi(m, perfect))).toBe('CSI 100.0: no points lost');
    expect(explainCsi(scoreCsi(m, {}))).toBe('CSI n/a: no KQI had data');
  });
});

describe('storedExplanation', () => {
  /** Numbers to 9 decimals: weight shares such as 2/5 are not exact in binary. */
  const rounded = (v: unknown): unknown =>
    JSON.parse(JSON.stringify(v), (_k, x: unknown) => (typeof x === 'number' ? Math.round(x * 1e9) / 1e9 : x));

  it('keeps every number of what had data, and leaves out the model’s own fields and what had none', () => {
    // care: ASA 160 s scores 50, SL 0.875 scores 75, abandonment 0.375 scores 25 → (2·50 + 2·75 + 25) / 5 = 55.
    // voice: NPS 40 scores 75; CSAT has no data (left out), so voice = 75 at coverage ½.
    // CSI weight shares 3/4 and 1/4 → 41.25 + 18.75 = 60; points lost 33.75 + 6.25 = 40.
    // A KPI's CSI points = its KQI's share × its own: ASA 0.4 · 50 = 20 → 15; SL 10 → 7.5;
    // abandonment 0.2 · 75 = 15 → 11.25; NPS 1 · 25 → 6.25: 40 in all.
    const score = scoreCsi(m, { asa_sec: 160, service_level: 0.875, abandonment_rate: 0.375, nps: 40 });
    expect(score.csi).toBeCloseTo(60, 9);
    expect(rounded(storedExplanation(score))).toEqual({
      contributions: [
        { kqi: 'care_responsiveness', weightShare: 0.75, score: 55, contribution: 41.25, pointsLost: 33.75 },
        { kqi: 'customer_voice', weightShare: 0.25, score: 75, contribution: 18.75, pointsLost: 6.25 },
      ],
      kqis: [
        {
          kqi: 'care_responsiveness',
          score: 55,
          coverage: 1,
          kpis: [
            { kpi: 'asa_sec', value: 160, score: 50, weightShare: 0.4, pointsLost: 20, csiPointsLost: 15 },
            { kpi: 'service_level', value: 0.875, score: 75, weightShare: 0.4, pointsLost: 10, csiPointsLost: 7.5 },
            { kpi: 'abandonment_rate', value: 0.375, score: 25, weightShare: 0.2, pointsLost: 15, csiPointsLost: 11.25 },
          ],
        },
        {
          kqi: 'customer_voice',
          score: 75,
          coverage: 0.5,
          kpis: [{ kpi: 'nps', value: 40, score: 75, weightShare: 1, pointsLost: 25, csiPointsLost: 6.25 }],
        },
      ],
    });
  });

  it('is empty without data, and far smaller than the whole score', () => {
    expect(storedExplanation(scoreCsi(m, {}))).toEqual({ contributions: [], kqis: [] });
    const score = scoreCsi(m, { asa_sec: 160 });
    const whole = JSON.stringify({ contributions: score.contributions, kqis: score.kqis }).length;
    expect(JSON.stringify(storedExplanation(score)).length).toBeLessThan(whole / 3);
  });
});

describe('explainCsiChange', () => {
  it('splits a CSI change into KQI contribution changes that add up to it', () => {
    // Before, ASA 20 s (score 100): care = (200 + 150 + 25) / 5 = 75; CSI = (3·75 + 62.5) / 4 = 71.875.
    // After, ASA 160 s: CSI 56.875. Care's contribution 0.75·75 = 56.25 → 41.25: −15.
    const before = scoreCsi(m, { ...full, asa_sec: 20 });
    const after = scoreCsi(m, full);
    expect(explainCsiChange(before, after)).toBe(
      'CSI fell 15.0 points (71.9 → 56.9): care responsiveness -15.0 (ASA 160 s vs best 20 s)',
    );
    expect(explainCsiChange(after, before)).toBe('CSI rose 15.0 points (56.9 → 71.9): care responsiveness +15.0');
  });

  it('handles windows without a CSI', () => {
    expect(explainCsiChange(scoreCsi(m, {}), scoreCsi(m, full))).toBe('CSI n/a → 56.9');
  });
});

describe('formatKpiValue', () => {
  it('writes ratios as percentages and keeps a few significant digits', () => {
    expect(formatKpiValue(0.8125, 'ratio')).toBe('81.25%');
    expect(formatKpiValue(0.9995, 'ratio')).toBe('99.95%');
    expect(formatKpiValue(2.125, 'pct')).toBe('2.13%');
    expect(formatKpiValue(95, 's')).toBe('95 s');
    expect(formatKpiValue(123.4, 'ms')).toBe('123 ms');
    expect(formatKpiValue(12.34, 'ms')).toBe('12.3 ms');
    expect(formatKpiValue(4.256, 'score')).toBe('4.26');
    expect(formatKpiValue(-20, 'score')).toBe('-20');
  });
});
