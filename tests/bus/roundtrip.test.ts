import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Bus, ConsumedMessage, EmbeddedKafka, OutgoingMessage } from '../../services/shared/bus/index.ts';
import { startEmbeddedKafka } from '../../services/shared/bus/index.ts';
import { CLIENTS, makeBus, record, testLog, uniqueName, waitFor } from './helpers.ts';

let kafka: EmbeddedKafka;

beforeAll(async () => {
  kafka = await startEmbeddedKafka({ brokers: 3, log: testLog() });
});

afterAll(async () => {
  await kafka?.stop();
});

const KEYS = Array.from({ length: 16 }, (_, i) => `svc-${i}|region-${i % 3}`);

const makeMessages = (n: number): OutgoingMessage[] =>
  Array.from({ length: n }, (_, i) => {
    const key = KEYS[i % KEYS.length] ?? 'none';
    return {
      key,
      value: Buffer.from(JSON.stringify({ seq: i, key })),
      headers: { seq: String(i), source: 'probe', 'content-type': 'application/json' },
    };
  });

describe.concurrent.each(CLIENTS)('%s bus: produce and consume', (kind) => {
  let bus: Bus;
  beforeAll(() => {
    bus = makeBus(kind, kafka.bootstrapServers);
  });
  afterAll(async () => {
    await bus?.close();
  });

  it('consumes every keyed message once, in per-partition order, with keys/values/headers intact', async ({ expect }) => {
    const topic = uniqueName(`rt-${kind}`);
    const sent = makeMessages(300);
    await bus.produce(topic, sent);

    const rec = await record(bus, { groupId: uniqueName('g'), topics: [topic], maxBatchSize: 40 });
    await waitFor('all messages', () => rec.messages.length >= sent.length);
    // Nothing extra arrives afterwards.
    await new Promise((r) => setTimeout(r, 300));
    expect(rec.messages).toHaveLength(sent.length);
    expect(Math.max(...rec.batches)).toBeLessThanOrEqual(40);

    // The auto-created topic has the mock's 4 partitions; all were assigned to this member.
    expect(rec.assigned.at(-1)).toEqual([0, 1, 2, 3].map((partition) => ({ topic, partition })));
    expect(rec.handle.assignment()).toHaveLength(4);

    const byPartition = new Map<number, ConsumedMessage[]>();
    for (const m of rec.messages) {
      expect(m.topic).toBe(topic);
      const body = JSON.parse(m.value.toString('utf8')) as { seq: number; key: string };
      expect(m.key).toBe(body.key);
      expect(m.headers).toEqual({ seq: String(body.seq), source: 'probe', 'content-type': 'application/json' });
      expect(m.timestamp).toBeGreaterThan(Date.now() - 60_000);
      byPartition.set(m.partition, [...(byPartition.get(m.partition) ?? []), m]);
    }
    // Offsets per partition: 0..n-1, contiguous, in order.
    for (const msgs of byPartition.values()) {
      expect(msgs.map((m) => m.offset)).toEqual(msgs.map((_, i) => i));
    }
    // Per key: one partition, original order.
    const seen = new Map<string, { partition: number; lastSeq: number }>();
    for (const m of rec.messages) {
      const seq = Number(m.headers.seq);
      const prev = seen.get(m.key ?? '');
      if (prev) {
        expect(m.partition).toBe(prev.partition);
        expect(seq).toBeGreaterThan(prev.lastSeq);
      }
      seen.set(m.key ?? '', { partition: m.partition, lastSeq: seq });
    }
    expect(new Set(rec.messages.map((m) => Number(m.headers.seq))).size).toBe(sent.length);

    // Caught up: lag is zero on every partition.
    const lag = await rec.handle.lag();
    expect(lag).toHaveLength(4);
    expect(lag.every((l) => l.lag === 0)).toBe(true);

    await rec.handle.close();
    await rec.handle.close(); // idempotent
    expect(rec.errors).toEqual([]);
  });

  it('produces a 10,000-message batch in one call and reports lag before consuming', async ({ expect }) => {
    const topic = uniqueName(`bulk-${kind}`);
    const sent = Array.from({ length: 10_000 }, (_, i) => ({
      key: KEYS[i % KEYS.length] ?? 'none',
      value: Buffer.from(`{"seq":${i},"payload":"${'x'.repeat(100)}"}`),
    }));
    const t0 = performance.now();
    await bus.produce(topic, sent);
    const produceMs = performance.now() - t0;
    console.log(`[${kind}] produced 10,000 messages in ${produceMs.toFixed(0)} ms`);

    // A consumer whose onBatch blocks: lag shows the backlog, then drains.
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let calls = 0;
    const rec = await record(bus, { groupId: uniqueName('g'), topics: [topic], maxBatchSize: 1000 }, async () => {
      calls++;
      await gate;
    });
    await waitFor('first batch', () => calls === 1);
    await new Promise((r) => setTimeout(r, 300));
    // Backpressure: no second onBatch while the first is pending.
    expect(calls).toBe(1);
    const lag = await rec.handle.lag();
    const total = lag.reduce((s, l) => s + l.lag, 0);
    expect(total).toBeGreaterThan(0);
    expect(total).toBeLessThanOrEqual(10_000);
    release();
    await waitFor('all 10k', () => rec.messages.length >= 10_000, 20_000);
    expect(rec.messages).toHaveLength(10_000);
    await rec.handle.close();
  });
});
