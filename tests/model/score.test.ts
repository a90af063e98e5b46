import { describe, expect, it } from 'vitest';
import { scoreCsi, scoreKpi, scoreKqi } from '../../services/model/score.ts';
import type { KpiValues } from '../../services/shared/kpi/catalog.ts';
import { model } from './fixtures.ts';

const m = model();
const careDefinition = m.kqis[0];
if (!careDefinition) throw new Error('fixture has KQIs');

/**
 * Hand-computed values (fixtures.ts):
 *   asa_sec 160:          100 · (160 − 300) / (20 − 300)   = 50
 *   service_level 0.875:  100 · (0.875 − 0.5) / (1 − 0.5)  = 75
 *   abandonment 0.375:    100 · (0.375 − 0.5) / (0 − 0.5)  = 25
 *   care_responsiveness = (2·50 + 2·75 + 1·25) / 5 = 275 / 5 = 55
 *   nps 40:               100 · (40 + 20) / (60 + 20)      = 75
 *   csat 70:              100 · (70 − 50) / (90 − 50)      = 50
 *   customer_voice = (75 + 50) / 2 = 62.5
 *   CSI = (3·55 + 1·62.5) / 4 = 227.5 / 4 = 56.875
 */
const full: KpiValues = { asa_sec: 160, service_level: 0.875, abandonment_rate: 0.375, nps: 40, csat: 70 };

const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);

describe('scoreKpi', () => {
  it('is 100 at best, 0 at worst, linear between, for higher-is-better and lower-is-better alike', () => {
    expect(scoreKpi(0.9, { best: 0.9, worst: 0.5 })).toBe(100);
    expect(scoreKpi(0.5, { best: 0.9, worst: 0.5 })).toBe(0);
    expect(scoreKpi(0.75, { best: 1, worst: 0.5 })).toBe(50);
    expect(scoreKpi(20, { best: 20, worst: 300 })).toBe(100);
    expect(scoreKpi(300, { best: 20, worst: 300 })).toBe(0);
    expect(scoreKpi(90, { best: 20, worst: 300 })).toBe(75); // 100 · (90 − 300) / (20 − 300) = 100 · 210 / 280
  });

  it('is clamped beyond best and worst', () => {
    expect(scoreKpi(5, { best: 20, worst: 300 })).toBe(100);
    expect(scoreKpi(900, { best: 20, worst: 300 })).toBe(0);
    expect(scoreKpi(1.2, { best: 1, worst: 0.5 })).toBe(100);
    expect(scoreKpi(-3, { best: 1, worst: 0.5 })).toBe(0);
  });

  it('is null without a value', () => {
    expect(scoreKpi(null, { best: 1, worst: 0 })).toBeNull();
    expect(scoreKpi(undefined, { best: 1, worst: 0 })).toBeNull();
    expect(scoreKpi(Number.NaN, { best: 1, worst: 0 })).toBeNull();
  });
});

describe('scoreKqi', () => {
  it('is the weighted mean of its KPI scores, each KPI with its weight share and points lost', () => {
    const k = scoreKqi(m, careDefinition, full);
    expect(k.score).toBe(55);
    expect(k.coverage).toBe(1);
    expect(k.kpis.map((x) => [x.kpi, x.value, x.score, x.weightShare, x.pointsLost])).toEqual([
      ['asa_sec', 160, 50, 0.4, 20], // 2/5 · (100 − 50)
      ['service_level', 0.875, 75, 0.4, 10], // 2/5 · (100 − 75)
      ['abandonment_rate', 0.375, 25, 0.2, 15], // 1/5 · (100 − 25)
    ]);
    expect(sum(k.kpis.map((x) => x.pointsLost))).toBe(100 - 55);
  });

  it('renormalises weights over the KPIs with data, and reports the share of weight that had data', () => {
    // Without service level: (2·50 + 1·25) / 3 = 125 / 3; coverage (2 + 1) / 5 = 0.6
    const k = scoreKqi(m, careDefinition, { asa_sec: 160, abandonment_rate: 0.375 });
    expect(k.score).toBeCloseTo(125 / 3, 12);
    expect(k.coverage).toBe(0.6);
    expect(k.kpis[1]).toMatchObject({ kpi: 'service_level', value: null, score: null, weightShare: 0, pointsLost: 0 });
    expect(sum(k.kpis.map((x) => x.weightShare))).toBeCloseTo(1, 12);
    expect(Math.abs(sum(k.kpis.map((x) => x.pointsLost)) - (100 - (k.score ?? 0)))).toBeLessThan(1e-9);
  });

  it('has no score and coverage 0 when none of its KPIs has data', () => {
    const k = scoreKqi(m, careDefinition, {});
    expect(k.score).toBeNull();
    expect(k.coverage).toBe(0);
  });
});

