import { afterEach, describe, expect, it } from 'vitest';
import type { IngestStats } from '../../services/ingest/stats.ts';
import { demoReadCredentials } from '../../services/shared/auth/tokens.ts';
import { backfillTopicForSource, topicForSource } from '../../services/shared/bus/bus.ts';
import { sourceNames } from '../../services/shared/sources/registry.ts';
import { EXAMPLES, exampleNo } from './examples.ts';
import { type Edge, json, startEdge } from './harness.ts';

/**
 * `?backfill=true` sends history to `cx.<source>.backfill.v1` (same schema, its own
 * event-time clock downstream); `GET /api/v1/ingest/stats` reads the counters back per
 * source and checks `received = accepted + rejected`.
 */

let edge: Edge | undefined;
afterEach(async () => {
  await edge?.close();
  edge = undefined;
});

describe('backfill', () => {
  it('names the backfill topic beside the live one', () => {
    expect([topicForSource('contact'), backfillTopicForSource('contact')]).toEqual(['cx.contact.v1', 'cx.contact.backfill.v1']);
  });

  it('?backfill=true produces to cx.<source>.backfill.v1; false, 0 or nothing to cx.<source>.v1', async () => {
    edge = await startEdge();
    const answers = [];
    for (const [i, query] of ['backfill=true', 'backfill=1', 'backfill=false', 'backfill=0', ''].entries()) {
      const res = await edge.post('survey', [exampleNo('survey', i)], { query });
      answers.push([res.statusCode, json(res).topic]);
    }
    expect(answers).toEqual([
      [200, 'cx.survey.backfill.v1'],
      [200, 'cx.survey.backfill.v1'],
      [200, 'cx.survey.v1'],
      [200, 'cx.survey.v1'],
      [200, 'cx.survey.v1'],
    ]);
    expect(edge.bus.produced.map((p) => p.topic)).toEqual(answers.map(([, topic]) => topic));
  });

  it('another backfill value is a 400 naming the parameter, before any event is counted', async () => {
    edge = await startEdge();
    const res = await edge.post('survey', [EXAMPLES.survey], { query: 'backfill=maybe' });
    expect(res.statusCode).toBe(400);
    expect(json(res)).toMatchObject({ code: 'INVALID_REQUEST', errors: [{ field: 'querystring.backfill' }] });
    expect((await edge.ingest.stats()).sources.survey?.received).toBe(0);
  });
});

describe('GET /api/v1/ingest/stats', () => {
  it('per source: received, accepted, rejected by reason, dead-lettered, and whether the edge balances', async () => {
    edge = await startEdge();
    await edge.post('probe', [exampleNo('probe', 1), exampleNo('probe', 2), { ...EXAMPLES.probe, probeType: 'x' }]);
    await edge.post('probe', '[{"truncated', { query: 'backfill=true' });
    await edge.post('social', [EXAMPLES.social]);
    edge.bus.mode = 'fail';
    await edge.post('social', [exampleNo('social', 2), exampleNo('social', 3)]);
    // What the aggregator would count when it sends a message to cx.dlq.v1:
    edge.metrics.aggregatorOutcome.inc({ source: 'probe', outcome: 'dead_lettered' }, 1);
    edge.metrics.aggregatorOutcome.inc({ source: 'probe', outcome: 'counted' }, 1);
    // …and what it did with accepted events (docs/corrections.md): a correction and a retraction of probe events.
    edge.metrics.aggregatorOutcome.inc({ source: 'probe', outcome: 'corrected' }, 1);
    edge.metrics.aggregatorOutcome.inc({ source: 'probe', outcome: 'retracted' }, 1);

    const res = await edge.inject({
      method: 'GET',
      url: '/api/v1/ingest/stats',
      headers: { authorization: `Bearer ${demoReadCredentials().token}` },
    });
    expect(res.statusCode).toBe(200);
    const none = { counted: 0, duplicate: 0, corrected: 0, retracted: 0, late: 0 };
    const zero = {
      received: 0,
      accepted: 0,
      rejected: { total: 0, byReason: {} },
      deadLettered: 0,
      balanced: true,
      aggregated: none,
    };
    const stats = json<IngestStats>(res);
    // Every source the registry knows (declared ones included) is listed, with or without traffic.
    expect(Object.keys(stats.sources)).toEqual([...sourceNames].sort());
    expect([stats.balanced, stats.inFlightEvents, stats.maxInFlightEvents]).toEqual([true, 0, 50_000]);
    for (const quiet of sourceNames.filter((s) => s !== 'probe' && s !== 'social')) {
      expect(stats.sources[quiet], quiet).toEqual(zero);
    }
    expect(stats.sources.probe).toEqual({
      received: 4,
      accepted: 2,
      rejected: { total: 2, byReason: { invalid: 2 } },
      deadLettered: 1,
      balanced: true,
      aggregated: { ...none, counted: 1, corrected: 1, retracted: 1 },
    });
    expect(stats.sources.social).toEqual({
      received: 3,
      accepted: 1,
      rejected: { total: 2, byReason: { bus_unavailable: 2 } },
      deadLettered: 0,
      balanced: true,
      aggregated: none,
    });
  });

  it('says so when a source does not balance', async () => {
    edge = await startEdge();
    edge.metrics.ingestReceived.inc({ source: 'contact' }, 3);
    edge.metrics.ingestAccepted.inc({ source: 'contact' }, 2);
    const stats = await edge.ingest.stats();
    expect([stats.balanced, stats.sources.contact?.balanced, stats.sources.probe?.balanced]).toEqual([false, false, true]);
  });

  it('is described in the OpenAPI document, with the ingest route and its error answers', async () => {
    edge = await startEdge();
    const doc = json<{ paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>(
      await edge.inject({ method: 'GET', url: '/api/v1/openapi.json' }),
    );
    expect(Object.keys(doc.paths['/api/v1/ingest/stats']?.get?.responses ?? {})).toEqual(['200']);
    expect(Object.keys(doc.paths['/api/v1/events/{source}']?.post?.responses ?? {})).toEqual([
      '200',
      '400',
      '401',
      '403',
      '404',
      '413',
      '415',
      '429',
      '503',
    ]);
  });
});
