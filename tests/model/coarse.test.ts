import { describe, expect, it } from 'vitest';
import { addContact, type ContactMeasurement, emptyContact } from '../../services/families/contact/accumulator.ts';
import { scoreCsi, scoreWindows } from '../../services/model/score.ts';
import { mergeWindows, type WindowAccumulators, windowKpis } from '../../services/shared/kpi/window.ts';
import { model } from './fixtures.ts';

const asaOnly = model(`
version: 1
kpis:
  asa_sec: { best: 20, worst: 300 }
kqis:
  - name: care_responsiveness
    kpis: [{ kpi: asa_sec, weight: 1 }]
csi:
  kqis: [{ kqi: care_responsiveness, weight: 1 }]
`);

const minuteOf = (contacts: ContactMeasurement[]): WindowAccumulators => {
  const contact = emptyContact();
  for (const c of contacts) addContact(contact, c);
  return { contact };
};
const answeredAfter = (waitSec: number): ContactMeasurement => ({
  waitSec,
  abandoned: false,
  handleSec: null,
  resolved: null,
  transfers: null,
});

describe('KQI and CSI at a coarse grain', () => {
  // Minute 1: one contact waited 300 s (ASA 300, CSI 0). Minute 2: 99 contacts waited 20 s (CSI 100).
  const quiet = minuteOf([answeredAfter(300)]);
  const busy = minuteOf(Array.from({ length: 99 }, () => answeredAfter(20)));

  it('scores the KPIs of the merged accumulators, not the mean of the minute CSIs', () => {
    // Hour ASA = (300 + 99·20) / 100 = 22.8 s → score 100 · (22.8 − 300) / (20 − 300) = 99
    const hourly = scoreWindows(asaOnly, [quiet, busy]);
    expect(hourly.csi).toBeCloseTo(99, 10);
    const minuteCsis = [quiet, busy].map((w) => scoreCsi(asaOnly, windowKpis(w)).csi ?? Number.NaN);
    expect(minuteCsis).toEqual([0, 100]); // whose mean, 50, is what an average of scores would claim
  });

  it('scoreWindows is scoreCsi over windowKpis(mergeWindows(windows))', () => {
    expect(scoreWindows(asaOnly, [quiet, busy])).toEqual(scoreCsi(asaOnly, windowKpis(mergeWindows([quiet, busy]))));
  });

  it('a coarse window with a family missing in some minutes merges what there is', () => {
    const merged = mergeWindows([quiet, {}, busy]);
    expect(windowKpis(merged).asa_sec).toBe(22.8);
    expect(windowKpis(mergeWindows([])).asa_sec).toBeNull();
  });
});

describe('the shipped model and the KPI names', () => {
  it('every KPI the example model scores is computed by windowKpis', async () => {
    const { loadModel } = await import('../../services/model/load.ts');
    const shipped = await loadModel();
    const computed = Object.keys(windowKpis({}));
    for (const kpi of Object.keys(shipped.kpis)) expect(computed).toContain(kpi);
  });
});