describe('scoreCsi', () => {
  it('is the weighted mean of KQI scores, with contributions and points lost per KQI', () => {
    const s = scoreCsi(m, full);
    expect(s.csi).toBe(56.875);
    expect(s.coverage).toBe(1);
    expect(s.contributions).toEqual([
      // 3/4 · 55 = 41.25 brought, 3/4 · 45 = 33.75 lost
      {
        kqi: 'care_responsiveness',
        label: 'care responsiveness',
        weight: 3,
        weightShare: 0.75,
        score: 55,
        contribution: 41.25,
        pointsLost: 33.75,
      },
      // 1/4 · 62.5 = 15.625 brought, 1/4 · 37.5 = 9.375 lost
      {
        kqi: 'customer_voice',
        label: 'customer voice',
        weight: 1,
        weightShare: 0.25,
        score: 62.5,
        contribution: 15.625,
        pointsLost: 9.375,
      },
    ]);
    expect(s.modelVersion).toBe(3);
    expect(s.modelHash).toBe(m.hash);
  });

  it('points lost add up to exactly 100 − CSI, over KQIs and over every KPI', () => {
    const s = scoreCsi(m, full);
    expect(sum(s.contributions.map((c) => c.pointsLost))).toBe(100 - 56.875); // 43.125
    expect(sum(s.contributions.map((c) => c.contribution))).toBe(56.875);
    // KPI share of the CSI's loss: asa 3/4·20 = 15, SL 7.5, abandonment 11.25, nps 1/4·12.5 = 3.125, csat 6.25
    const kpiLoss = s.kqis.flatMap((k) => k.kpis.map((x) => [x.kpi, x.csiPointsLost]));
    expect(kpiLoss).toEqual([
      ['asa_sec', 15],
      ['service_level', 7.5],
      ['abandonment_rate', 11.25],
      ['nps', 3.125],
      ['csat', 6.25],
    ]);
    expect(sum(kpiLoss.map(([, v]) => v as number))).toBe(43.125);
  });

  it('with a KPI missing: its KQI is scored on the rest and the CSI coverage counts it as partly present', () => {
    // customer_voice on nps alone: 75, coverage 1/2. CSI = (3·55 + 1·75) / 4 = 60.
    // CSI coverage = (3·1 + 1·0.5) / 4 = 0.875
    const s = scoreCsi(m, { ...full, csat: null });
    expect(s.csi).toBe(60);
    expect(s.coverage).toBe(0.875);
    expect(s.kqis[1]).toMatchObject({ kqi: 'customer_voice', score: 75, coverage: 0.5 });
    expect(Math.abs(sum(s.contributions.map((c) => c.pointsLost)) - (100 - 60))).toBeLessThan(1e-9);
  });

  it('with a whole KQI missing: weights renormalise over the others and coverage drops by its weight', () => {
    const s = scoreCsi(m, { asa_sec: 160, service_level: 0.875, abandonment_rate: 0.375 });
    expect(s.csi).toBe(55);
    expect(s.coverage).toBe(0.75);
    expect(s.contributions[1]).toEqual({
      kqi: 'customer_voice',
      label: 'customer voice',
      weight: 1,
      weightShare: 0,
      score: null,
      contribution: 0,
      pointsLost: 0,
    });
    expect(sum(s.contributions.map((c) => c.pointsLost))).toBe(45);
  });

  it('with no data at all: no CSI and coverage 0', () => {
    const s = scoreCsi(m, {});
    expect(s.csi).toBeNull();
    expect(s.coverage).toBe(0);
    expect(s.contributions.every((c) => c.pointsLost === 0 && c.contribution === 0)).toBe(true);
  });

  it('points lost add up to 100 − CSI within floating point on awkward values', () => {
    const s = scoreCsi(m, { asa_sec: 97.3, service_level: 0.8123, abandonment_rate: 0.0711, nps: 13, csat: 81.7 });
    const csi = s.csi ?? Number.NaN;
    expect(Math.abs(sum(s.contributions.map((c) => c.pointsLost)) - (100 - csi))).toBeLessThan(1e-9);
    expect(Math.abs(sum(s.kqis.flatMap((k) => k.kpis.map((x) => x.csiPointsLost))) - (100 - csi))).toBeLessThan(1e-9);
  });
});
