import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codecFor } from '../../services/shared/sources/avro.ts';
import { SENTIMENT_METHOD } from '../../services/shared/sources/sentiment.ts';
import { EXAMPLES } from './examples.ts';
import { type Edge, json, startEdge } from './harness.ts';

/**
 * A social post without `sentiment` gets one computed from its text by wink-sentiment
 * (normalised score / 5, on the −1…1 scale), and the record says which method; a post
 * that brings its own sentiment keeps it, marked `provided`.
 */

let edge: Edge;
beforeAll(async () => {
  edge = await startEdge();
});
afterAll(async () => {
  await edge.close();
});

async function stored(posts: Array<Record<string, unknown>>) {
  const before = edge.bus.produced.length;
  const res = await edge.post('social', posts);
  expect(res.statusCode).toBe(200);
  return edge.bus.produced
    .slice(before)
    .flatMap((p) => p.messages)
    .map((m) => codecFor('social').decode(m.value))
    .map((r) => [r.eventId, r.sentiment, r.sentimentMethod]);
}

describe('social sentiment', () => {
  it('without sentiment: scored from the text by wink-sentiment, and the method names the library version', async () => {
    expect(SENTIMENT_METHOD).toMatch(/^wink-sentiment@\d+\.\d+\.\d+$/);
    expect(
      await stored([
        { ...EXAMPLES.social, eventId: 'neg', text: 'the tv stream keeps buffering, awful' },
        { ...EXAMPLES.social, eventId: 'pos', text: 'love the new fibre, super fast :)' },
        { ...EXAMPLES.social, eventId: 'negated', text: 'not bad at all' },
        { ...EXAMPLES.social, eventId: 'neutral', text: 'router' },
      ]),
    ).toEqual([
      ['neg', -0.6, SENTIMENT_METHOD],
      ['pos', 0.53334, SENTIMENT_METHOD],
      ['negated', 0.6, SENTIMENT_METHOD],
      ['neutral', 0, SENTIMENT_METHOD],
    ]);
  });

  it('with sentiment: kept as given and marked provided, whatever the text says', async () => {
    expect(
      await stored([
        { ...EXAMPLES.social, eventId: 'given', text: 'awful awful awful', sentiment: 0.25 },
        { ...EXAMPLES.social, eventId: 'no-text', text: undefined, sentiment: -1 },
      ]),
    ).toEqual([
      ['given', 0.25, 'provided'],
      ['no-text', -1, 'provided'],
    ]);
  });

  it('with neither sentiment nor text to score: an error on sentiment', async () => {
    const res = await edge.post('social', [
      { ...EXAMPLES.social, text: undefined },
      { ...EXAMPLES.social, text: '   ' },
      { ...EXAMPLES.social, sentiment: 1.5 },
    ]);
    expect(json<{ errors: Array<{ index: number; field: string }> }>(res).errors.map((e) => [e.index, e.field])).toEqual([
      [0, 'sentiment'],
      [1, 'sentiment'],
      [2, 'sentiment'],
    ]);
  });
});
