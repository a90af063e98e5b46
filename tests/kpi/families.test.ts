import { describe, expect, it } from 'vitest';
import { KPI_CATALOG, type KpiId } from '../../services/shared/kpi/catalog.ts';
import { KPI_FAMILIES, KPI_FAMILY_LIST } from '../../services/shared/kpi/families.ts';
import { mergeWindows, windowKpis } from '../../services/shared/kpi/window.ts';
import { ratioParts } from '../../services/shared/vitals/scores.ts';
import { abandon, answered, counter, mention, survey } from './records.ts';

/** The registry of built-in KPI families (shared/kpi/families.ts): one interface, looped over by the window and the read side. */
describe('KPI families', () => {
  it('each family gives exactly the catalog KPIs of its family, and the families together give the whole catalog', () => {
    const given: string[] = [];
    for (const family of KPI_FAMILY_LIST) {
      const ids = Object.keys(family.kpis(family.empty(), {})).sort();
      const listed = Object.entries(KPI_CATALOG)
        .filter(([, info]) => info.family === family.name)
        .map(([id]) => id)
        .sort();
      expect(ids, family.name).toEqual(listed);
      for (const id of Object.keys(family.shares)) {
        expect(KPI_CATALOG[id as KpiId].family, id).toBe(family.name);
        expect(KPI_CATALOG[id as KpiId].unit, id).toBe('ratio');
      }
      given.push(...ids);
    }
    expect(given.sort()).toEqual(Object.keys(KPI_CATALOG).sort());
  });

  it('merges and computes family by family: two windows by hand, with the counts behind each share', () => {
    // Window 1: probe 8 of 10 attempts, contacts answered at 10 s and 30 s, one NPS 10.
    const w1 = {
      probe: KPI_FAMILIES.probe.add(KPI_FAMILIES.probe.empty(), counter(10, 8)),
      contact: KPI_FAMILIES.contact.add(KPI_FAMILIES.contact.add(KPI_FAMILIES.contact.empty(), answered(10)), answered(30)),
      survey: KPI_FAMILIES.survey.add(KPI_FAMILIES.survey.empty(), survey('nps', 10)),
    };
    // Window 2: probe 1 of 2, one abandon at 12 s, two mentions (−0.5 and 0.3), one NPS 3.
    const w2 = {
      probe: KPI_FAMILIES.probe.add(KPI_FAMILIES.probe.empty(), counter(2, 1)),
      contact: KPI_FAMILIES.contact.add(KPI_FAMILIES.contact.empty(), abandon(12)),
      survey: KPI_FAMILIES.survey.add(KPI_FAMILIES.survey.empty(), survey('nps', 3)),
      social: KPI_FAMILIES.social.add(KPI_FAMILIES.social.add(KPI_FAMILIES.social.empty(), mention(-0.5)), mention(0.3)),
    };
    const merged = mergeWindows([w1, w2]);
    const kpis = windowKpis(merged, { socialSurge: 1.5 });
    // 9 of 12 attempts; offered 3 (2 answered + 1 abandoned), 1 within 20 s; NPS (1 − 1) / 2.
    expect(kpis.serviceability).toBe(9 / 12);
    expect(kpis.availability).toBe(9 / 12);
    expect(kpis.offered).toBe(3);
    expect(kpis.service_level).toBe(1 / 3);
    expect(kpis.abandonment_rate).toBe(1 / 3);
    expect(kpis.asa_sec).toBe(20);
    expect(kpis.nps).toBe(0);
    expect(kpis.social_volume).toBe(2);
    expect(kpis.social_negative_share).toBe(1 / 2);
    expect(kpis.social_mean_sentiment).toBeCloseTo(-0.1, 12);
    expect(kpis.social_surge).toBe(1.5);
    // The inputs are not changed by the merge.
    expect(windowKpis(w1).serviceability).toBe(8 / 10);
    expect(windowKpis(w2).service_level).toBe(0);

    const bucket = { start: 0, accumulators: merged, declared: {}, socialSurge: null };
    expect(ratioParts(bucket, 'serviceability', false)).toEqual({ numerator: 9, denominator: 12 });
    expect(ratioParts(bucket, 'service_level', false)).toEqual({ numerator: 1, denominator: 3 });
    expect(ratioParts(bucket, 'abandonment_rate', false)).toEqual({ numerator: 1, denominator: 3 });
    expect(ratioParts(bucket, 'social_negative_share', false)).toEqual({ numerator: 1, denominator: 2 });
    // NPS is a score, not a share of events; a family absent from the bucket gives 0 of 0.
    expect(ratioParts(bucket, 'nps', false)).toBeUndefined();
    expect(ratioParts({ ...bucket, accumulators: {} }, 'fcr', false)).toEqual({ numerator: 0, denominator: 0 });
  });
});
