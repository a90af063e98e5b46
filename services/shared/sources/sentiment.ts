import { createRequire } from 'node:module';

/**
 * Sentiment of a post's text in [-1, 1], from wink-sentiment (AFINN-based, handles
 * negation and emoticons). wink's `normalizedScore` runs about -5..5; divided by 5 and
 * clamped it lands on the design's -1..1 scale, where < -0.05 counts as negative.
 */
const require = createRequire(import.meta.url);
const wink = require('wink-sentiment') as (text: string) => { normalizedScore: number };
const version = (require('wink-sentiment/package.json') as { version: string }).version;

export const SENTIMENT_METHOD = `wink-sentiment@${version}`;

export function scoreSentiment(text: string): number {
  if (text.trim() === '') return 0;
  const score = wink(text).normalizedScore / 5;
  return Math.max(-1, Math.min(1, Math.round(score * 1e6) / 1e6));
}
