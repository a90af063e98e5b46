import { createRequire } from 'node:module';

/**
 * Sentiment of a post's text in [-1, 1], from wink-sentiment (AFINN-based, handles
 * negation and emoticons). wink's `normalizedScore` runs about -5..5; divided by 5 and
 * clamped it lands on the design's -1..1 scale, where < -0.05 counts as negative.
 *
 * Bounded in time for any text the social schema accepts (100,000 chars). wink's
 * tokenizer is quadratic in the length of a run without whitespace (20,000 × "a" took
 * 2 s on one core, finding 3 of issue 15) and superlinear in the whole text, so a
 * text longer than SENTIMENT_CHUNK_CHARS is scored in chunks cut at whitespace, each
 * run longer than SENTIMENT_MAX_TOKEN_CHARS is left out (no scored word, emoji or
 * hashtag is that long), only the first SENTIMENT_MAX_CHARS are scored, and the
 * chunks' raw sums are normalised together exactly as wink normalises one text. What
 * was done is recorded in the method (`wink-sentiment@x.y.z+chunked`,
 * `+long-runs-skipped`, `+first-20000-chars`), so a score is never passed off as
 * something it is not; a text scored in one call keeps the plain method. Measured: a
 * 100,000-char text of words scores in about 12 ms (57 ms without the cap), a
 * 100,000-char run without whitespace in under 1 ms (17.8 s before).
 */
const require = createRequire(import.meta.url);

interface WinkToken {
  value: string;
  tag: string;
  score?: number;
}
const wink = require('wink-sentiment') as (text: string) => {
  normalizedScore: number;
  tokenizedPhrase?: WinkToken[];
};
const version = (require('wink-sentiment/package.json') as { version: string }).version;

export const SENTIMENT_METHOD = `wink-sentiment@${version}`;
/** Longest text scored in one wink call; longer ones are chunked at whitespace. */
export const SENTIMENT_CHUNK_CHARS = 1_000;
/** Runs without whitespace longer than this are skipped in chunked scoring. */
export const SENTIMENT_MAX_TOKEN_CHARS = 64;
/** Characters of a text given to wink at most (skipped runs aside); a post is rarely longer, the rest is not read. */
export const SENTIMENT_MAX_CHARS = 20_000;

export interface Sentiment {
  sentiment: number;
  /** SENTIMENT_METHOD, with `+chunked`, `+long-runs-skipped`, `+first-N-chars` when the text needed them. */
  method: string;
}

const clampScore = (normalized: number) => Math.max(-1, Math.min(1, Math.round((normalized / 5) * 1e6) / 1e6));

export function scoreSentiment(text: string): number {
  return sentimentOf(text).sentiment;
}

export function sentimentOf(text: string): Sentiment {
  if (text.trim() === '') return { sentiment: 0, method: SENTIMENT_METHOD };
  if (text.length <= SENTIMENT_CHUNK_CHARS)
    return { sentiment: clampScore(wink(text).normalizedScore), method: SENTIMENT_METHOD };
  return chunkedSentiment(text);
}

/** wink's normalize(), over sums gathered from several calls. */
function normalize(hashtagSum: number, wordSum: number, hashtags: number, scoredWords: number, words: number): number {
  const perHashtag = hashtags ? hashtagSum / hashtags : 0;
  let perWord = 0;
  if (scoredWords) {
    perWord = wordSum / scoredWords;
    const avgLength = 15;
    perWord /= Math.sqrt(words > avgLength ? words / avgLength : 1);
  }
  return perHashtag && perWord ? (perHashtag + perWord) / 2 : perWord || perHashtag;
}

function chunkedSentiment(text: string): Sentiment {
  const sums = { hashtagSum: 0, wordSum: 0, hashtags: 0, scoredWords: 0, words: 0 };
  let skipped = false;
  let cut = false;
  let read = 0;
  let chunk = '';
  const flush = () => {
    if (chunk === '') return;
    for (const token of wink(chunk).tokenizedPhrase ?? []) {
      if (token.tag === 'hashtag') {
        if (token.score) {
          sums.hashtagSum += token.score;
          sums.hashtags += 1;
        }
        continue;
      }
      if (token.tag !== 'word' && token.tag !== 'emoji' && token.tag !== 'emoticon') continue;
      sums.words += 1;
      if (token.score) {
        sums.wordSum += token.score;
        sums.scoredWords += 1;
      }
    }
    chunk = '';
  };
  for (const run of text.split(/\s+/)) {
    if (run === '') continue;
    if (run.length > SENTIMENT_MAX_TOKEN_CHARS) {
      skipped = true;
      continue;
    }
    read += run.length + 1;
    if (read > SENTIMENT_MAX_CHARS + 1) {
      cut = true;
      break;
    }
    if (chunk.length + run.length + 1 > SENTIMENT_CHUNK_CHARS) flush();
    chunk = chunk === '' ? run : `${chunk} ${run}`;
  }
  flush();
  const normalized = Number(normalize(sums.hashtagSum, sums.wordSum, sums.hashtags, sums.scoredWords, sums.words).toFixed(4));
  return {
    sentiment: clampScore(normalized),
    method: `${SENTIMENT_METHOD}+chunked${skipped ? '+long-runs-skipped' : ''}${cut ? `+first-${SENTIMENT_MAX_CHARS}-chars` : ''}`,
  };
}
