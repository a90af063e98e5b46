import { builtInSource } from '../../shared/sources/built-in.ts';
import { sentimentOf } from '../../shared/sources/sentiment.ts';
import type { SocialRecord } from './record.ts';

export type { SocialRecord } from './record.ts';

/**
 * One social-media post or mention, declared by schemas/avro/social.v1.avsc; service and
 * region may be left out (stored as `unknown`). Without `sentiment`, it is computed from
 * `text`, and `sentimentMethod` (never posted) says how.
 */
export const socialSource = builtInSource<SocialRecord>({
  name: 'social',
  schemaFile: 'social.v1.avsc',
  optional: ['service', 'region', 'sentiment'],
  serverFields: ['sentimentMethod'],
  names: { platform: 128, author: 256 },
  checks: { text: { maxLength: 100_000 }, sentiment: { min: -1, max: 1 }, reach: { min: 0 } },
  refine(e, ctx) {
    if (e.sentiment === undefined && (e.text === undefined || e.text === null || e.text.trim() === '')) {
      ctx.addIssue({ code: 'custom', path: ['sentiment'], message: 'required when there is no text to score' });
    }
  },
  derive(e, record) {
    // Bounded in time for any text the schema accepts (see sentiment.ts); the method says how it was scored.
    const scored = e.sentiment === undefined ? sentimentOf(e.text ?? '') : { sentiment: e.sentiment, method: 'provided' };
    record.sentiment = scored.sentiment;
    record.sentimentMethod = scored.method;
  },
  partitionKey: (r) => `${r.service}|${r.region}`,
});
