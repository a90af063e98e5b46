import { builtInSource } from '../../shared/sources/built-in.ts';
import type { SurveyRecord } from './record.ts';

export type { SurveyRecord } from './record.ts';

/** Score ranges per survey kind (design doc): nps 0–10, csat 1–5, ces 1–7. */
export const SURVEY_SCALES = { nps: [0, 10], csat: [1, 5], ces: [1, 7] } as const;

/** One survey response, declared by schemas/avro/survey.v1.avsc; service and region may be left out (stored as `unknown`). */
export const surveySource = builtInSource<SurveyRecord>({
  name: 'survey',
  schemaFile: 'survey.v1.avsc',
  optional: ['service', 'region'],
  names: { touchpoint: 128, customerId: 256 },
  checks: { comment: { maxLength: 10_000 } },
  refine(e, ctx) {
    if (e.kind === undefined || e.score === undefined) return;
    const [min, max] = SURVEY_SCALES[e.kind];
    if (e.score < min || e.score > max) {
      ctx.addIssue({ code: 'custom', path: ['score'], message: `${e.kind} scores run from ${min} to ${max}` });
    } else if (e.kind === 'nps' && !Number.isInteger(e.score)) {
      ctx.addIssue({ code: 'custom', path: ['score'], message: 'nps scores are whole numbers' });
    }
  },
  partitionKey: (r) => `${r.service}|${r.region}`,
});
