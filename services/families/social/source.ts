import { z } from 'zod';
import { commonFields, name, UNKNOWN } from '../../shared/sources/common.ts';
import { sentimentOf } from '../../shared/sources/sentiment.ts';
import type { SourceDefinition } from '../../shared/sources/source.ts';

/** One social-media post or mention as posted. Without `sentiment`, it is computed from `text`. */
export const socialInput = z
  .object({
    ...commonFields,
    service: commonFields.service.optional(),
    region: commonFields.region.optional(),
    platform: name(),
    text: z.string().max(100_000).optional(),
    sentiment: z.number().finite().min(-1).max(1).optional(),
    author: name(256).optional(),
    reach: z.number().int().min(0).optional(),
  })
  .superRefine((e, ctx) => {
    if (e.sentiment === undefined && (e.text === undefined || e.text.trim() === '')) {
      ctx.addIssue({ code: 'custom', path: ['sentiment'], message: 'required when there is no text to score' });
    }
  });

export type SocialInput = z.output<typeof socialInput>;

export interface SocialRecord {
  eventId: string;
  ts: number;
  receivedAt: number;
  service: string;
  region: string;
  segment: string | null;
  origin: string;
  platform: string;
  text: string | null;
  sentiment: number;
  sentimentMethod: string;
  author: string | null;
  reach: number | null;
}

export const socialSource: SourceDefinition<SocialInput, SocialRecord> = {
  name: 'social',
  schemaFile: 'social.v1.avsc',
  input: socialInput,
  toRecord: (e, receivedAt) => {
    // Bounded in time for any text the schema accepts (see sentiment.ts); the method says how it was scored.
    const scored = e.sentiment === undefined ? sentimentOf(e.text ?? '') : { sentiment: e.sentiment, method: 'provided' };
    return {
      eventId: e.eventId,
      ts: e.ts,
      receivedAt,
      service: e.service ?? UNKNOWN,
      region: e.region ?? UNKNOWN,
      segment: e.segment ?? null,
      origin: e.origin ?? 'customer',
      platform: e.platform,
      text: e.text ?? null,
      sentiment: scored.sentiment,
      sentimentMethod: scored.method,
      author: e.author ?? null,
      reach: e.reach ?? null,
    };
  },
  partitionKey: (r) => `${r.service}|${r.region}`,
  eventTime: (r) => r.ts,
};
