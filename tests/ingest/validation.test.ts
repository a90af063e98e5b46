import { describe, expect, it } from 'vitest';
import { parseEventsBody } from '../../services/ingest/body.ts';
import { IngestService } from '../../services/ingest/ingest.ts';
import type { Bus, OutgoingMessage } from '../../services/shared/bus/bus.ts';
import { BusError } from '../../services/shared/bus/bus.ts';
import { createMetrics } from '../../services/shared/metrics.ts';
import { codecFor } from '../../services/shared/sources/avro.ts';

/** A bus double that records what was produced (or fails on demand). */
function recordingBus(fail = false) {
  const produced: Array<{ topic: string; messages: OutgoingMessage[] }> = [];
  const bus: Bus = {
    client: 'kafkajs',
    brokers: 'test:9092',
    async produce(topic, messages) {
      if (fail) throw new BusError('BUS_UNAVAILABLE', 'broker down');
      produced.push({ topic, messages });
    },
    subscribe: () => Promise.reject(new Error('not in this test')),
    ensureTopics: async () => {},
    health: async () => ({ ok: true, client: 'kafkajs', brokers: 'test:9092', detail: '' }),
    producedEnds: () => [],
    committedOffsets: async () => [],
    close: async () => {},
  };
  return { bus, produced };
}

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const valid = {
  eventId: 'e1',
  ts: '2026-11-23T11:59:00Z',
  service: 'voice',
  region: 'north',
  probeId: 'p',
  probeType: 'active',
  success: true,
};

async function counter(metrics: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string>) {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return value?.value ?? 0;
}

