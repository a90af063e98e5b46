import { describe, expect, it } from 'vitest';
import {
  addSurvey,
  emptySurvey,
  mergeSurvey,
  type SurveyAccumulator,
  surveyKpis,
} from '../../services/families/survey/accumulator.ts';
import type { SurveyRecord } from '../../services/families/survey/source.ts';
import { survey } from './records.ts';

const windowOf = (records: SurveyRecord[]): SurveyAccumulator => {
  const acc = emptySurvey();
  for (const r of records) addSurvey(acc, r);
  return acc;
};

const nps = (...scores: number[]) => scores.map((s) => survey('nps', s));
const csat = (...scores: number[]) => scores.map((s) => survey('csat', s));
const ces = (...scores: number[]) => scores.map((s) => survey('ces', s));

describe('survey KPIs', () => {
  it('NPS = % promoters (9–10) − % detractors (0–6)', () => {
    // promoters 10, 10, 9, 9 (4); passives 8, 7; detractors 6, 3 (2): 100 · (4 − 2) / 8 = 25
    expect(surveyKpis(windowOf(nps(10, 10, 9, 8, 7, 6, 3, 9))).nps).toBe(25);
  });

  it('NPS runs from −100 (all detractors) to 100 (all promoters)', () => {
    expect(surveyKpis(windowOf(nps(0, 6))).nps).toBe(-100);
    expect(surveyKpis(windowOf(nps(9, 10))).nps).toBe(100);
    expect(surveyKpis(windowOf(nps(7, 8))).nps).toBe(0);
  });

  it('CSAT = share of 4–5 over csat responses, as a percentage', () => {
    // 5, 4, 4.5 satisfied of 5 responses: 60 %
    expect(surveyKpis(windowOf(csat(5, 4, 3, 2, 4.5))).csat).toBe(60);
  });

  it('CES = mean ces score', () => {
    expect(surveyKpis(windowOf(ces(2, 3, 7))).ces).toBe(4);
  });

  it('each KPI rests only on its own kind; a kind without responses is null', () => {
    const k = surveyKpis(windowOf([...nps(10, 0), ...csat(5)]));
    expect(k).toEqual({ nps: 0, csat: 100, ces: null, npsResponses: 2, csatResponses: 1, cesResponses: 0 });
  });

  it('the merge of two windows equals the window of all their responses', () => {
    const a = [...nps(10, 3), ...csat(4)];
    const b = [...nps(9, 9, 7), ...ces(5, 6), ...csat(1)];
    expect(mergeSurvey(windowOf(a), windowOf(b))).toEqual(windowOf([...a, ...b]));
    // NPS of the union: promoters 10, 9, 9 (3), detractors 3 (1) of 5: 40
    expect(surveyKpis(mergeSurvey(windowOf(a), windowOf(b))).nps).toBe(40);
  });
});
