/**
 * The survey KPI family (design doc, "KPIs"):
 *
 * - NPS = 100 × (promoters − detractors) / nps responses, promoters scoring 9–10 and
 *   detractors 0–6; from −100 to 100.
 * - CSAT = 100 × csat responses scoring 4 or more / csat responses; a percentage.
 * - CES = Σ ces score / ces responses (the survey's own 1–7 scale).
 *
 * Each KPI rests only on responses of its kind; one with no responses is null.
 */

import type { KpiFamilyDefinition } from '../../shared/kpi/family.ts';
import { ratio } from '../../shared/kpi/ratio.ts';
import type { SurveyRecord } from './record.ts';

/** What the accumulator needs of a SurveyRecord (source.ts, beside this file). */
export type SurveyMeasurement = Pick<SurveyRecord, 'kind' | 'score'>;

export interface SurveyAccumulator {
  npsResponses: number;
  npsPromoters: number;
  npsDetractors: number;
  csatResponses: number;
  csatSatisfied: number;
  cesResponses: number;
  cesScoreSum: number;
}

export interface SurveyKpis {
  nps: number | null;
  csat: number | null;
  ces: number | null;
  npsResponses: number;
  csatResponses: number;
  cesResponses: number;
}

export const emptySurvey = (): SurveyAccumulator => ({
  npsResponses: 0,
  npsPromoters: 0,
  npsDetractors: 0,
  csatResponses: 0,
  csatSatisfied: 0,
  cesResponses: 0,
  cesScoreSum: 0,
});

export const NPS_PROMOTER_MIN = 9;
export const NPS_DETRACTOR_MAX = 6;
export const CSAT_SATISFIED_MIN = 4;

/** Adds one response in place. */
export function addSurvey(acc: SurveyAccumulator, r: SurveyMeasurement): SurveyAccumulator {
  switch (r.kind) {
    case 'nps':
      acc.npsResponses += 1;
      if (r.score >= NPS_PROMOTER_MIN) acc.npsPromoters += 1;
      else if (r.score <= NPS_DETRACTOR_MAX) acc.npsDetractors += 1;
      break;
    case 'csat':
      acc.csatResponses += 1;
      if (r.score >= CSAT_SATISFIED_MIN) acc.csatSatisfied += 1;
      break;
    case 'ces':
      acc.cesResponses += 1;
      acc.cesScoreSum += r.score;
      break;
  }
  return acc;
}

/** The accumulator of both windows (every field summed). Inputs are not changed. */
export function mergeSurvey(a: SurveyAccumulator, b: SurveyAccumulator): SurveyAccumulator {
  const out = emptySurvey();
  for (const field of Object.keys(out) as (keyof SurveyAccumulator)[]) out[field] = a[field] + b[field];
  return out;
}

export function surveyKpis(acc: SurveyAccumulator): SurveyKpis {
  const nps = ratio(100 * (acc.npsPromoters - acc.npsDetractors), acc.npsResponses);
  return {
    nps,
    csat: ratio(100 * acc.csatSatisfied, acc.csatResponses),
    ces: ratio(acc.cesScoreSum, acc.cesResponses),
    npsResponses: acc.npsResponses,
    csatResponses: acc.csatResponses,
    cesResponses: acc.cesResponses,
  };
}

/** The survey family (family.ts). */
export const SURVEY_FAMILY: KpiFamilyDefinition<SurveyAccumulator, SurveyMeasurement, 'survey'> = {
  name: 'survey',
  empty: emptySurvey,
  add: addSurvey,
  merge: mergeSurvey,
  kpis: (acc) => {
    const s = surveyKpis(acc);
    return { nps: s.nps, csat: s.csat, ces: s.ces };
  },
  shares: {},
};
