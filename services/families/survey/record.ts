// Generated from schemas/avro/survey.v1.avsc by `npm run generate:records`: do not edit by hand.

/** One survey response: NPS (0-10), CSAT (1-5) or CES (1-7). */
export interface SurveyRecord {
  eventId: string;
  ts: number;
  receivedAt: number;
  service: string;
  region: string;
  segment: string | null;
  origin: string;
  kind: 'nps' | 'csat' | 'ces';
  score: number;
  touchpoint: string | null;
  comment: string | null;
  customerId: string | null;
}
