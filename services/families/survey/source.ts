import { z } from 'zod';
import { commonFields, name, UNKNOWN } from '../../shared/sources/common.ts';
import type { SourceDefinition } from '../../shared/sources/source.ts';

/** Score ranges per survey kind (design doc): nps 0–10, csat 1–5, ces 1–7. */
export const SURVEY_SCALES = { nps: [0, 10], csat: [1, 5], ces: [1, 7] } as const;

/** One survey response as posted. */
export const surveyInput = z
  .object({
    ...commonFields,
    service: commonFields.service.optional(),
    region: commonFields.region.optional(),
    kind: z.enum(['nps', 'csat', 'ces']),
    score: z.number().finite(),
    touchpoint: name().optional(),
    comment: z.string().max(10_000).optional(),
    customerId: name(256).optional(),
  })
  .superRefine((e, ctx) => {
    const [min, max] = SURVEY_SCALES[e.kind];
    if (e.score < min || e.score > max) {
      ctx.addIssue({ code: 'custom', path: ['score'], message: `${e.kind} scores run from ${min} to ${max}` });
    } else if (e.kind === 'nps' && !Number.isInteger(e.score)) {
      ctx.addIssue({ code: 'custom', path: ['score'], message: 'nps scores are whole numbers' });
    }
  });

export type SurveyInput = z.output<typeof surveyInput>;

export interface SurveyRecord {
  eventId: string;
  ts: number;
  receivedAt: number;
  service: string;
  region: string;
  segment: string | null;
  origin: string;
  kind: SurveyInput['kind'];
  score: number;
  touchpoint: string | null;
  comment: string | null;
  customerId: string | null;
}

export const surveySource: SourceDefinition<SurveyInput, SurveyRecord> = {
  name: 'survey',
  schemaFile: 'survey.v1.avsc',
  input: surveyInput,
  toRecord: (e, receivedAt) => ({
    eventId: e.eventId,
    ts: e.ts,
    receivedAt,
    service: e.service ?? UNKNOWN,
    region: e.region ?? UNKNOWN,
    segment: e.segment ?? null,
    origin: e.origin ?? 'customer',
    kind: e.kind,
    score: e.score,
    touchpoint: e.touchpoint ?? null,
    comment: e.comment ?? null,
    customerId: e.customerId ?? null,
  }),
  partitionKey: (r) => `${r.service}|${r.region}`,
  eventTime: (r) => r.ts,
};
