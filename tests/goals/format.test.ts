import { describe, expect, it } from 'vitest';
import { formatFeedValue } from '../../services/goals/format.ts';

/** Goal numbers as people read them: the unit comes from the feed (the KPI catalog for KPIs). */

describe('formatting goal values', () => {
  it('shows shares in percent with one decimal, and two from 99 % up so the nines stay visible', () => {
    expect(formatFeedValue(719 / 2230, { kind: 'kpi', name: 'abandonment_rate' })).toBe('32.2 %');
    expect(formatFeedValue(0.9995, { kind: 'availability' })).toBe('99.95 %');
    expect(formatFeedValue(0.995, { kind: 'availability' })).toBe('99.50 %');
    expect(formatFeedValue(0.99999, { kind: 'serviceability' })).toBe('99.99 %');
    expect(formatFeedValue(1, { kind: 'serviceability' })).toBe('100.0 %');
  });

  it('shows seconds and scores with one decimal, and nothing as a dash', () => {
    expect(formatFeedValue(42.25, { kind: 'kpi', name: 'asa_sec' })).toBe('42.3 s');
    expect(formatFeedValue(25, { kind: 'kpi', name: 'nps' })).toBe('25.0');
    expect(formatFeedValue(71.04, { kind: 'csi' })).toBe('71.0');
    expect(formatFeedValue(null, { kind: 'csi' })).toBe('—');
  });
});

describe('trend axis ticks', () => {
  it('are round steps of 1, 2 or 5 × a power of ten covering the range', async () => {
    const { niceTicks } = await import('../../services/goals/html.ts');
    expect(niceTicks(0.985, 1.005)).toEqual([0.985, 0.99, 0.995, 1, 1.005]);
    expect(niceTicks(12, 97)).toEqual([0, 20, 40, 60, 80, 100]);
  });
});