describe('ingest validation', () => {
  it('accepts valid events, encodes them in Avro keyed by service|region, and names each bad field by index', async () => {
    const { bus, produced } = recordingBus();
    const metrics = createMetrics();
    const ingest = new IngestService(bus, metrics, { maxFutureMs: 300_000, now: () => NOW });
    const body = parseEventsBody(
      JSON.stringify([
        valid,
        { ...valid, eventId: 'e2', probeType: 'satellite' },
        { ...valid, eventId: 'e3', success: undefined, attempts: 10, successes: 11 },
        { ...valid, eventId: 'e4', ts: '23/11/2026' },
        { ...valid, eventId: 'e5', success: undefined, attempts: 10, successes: 9, latencyMs: 12.5 },
        { ...valid, eventId: undefined, service: '' },
      ]),
      'json',
    );
    const result = await ingest.ingest('probe', body);
    expect(result.received).toBe(6);
    expect(result.accepted).toBe(2);
    expect(result.rejected).toBe(4);
    expect(result.errors.map((e) => [e.index, e.field])).toEqual([
      [1, 'probeType'],
      [2, 'successes'],
      [3, 'ts'],
      [5, 'eventId'],
      [5, 'service'],
    ]);
    expect(produced).toHaveLength(1);
    expect(produced[0]?.topic).toBe('cx.probe.v1');
    const messages = produced[0]?.messages ?? [];
    expect(messages.map((m) => m.key)).toEqual(['voice|north', 'voice|north']);
    const decoded = messages.map((m) => codecFor('probe').decode(m.value));
    expect(decoded.map((d) => [d.eventId, d.ts, d.attempts, d.successes, d.latencyMs])).toEqual([
      ['e1', Date.UTC(2026, 10, 23, 11, 59, 0), 1, 1, null],
      ['e5', Date.UTC(2026, 10, 23, 11, 59, 0), 10, 9, 12.5],
    ]);
    expect(messages[0]?.headers?.['cxv-schema']).toBe('probe.v1');
    expect(await counter(metrics, 'cxv_ingest_events_received_total', { source: 'probe' })).toBe(6);
    expect(await counter(metrics, 'cxv_ingest_events_accepted_total', { source: 'probe' })).toBe(2);
    expect(await counter(metrics, 'cxv_ingest_events_rejected_total', { source: 'probe', reason: 'invalid' })).toBe(4);
  });

  it('requires either success or attempts + successes, not both', async () => {
    const { bus } = recordingBus();
    const ingest = new IngestService(bus, createMetrics(), { maxFutureMs: 300_000, now: () => NOW });
    const both = { ...valid, attempts: 1, successes: 1 };
    const neither = { ...valid, success: undefined };
    const half = { ...valid, success: undefined, attempts: 3 };
    const r = await ingest.ingest('probe', parseEventsBody(JSON.stringify([both, neither, half]), 'json'));
    expect(r.errors.map((e) => [e.index, e.field])).toEqual([
      [0, 'success'],
      [1, 'success'],
      [2, 'successes'],
    ]);
  });

  it('rejects events stamped too far in the future, with a reason on ts', async () => {
    const { bus } = recordingBus();
    const ingest = new IngestService(bus, createMetrics(), { maxFutureMs: 60_000, now: () => NOW });
    const r = await ingest.ingest(
      'probe',
      parseEventsBody(
        JSON.stringify([
          { ...valid, ts: NOW + 61_000 },
          { ...valid, ts: NOW + 59_000 },
        ]),
        'json',
      ),
    );
    expect(r.errors).toEqual([expect.objectContaining({ index: 0, field: 'ts', code: 'too_far_in_future' })]);
    expect(r.accepted).toBe(1);
  });

  it('reads NDJSON; a broken line is an error at its own index and the others go through', async () => {
    const { bus, produced } = recordingBus();
    const ingest = new IngestService(bus, createMetrics(), { maxFutureMs: 300_000, now: () => NOW });
    const text = `${JSON.stringify(valid)}\n{"eventId": "x", broken\n\n${JSON.stringify({ ...valid, eventId: 'e9' })}\n`;
    const r = await ingest.ingest('probe', parseEventsBody(text, 'ndjson'));
    expect([r.received, r.accepted, r.rejected]).toEqual([3, 2, 1]);
    expect(r.errors.map((e) => [e.index, e.field, e.code])).toEqual([[1, '(line)', 'invalid_json']]);
    expect(produced[0]?.messages).toHaveLength(2);
  });

  it('maintenance: end must follow start; declaredAt defaults to the time received (retroactive if after start)', async () => {
    const { bus, produced } = recordingBus();
    const ingest = new IngestService(bus, createMetrics(), { maxFutureMs: 300_000, now: () => NOW });
    const r = await ingest.ingest(
      'maintenance',
      parseEventsBody(
        JSON.stringify([
          { maintenanceId: 'm1', service: 'iptv', start: NOW - 60_000, end: NOW + 60_000 },
          { maintenanceId: 'm2', service: 'iptv', start: NOW, end: NOW - 1 },
        ]),
        'json',
      ),
    );
    expect(r.errors.map((e) => [e.index, e.field])).toEqual([[1, 'end']]);
    const m = codecFor('maintenance').decode(produced[0]?.messages[0]?.value ?? Buffer.alloc(0));
    expect([m.declaredAt, m.region, m.eventId, produced[0]?.messages[0]?.key]).toEqual([NOW, null, `m1@${NOW}`, 'iptv']);
  });

  it('when Kafka does not acknowledge, nothing is accepted and the counters say why', async () => {
    const { bus } = recordingBus(true);
    const metrics = createMetrics();
    const ingest = new IngestService(bus, metrics, { maxFutureMs: 300_000, now: () => NOW });
    await expect(
      ingest.ingest('probe', parseEventsBody(JSON.stringify([valid, { ...valid, probeType: 1 }]), 'json')),
    ).rejects.toThrow(BusError);
    expect(await counter(metrics, 'cxv_ingest_events_received_total', { source: 'probe' })).toBe(2);
    expect(await counter(metrics, 'cxv_ingest_events_rejected_total', { source: 'probe', reason: 'invalid' })).toBe(1);
    expect(await counter(metrics, 'cxv_ingest_events_rejected_total', { source: 'probe', reason: 'bus_unavailable' })).toBe(1);
    expect(await counter(metrics, 'cxv_ingest_events_accepted_total', { source: 'probe' })).toBe(0);
  });
});
