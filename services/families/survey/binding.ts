import { kpiBinding } from '../../aggregator/families/generic.ts';
import { SURVEY_FAMILY, type SurveyAccumulator } from './accumulator.ts';
import type { SurveyRecord } from './source.ts';

/** The survey family in kpi_1m, keyed (service, region, segment, origin). */
export const surveyBinding = kpiBinding<SurveyRecord, SurveyAccumulator>({
  source: 'survey',
  family: 'survey',
  dims: (r) => ({ service: r.service, region: r.region, segment: r.segment, origin: r.origin }),
  empty: SURVEY_FAMILY.empty,
  add: SURVEY_FAMILY.add,
});
