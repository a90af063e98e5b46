import { describe, expect, it } from 'vitest';
import type { CsiScore } from '../../services/model/score.ts';
import { scoreValueWeightedCsi } from '../../services/model/segments.ts';
import { model } from './fixtures.ts';

const m = model(); // segments: consumer 1, business 3, vip 4

/** Only csi and coverage matter to the value-weighted CSI. */
const csi = (value: number | null, coverage: number): CsiScore => ({
  csi: value,
  coverage,
  contributions: [],
  kqis: [],
  modelVersion: m.version,
  modelHash: m.hash,
});

describe('value-weighted CSI', () => {
  it('weights segment CSIs by customer value, over the segments with data', () => {
    // consumer 80 (weight 1), business 60 (weight 3), vip without data (weight 4):
    //   CSI = (1·80 + 3·60) / 4 = 65
    //   coverage = (1·1 + 3·0.5 + 4·0) / 8 = 2.5 / 8 = 0.3125
    //   points lost: consumer 1/4 · 20 = 5, business 3/4 · 40 = 30 → 35 = 100 − 65
    const v = scoreValueWeightedCsi(
      m,
      new Map([
        ['consumer', csi(80, 1)],
        ['business', csi(60, 0.5)],
        ['wholesale', csi(10, 1)],
      ]),
    );
    expect(v.csi).toBe(65);
    expect(v.coverage).toBe(0.3125);
    expect(v.segments).toEqual([
      { segment: 'consumer', weight: 1, weightShare: 0.25, csi: 80, coverage: 1, contribution: 20, pointsLost: 5 },
      { segment: 'business', weight: 3, weightShare: 0.75, csi: 60, coverage: 0.5, contribution: 45, pointsLost: 30 },
      { segment: 'vip', weight: 4, weightShare: 0, csi: null, coverage: 0, contribution: 0, pointsLost: 0 },
    ]);
    expect(v.unweighted).toEqual(['wholesale']);
  });

  it('differs from the plain CSI when a small valuable segment suffers', () => {
    // Mostly consumers at 95 would give a plain CSI near 95; VIPs at 40 pull the value-weighted one down.
    const v = scoreValueWeightedCsi(
      m,
      new Map([
        ['consumer', csi(95, 1)],
        ['business', csi(90, 1)],
        ['vip', csi(40, 1)],
      ]),
    );
    expect(v.csi).toBe(65.625); // (1·95 + 3·90 + 4·40) / 8 = 525 / 8
  });

  it('is null with coverage 0 when no weighted segment has a CSI', () => {
    const v = scoreValueWeightedCsi(m, new Map([['consumer', csi(null, 0)]]));
    expect(v.csi).toBeNull();
    expect(v.coverage).toBe(0);
  });
});
