import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { BusError } from '../../services/shared/bus/bus.ts';
import { EXAMPLES, exampleNo } from './examples.ts';
import { counter, type Edge, json, startEdge } from './harness.ts';

/**
 * What the edge refuses as a whole, and how: 413 (body bytes or event count), 415
 * (content type), 429 (over the in-flight bound, no buffering), 503 (Kafka down or
 * too slow). 429 and 503 carry Retry-After; nothing of such a body is accepted.
 */

let edge: Edge | undefined;
afterEach(async () => {
  edge?.bus.releaseHeld();
  await edge?.close();
  edge = undefined;
});

const probes = (n: number, from = 0) => Array.from({ length: n }, (_, i) => exampleNo('probe', from + i));

describe('413: too large', () => {
  it('a body over CXV_INGEST_MAX_BODY_BYTES is refused with the limit in the message, and counts nothing', async () => {
    edge = await startEdge({ maxBodyBytes: 2048 });
    const small = JSON.stringify(probes(1));
    const big = JSON.stringify(probes(20));
    expect(big.length).toBeGreaterThan(2048);
    expect((await edge.post('probe', small)).statusCode).toBe(200);
    const res = await edge.post('probe', big);
    expect(res.statusCode).toBe(413);
    expect(json(res)).toEqual({
      code: 'BODY_TOO_LARGE',
      message: 'Request body over the limit of 2048 bytes: split it into smaller batches.',
    });
    expect(await counter(edge.metrics, 'cxv_ingest_events_received_total')).toBe(1);
  });

  it('a body holding more events than the in-flight bound can ever take is 413 BATCH_TOO_LARGE', async () => {
    edge = await startEdge({ maxInFlightEvents: 5 });
    const res = await edge.post('probe', probes(6));
    expect(res.statusCode).toBe(413);
    expect(json(res)).toEqual({
      code: 'BATCH_TOO_LARGE',
      message:
        'The body holds more than 5 events; one request may carry at most 5 (CXV_INGEST_MAX_IN_FLIGHT_EVENTS). Split it into smaller batches.',
    });
    expect(edge.bus.produced).toEqual([]);
    expect((await edge.post('probe', probes(5))).statusCode).toBe(200);
  });
});

