import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Bus, EmbeddedKafka, TopicPartitionOffset } from '../../services/shared/bus/index.ts';
import { startEmbeddedKafka } from '../../services/shared/bus/index.ts';
import { CLIENTS, makeBus, record, testLog, uniqueName, waitFor } from './helpers.ts';

let kafka: EmbeddedKafka;

beforeAll(async () => {
  kafka = await startEmbeddedKafka({ brokers: 3, log: testLog() });
});

afterAll(async () => {
  await kafka?.stop();
});

const id = (m: { partition: number; offset: number }): string => `${m.partition}:${m.offset}`;

describe.concurrent.each(CLIENTS)('%s bus: explicit commits', (kind) => {
  let bus: Bus;
  beforeAll(() => {
    bus = makeBus(kind, kafka.bootstrapServers);
  });
  afterAll(async () => {
    await bus?.close();
  });

  it('a restarted member of the same group resumes exactly after the committed offsets', async ({ expect }) => {
    const topic = uniqueName(`commit-${kind}`);
    const groupId = uniqueName('g');
    const first = Array.from({ length: 120 }, (_, i) => ({ key: `k${i % 10}`, value: Buffer.from(`a${i}`) }));
    await bus.produce(topic, first);

    // Member 1 commits after each of its first batches until it has processed >= 50
    // messages, then keeps receiving without committing (a crash-like stop).
    const committed = new Map<number, number>();
    let processed = 0;
    let committing = true;
    const a = await record(bus, { groupId, topics: [topic], maxBatchSize: 10 }, async (batch, rec) => {
      if (!committing) return;
      processed += batch.length;
      const offsets: TopicPartitionOffset[] = [];
      const last = new Map<number, number>();
      for (const m of batch) last.set(m.partition, m.offset);
      for (const [partition, offset] of last) offsets.push({ topic, partition, offset: offset + 1 });
      await rec.handle.commit(offsets);
      for (const o of offsets) committed.set(o.partition, o.offset);
      if (processed >= 50) committing = false;
    });
    await waitFor('member 1 got everything', () => a.messages.length >= first.length);
    expect(committing).toBe(false);
    await a.handle.close();
    expect(a.errors).toEqual([]);

    // More data while nobody consumes.
    const second = Array.from({ length: 40 }, (_, i) => ({ key: `k${i % 10}`, value: Buffer.from(`b${i}`) }));
    await bus.produce(topic, second);

    const b = await record(bus, { groupId, topics: [topic], maxBatchSize: 25 });
    // Expected: everything at or after the committed offset of each partition (0 where none).
    const all = [...a.messages.map((m) => ({ partition: m.partition, offset: m.offset }))];
    const total = first.length + second.length;
    await waitFor('member 2 caught up', () => {
      const lastSeen = new Map<number, number>();
      for (const m of b.messages) lastSeen.set(m.partition, Math.max(lastSeen.get(m.partition) ?? -1, m.offset));
      const expectedCount = total - [...committed.values()].reduce((s, o) => s + o, 0);
      return b.messages.length >= expectedCount;
    });
    await new Promise((r) => setTimeout(r, 300));
    const expectedCount = total - [...committed.values()].reduce((s, o) => s + o, 0);
    expect(b.messages).toHaveLength(expectedCount);
    // No repeat: nothing below a committed offset; no loss: contiguous from the commit on.
    const byPartition = new Map<number, number[]>();
    for (const m of b.messages) byPartition.set(m.partition, [...(byPartition.get(m.partition) ?? []), m.offset]);
    for (const [partition, offsets] of byPartition) {
      const start = committed.get(partition) ?? 0;
      expect(offsets).toEqual(offsets.map((_, i) => start + i));
    }
    expect(new Set(b.messages.map(id)).size).toBe(b.messages.length);
    // Every message member 1 processed and committed is absent from member 2's view.
    const committedIds = new Set(all.filter((m) => m.offset < (committed.get(m.partition) ?? 0)).map(id));
    expect(b.messages.filter((m) => committedIds.has(id(m)))).toEqual([]);
    expect(b.messages.filter((m) => m.value.toString().startsWith('b'))).toHaveLength(second.length);
    await b.handle.close();
  });

  it('tells where its own produces ended and what another group committed, without joining that group', async ({ expect }) => {
    const topic = uniqueName(`ends-${kind}`);
    const groupId = uniqueName('g');
    // One key: one partition, so the end is the count produced.
    await bus.produce(
      topic,
      Array.from({ length: 25 }, (_, i) => ({ key: 'one-key', value: Buffer.from(`m${i}`) })),
    );
    await bus.produce(
      topic,
      Array.from({ length: 5 }, (_, i) => ({ key: 'one-key', value: Buffer.from(`n${i}`) })),
    );
    const ends = bus.producedEnds().filter((e) => e.topic === topic);
    expect(ends).toHaveLength(1);
    const partition = ends[0]?.partition ?? -1;
    // rdkafka sees every message's offset; kafkajs only each send's first (a lower bound).
    if (kind === 'rdkafka') expect(ends[0]?.offset).toBe(30);
    else expect(ends[0]?.offset).toBeGreaterThanOrEqual(26);
    const tp = { topic, partition };
    expect(await bus.committedOffsets(groupId, [tp])).toEqual([{ ...tp, offset: -1 }]);

    const a = await record(bus, { groupId, topics: [topic] });
    await waitFor('the member got everything', () => a.messages.length >= 30);
    await a.handle.commit([{ ...tp, offset: 20 }]);
    expect(await bus.committedOffsets(groupId, [tp])).toEqual([{ ...tp, offset: 20 }]);
    // The reader is no member: the one member still owns all four partitions.
    expect(a.handle.assignment()).toHaveLength(4);
    await a.handle.close();
  });

  it('onRevoke on close can commit, and the next member starts from there', async ({ expect }) => {
    const topic = uniqueName(`revoke-${kind}`);
    const groupId = uniqueName('g');
    await bus.produce(
      topic,
      Array.from({ length: 60 }, (_, i) => ({ key: `k${i % 7}`, value: Buffer.from(`m${i}`) })),
    );
    // Member 1 never commits in onBatch; it commits everything it saw from onRevoke.
    const pending = new Map<number, number>();
    let revokeCommitError: unknown;
    const a = await record(
      bus,
      {
        groupId,
        topics: [topic],
        onRevoke: async () => {
          try {
            await a.handle.commit([...pending].map(([partition, offset]) => ({ topic, partition, offset })));
          } catch (e) {
            revokeCommitError = e;
          }
        },
      },
      (batch) => {
        for (const m of batch) pending.set(m.partition, m.offset + 1);
      },
    );
    await waitFor('member 1 got everything', () => a.messages.length >= 60);
    await a.handle.close();
    expect(revokeCommitError).toBeUndefined();
    expect(a.revoked.at(-1)).toHaveLength(4);

    await bus.produce(topic, [{ key: 'k1', value: Buffer.from('after') }]);
    const b = await record(bus, { groupId, topics: [topic] });
    await waitFor('member 2 got the new message', () => b.messages.length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(b.messages.map((m) => m.value.toString())).toEqual(['after']);
    await b.handle.close();
  });

  it('a rejected onBatch stops the consumer, reports through onError, and the batch is read again', async ({ expect }) => {
    const topic = uniqueName(`fail-${kind}`);
    const groupId = uniqueName('g');
    // One key: everything on one partition, so "the failed batch" is well defined.
    await bus.produce(
      topic,
      Array.from({ length: 30 }, (_, i) => ({ key: 'one-key', value: Buffer.from(`m${i}`) })),
    );
    let calls = 0;
    const a = await record(bus, { groupId, topics: [topic], maxBatchSize: 10 }, async (batch, rec) => {
      calls++;
      if (calls === 2) throw new Error('store is down');
      const last = batch.at(-1);
      if (last) await rec.handle.commit([{ topic, partition: last.partition, offset: last.offset + 1 }]);
    });
    await waitFor('onError', () => a.errors.length === 1);
    expect(a.errors[0]?.name).toBe('BusError');
    expect((a.errors[0] as { code?: string }).code).toBe('BUS_CONSUME_FAILED');
    expect(a.errors[0]?.message).toContain('store is down');
    await a.handle.close(); // already closing: idempotent
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toBe(2);
    expect(a.messages.map((m) => m.offset)).toEqual(Array.from({ length: 20 }, (_, i) => i));

    const b = await record(bus, { groupId, topics: [topic], maxBatchSize: 100 });
    await waitFor('the rest', () => b.messages.length >= 20);
    await new Promise((r) => setTimeout(r, 300));
    // Resumes at the failed batch: offsets 10..29, nothing before, nothing twice.
    expect(b.messages.map((m) => m.offset)).toEqual(Array.from({ length: 20 }, (_, i) => 10 + i));
    await b.handle.close();
  });
});
