import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codecFor } from '../../services/shared/sources/avro.ts';
import { SENTIMENT_METHOD, scoreSentiment } from '../../services/shared/sources/sentiment.ts';
import {
  EVENT_SOURCES,
  type EventSource,
  EXAMPLES,
  exampleNo,
  mistyped,
  REQUIRED,
  REQUIRED_WITHOUT,
  without,
} from './examples.ts';
import { type Edge, json, NOW, startEdge } from './harness.ts';

/**
 * Per source, over HTTP: valid events are produced to `cx.<source>.v1` in Avro with the
 * writer's fingerprint; every required field, missing or mistyped, is named by the
 * index of its event and its field path while the valid neighbours go through.
 */

/** What example no. 1 of each source becomes on the bus (receivedAt = NOW; defaults filled in). */
const RECORDS: Record<EventSource, Record<string, unknown>> = {
  probe: {
    eventId: 'p-1-1',
    ts: Date.parse('2026-11-23T11:59:00Z'),
    receivedAt: NOW,
    service: 'voice',
    region: 'north',
    segment: null,
    origin: 'network',
    probeId: 'rtp-7',
    probeType: 'active',
    attempts: 1,
    successes: 1,
    latencyMs: 31.5,
    jitterMs: null,
    packetLossPct: null,
    packetsSent: null,
    throughputKbps: null,
    mos: null,
  },
  // declaredAt (a day before receipt) needs a maintenance-history token; this one may
  // not back-date, so the declaration counts as made when received (tests/security/maintenance-honesty).
  maintenance: {
    eventId: `CHG-1@${NOW}`,
    ts: NOW,
    receivedAt: NOW,
    origin: 'manager',
    maintenanceId: 'CHG-1',
    service: 'voice',
    region: 'north',
    start: Date.parse('2026-11-23T13:00:00Z'),
    end: Date.parse('2026-11-23T13:30:00Z'),
    declaredAt: NOW,
    description: null,
  },
  contact: {
    eventId: 'c-1-1',
    ts: NOW - 60_000,
    receivedAt: NOW,
    service: 'broadband',
    region: 'south',
    segment: null,
    origin: 'customer',
    channel: 'voice',
    queue: 'billing',
    waitSec: 42,
    abandoned: false,
    handleSec: 300,
    resolved: true,
    transfers: 0,
    reason: null,
    agentId: null,
    customerId: null,
  },
  survey: {
    eventId: 's-1-1',
    ts: Date.parse('2026-11-23T10:58:00Z'),
    receivedAt: NOW,
    service: 'mobile-data',
    region: 'unknown',
    segment: null,
    origin: 'customer',
    kind: 'nps',
    score: 9,
    touchpoint: 'app',
    comment: 'fast',
    customerId: null,
  },
  social: {
    eventId: 'x-1-1',
    ts: Date.parse('2026-11-23T11:57:00Z'),
    receivedAt: NOW,
    service: 'iptv',
    region: 'unknown',
    segment: null,
    origin: 'customer',
    platform: 'x',
    text: 'the tv stream keeps buffering, awful',
    sentiment: scoreSentiment('the tv stream keeps buffering, awful'),
    sentimentMethod: SENTIMENT_METHOD,
    author: '@viewer',
    reach: 1200,
  },
};

interface IngestBody {
  code: string;
  received: number;
  accepted: number;
  rejected: number;
  errors: Array<{ index: number; field: string; code: string; message: string }>;
}

let edge: Edge;
beforeAll(async () => {
  edge = await startEdge();
});
afterAll(async () => {
  await edge.close();
});