describe('415: content type', () => {
  it.each([
    ['text/csv', 'a,b'],
    ['text/plain', JSON.stringify([EXAMPLES.probe])],
    ['application/xml', '<events/>'],
    ['application/x-www-form-urlencoded', 'a=1'],
  ])('%s is refused with the one error shape', async (contentType, payload) => {
    edge = await startEdge();
    const res = await edge.post('probe', payload, { contentType });
    expect(res.statusCode).toBe(415);
    expect(json(res)).toEqual({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: 'Unsupported content type: send application/json or application/x-ndjson.',
    });
    expect(await counter(edge.metrics, 'cxv_ingest_events_received_total')).toBe(0);
  });

  it('no content type at all is refused too', async () => {
    edge = await startEdge();
    const res = await edge.post('probe', JSON.stringify([EXAMPLES.probe]), { contentType: null });
    expect([res.statusCode, json(res).code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
  });

  it('application/json with a charset parameter, and the NDJSON aliases, are accepted', async () => {
    edge = await startEdge();
    const statuses = await Promise.all(
      ['application/json; charset=utf-8', 'application/x-ndjson', 'application/ndjson', 'application/jsonl'].map(
        async (contentType, i) => (await edge?.post('probe', JSON.stringify(exampleNo('probe', i)), { contentType }))?.statusCode,
      ),
    );
    expect(statuses).toEqual([200, 200, 200, 200]);
  });
});

describe('429: over the in-flight bound', () => {
  it('refuses at once with Retry-After while Kafka holds earlier events; takes bodies again once they settle', async () => {
    edge = await startEdge({ busMode: 'hold', maxInFlightEvents: 5 });
    const first = edge.post('probe', probes(4));
    await waitFor(() => edge?.bus.held() === 1);
    expect(edge.ingest.capacity.inFlight).toBe(4);

    const second = await edge.post('probe', probes(2, 10));
    expect(second.statusCode).toBe(429);
    expect(second.headers['retry-after']).toBe('1');
    expect(json(second)).toEqual({
      code: 'INGEST_OVERLOADED',
      message:
        "Ingest is at its bound of 5 events awaiting Kafka's acknowledgement (4 now); nothing of this body was accepted. Resend it after Retry-After.",
    });
    // A body that fits still goes in: the bound is on events, not on requests.
    const fits = edge.post('probe', probes(1, 20));
    await waitFor(() => edge?.bus.held() === 2);

    edge.bus.releaseHeld();
    expect([(await first).statusCode, (await fits).statusCode]).toEqual([200, 200]);
    expect(edge.ingest.capacity.inFlight).toBe(0);
    // The refused body was not looked at, so it is counted nowhere: the sender still holds it.
    expect(await counter(edge.metrics, 'cxv_ingest_events_received_total', { source: 'probe' })).toBe(5);
    expect(await counter(edge.metrics, 'cxv_ingest_events_accepted_total', { source: 'probe' })).toBe(5);
  });
});

describe('429: the aggregator too far behind on the topic (CXV_INGEST_MAX_BUS_BACKLOG_BYTES)', () => {
  it('refuses the topic while its uncommitted bytes are over the limit, names the partition, and takes it again once committed', async () => {
    const meanOf = (messages: Array<{ key: string; value: Buffer; headers?: Record<string, string> }>) =>
      messages.reduce(
        (sum, m) =>
          sum +
          m.value.length +
          m.key.length +
          24 +
          Object.entries(m.headers ?? {}).reduce((h, [k, v]) => h + k.length + v.length, 0),
        0,
      ) / messages.length;
    // The limit: just under 9,000 messages of the mean probe size.
    const probe = await startEdge();
    expect((await probe.post('probe', probes(10))).statusCode).toBe(200);
    const mean = meanOf(probe.bus.produced.flatMap((p) => p.messages));
    await probe.close();
    edge = await startEdge({ maxBusBacklogBytes: Math.floor(9000 * mean) - 1 });
    expect((await edge.post('probe', probes(10))).statusCode).toBe(200);
    edge.bus.ends = [
      { topic: 'cx.probe.v1', partition: 0, offset: 10_000 },
      { topic: 'cx.probe.v1', partition: 1, offset: 500 },
    ];
    edge.bus.committed.set('cx.probe.v1:0', 1_000);
    await edge.backlog.sample();
    expect(await counter(edge.metrics, 'cxv_ingest_bus_backlog_bytes', { topic: 'cx.probe.v1' })).toBe(Math.round(9000 * mean));

    const refused = await edge.post('probe', probes(3, 20));
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(json(refused).code).toBe('BUS_BACKLOG');
    expect(json(refused).message).toContain('not yet committed');
    expect(json(refused).message).toContain('cx.probe.v1 partition 0');
    expect(json(refused).message).toContain('CXV_INGEST_MAX_BUS_BACKLOG_BYTES');
    // Another topic is not held back by this one.
    expect((await edge.post('contact', [EXAMPLES.contact])).statusCode).toBe(200);
    expect(await counter(edge.metrics, 'cxv_ingest_backlog_refusals_total', { topic: 'cx.probe.v1' })).toBe(1);

    // The aggregator commits 1,000 more: 8,000 behind, under the limit.
    edge.bus.committed.set('cx.probe.v1:0', 2_000);
    await edge.backlog.sample();
    expect((await edge.post('probe', probes(3, 20))).statusCode).toBe(200);
    // Refused bodies were not looked at: 10 + 3 received, all accepted.
    expect(await counter(edge.metrics, 'cxv_ingest_events_received_total', { source: 'probe' })).toBe(13);
    expect(await counter(edge.metrics, 'cxv_ingest_events_accepted_total', { source: 'probe' })).toBe(13);
  });

  it('with no commit at all, everything the partition holds counts as behind', async () => {
    edge = await startEdge({ maxBusBacklogBytes: 1 });
    expect((await edge.post('probe', probes(1))).statusCode).toBe(200);
    edge.bus.ends = [{ topic: 'cx.probe.v1', partition: 2, offset: 1 }];
    await edge.backlog.sample();
    expect((await edge.post('probe', probes(1, 1))).statusCode).toBe(429);
  });
});

describe('503: Kafka down or too slow', () => {
  it('Kafka down: 503 BUS_UNAVAILABLE with Retry-After; the valid events count as rejected bus_unavailable', async () => {
    edge = await startEdge({ busMode: 'fail' });
    const res = await edge.post('probe', [EXAMPLES.probe, { ...EXAMPLES.probe, probeType: 'x' }]);
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(json(res)).toEqual({
      code: 'BUS_UNAVAILABLE',
      message:
        'Kafka did not acknowledge the events; nothing was accepted. Resend the body after Retry-After. (kafka producer could not connect to double:9092)',
    });
    expect(await counter(edge.metrics, 'cxv_ingest_events_rejected_total', { reason: 'bus_unavailable' })).toBe(1);
    expect(await counter(edge.metrics, 'cxv_ingest_events_rejected_total', { reason: 'invalid' })).toBe(1);
    expect(await counter(edge.metrics, 'cxv_ingest_events_accepted_total')).toBe(0);
    expect(edge.ingest.capacity.inFlight).toBe(0);
  });

  it('no acknowledgement within the deadline: 503 with Retry-After; capacity stays taken until Kafka settles', async () => {
    edge = await startEdge({ busMode: 'hold', produceTimeoutMs: 50, maxInFlightEvents: 3 });
    const res = await edge.post('probe', probes(2));
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(json(res).message).toContain('Kafka did not acknowledge 2 event(s) on cx.probe.v1 within 50 ms');
    expect(await counter(edge.metrics, 'cxv_ingest_events_rejected_total', { reason: 'bus_timeout' })).toBe(2);
    // The two events still sit in the producer: the bound still counts them.
    expect(edge.ingest.capacity.inFlight).toBe(2);
    expect((await edge.post('probe', probes(2, 10))).statusCode).toBe(429);
    // Kafka acknowledges late: they are on the topic (counted there) and the capacity is back.
    edge.bus.releaseHeld();
    await waitFor(() => edge?.ingest.capacity.inFlight === 0);
    expect(await counter(edge.metrics, 'cxv_bus_messages_produced_total', { topic: 'cx.probe.v1' })).toBe(2);
    expect(await counter(edge.metrics, 'cxv_ingest_events_accepted_total')).toBe(0);
  });

  it('a delivery that fails after the deadline gives its capacity back too', async () => {
    edge = await startEdge({ busMode: 'hold', produceTimeoutMs: 20 });
    expect((await edge.post('probe', probes(3))).statusCode).toBe(503);
    edge.bus.releaseHeld(new BusError('BUS_PRODUCE_FAILED', 'gone'));
    await waitFor(() => edge?.ingest.capacity.inFlight === 0);
    expect(await counter(edge.metrics, 'cxv_bus_messages_produced_total')).toBe(0);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}