describe.each(EVENT_SOURCES)('source %s', (source) => {
  it('accepts valid events: produced to its topic in Avro, with the schema name and fingerprint headers', async () => {
    const before = edge.bus.produced.length;
    const res = await edge.post(source, [exampleNo(source, 1), exampleNo(source, 2)]);
    expect(res.statusCode).toBe(200);
    expect(json<IngestBody>(res)).toMatchObject({ code: 'ACCEPTED', received: 2, accepted: 2, rejected: 0, errors: [] });
    const batch = edge.bus.produced.slice(before);
    expect(batch.map((b) => [b.topic, b.messages.length])).toEqual([[`cx.${source}.v1`, 2]]);
    const codec = codecFor(source);
    for (const message of batch[0]?.messages ?? []) {
      expect(message.headers).toEqual({ 'cxv-schema': `${source}.v1`, 'cxv-fingerprint': codec.fingerprint });
    }
    expect(codec.decode(batch[0]?.messages[0]?.value ?? Buffer.alloc(0))).toEqual(RECORDS[source]);
  });

  it.each(REQUIRED[source])('a missing %s is an error at that event and field; its neighbours are accepted', async (field) => {
    const res = await edge.post(source, [exampleNo(source, 10), without(exampleNo(source, 11), field), exampleNo(source, 12)]);
    expect(res.statusCode).toBe(400);
    const body = json<IngestBody>(res);
    expect([body.code, body.received, body.accepted, body.rejected]).toEqual(['INVALID_EVENTS', 3, 2, 1]);
    expect(body.errors.map((e) => [e.index, e.field])).toEqual([[1, field]]);
    expect(body.errors[0]?.message).toMatch(/^required/);
  });

  it.each(REQUIRED[source])('a mistyped %s is an error at that event and field', async (field) => {
    const bad = { ...exampleNo(source, 21), [field]: mistyped(EXAMPLES[source][field]) };
    const res = await edge.post(source, [exampleNo(source, 20), bad]);
    expect(res.statusCode).toBe(400);
    const body = json<IngestBody>(res);
    expect([body.received, body.accepted, body.rejected]).toEqual([2, 1, 1]);
    expect(body.errors.map((e) => [e.index, e.field])).toEqual([[1, field]]);
  });

  it('every other field of the example is optional (unless leaving it out makes another one required)', async () => {
    const conditional = REQUIRED_WITHOUT[source] ?? {};
    const optional = Object.keys(EXAMPLES[source]).filter((f) => !REQUIRED[source].includes(f));
    expect(optional.length).toBeGreaterThan(0);
    const res = await edge.post(
      source,
      optional.map((f, i) => without(exampleNo(source, 30 + i), f)),
    );
    const body = json<IngestBody>(res);
    expect(body.errors.map((e) => [optional[e.index], e.field])).toEqual(Object.entries(conditional));
    expect(body.accepted).toBe(optional.length - Object.keys(conditional).length);
  });

  it('takes NDJSON too; a broken line is an error at its own index', async () => {
    const ndjson = [JSON.stringify(exampleNo(source, 40)), '{"broken": ', JSON.stringify(exampleNo(source, 41))].join('\r\n');
    const res = await edge.post(source, ndjson, { contentType: 'application/x-ndjson' });
    const body = json<IngestBody>(res);
    expect([res.statusCode, body.received, body.accepted]).toEqual([400, 3, 2]);
    expect(body.errors.map((e) => [e.index, e.field, e.code])).toEqual([[1, '(line)', 'invalid_json']]);
  });
});

describe('source-specific rules', () => {
  it('probe: a counter sample needs attempts and successes, with successes ≤ attempts', async () => {
    const { success: _, ...base } = EXAMPLES.probe;
    const res = await edge.post('probe', [
      { ...base, attempts: 10, successes: 9 },
      { ...base, attempts: 10 },
      { ...base, attempts: 10, successes: 11 },
      { ...base, attempts: 10, successes: 9, success: true },
    ]);
    expect(json<IngestBody>(res).errors.map((e) => [e.index, e.field])).toEqual([
      [1, 'successes'],
      [2, 'successes'],
      [3, 'success'],
    ]);
  });

  it('survey: the score must fit the scale of its kind', async () => {
    const res = await edge.post('survey', [
      { ...EXAMPLES.survey, kind: 'nps', score: 11 },
      { ...EXAMPLES.survey, kind: 'csat', score: 0 },
      { ...EXAMPLES.survey, kind: 'ces', score: 7 },
      { ...EXAMPLES.survey, kind: 'nps', score: 8.5 },
    ]);
    expect(json<IngestBody>(res).errors.map((e) => [e.index, e.field, e.message])).toEqual([
      [0, 'score', 'nps scores run from 0 to 10'],
      [1, 'score', 'csat scores run from 1 to 5'],
      [3, 'score', 'nps scores are whole numbers'],
    ]);
  });

  it('contact: channel is one of the known channels', async () => {
    const res = await edge.post('contact', [{ ...EXAMPLES.contact, channel: 'pigeon' }]);
    expect(json<IngestBody>(res).errors.map((e) => [e.index, e.field, e.code])).toEqual([[0, 'channel', 'invalid_value']]);
  });

  it('maintenance: end must follow start', async () => {
    const res = await edge.post('maintenance', [{ ...EXAMPLES.maintenance, end: EXAMPLES.maintenance.start }]);
    expect(json<IngestBody>(res).errors.map((e) => [e.index, e.field, e.message])).toEqual([[0, 'end', 'must be after start']]);
  });

  it('a UTF-8 byte-order mark before the body is ignored (JSON and NDJSON)', async () => {
    const asJson = await edge.post('probe', `\ufeff${JSON.stringify([exampleNo('probe', 50)])}`);
    const ndjson = await edge.post('probe', `\ufeff${JSON.stringify(exampleNo('probe', 51))}`, {
      contentType: 'application/x-ndjson',
    });
    expect([asJson.statusCode, ndjson.statusCode]).toEqual([200, 200]);
  });

  it('a timestamp in another format says which formats are accepted', async () => {
    const res = await edge.post('probe', [
      { ...EXAMPLES.probe, ts: '23/11/2026 11:59' },
      { ...EXAMPLES.probe, ts: 1.5 },
    ]);
    expect(json<IngestBody>(res).errors.map((e) => [e.index, e.field, e.message])).toEqual([
      [0, 'ts', 'must be ISO-8601 with an offset, e.g. 2026-11-23T10:00:00Z'],
      [1, 'ts', 'must be ISO-8601 with an offset (e.g. 2026-11-23T10:00:00Z) or whole epoch milliseconds'],
    ]);
  });
});
