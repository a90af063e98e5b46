import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { Pipeline } from '../../services/app.ts';
import { type ConsumedMessage, DLQ_TOPIC, type OutgoingMessage, topicForSource } from '../../services/shared/bus/bus.ts';
import { codecFor, FINGERPRINT_HEADER, SCHEMA_HEADER } from '../../services/shared/sources/avro.ts';
import { readHeaders } from '../support/auth.ts';
import { eventually, startTestPipeline } from '../support/pipeline.ts';
import { count, recordFigures } from './support/figures.ts';
import { compareWithStore, KnownStream, toMessages } from './support/stream.ts';

/**
 * Poison on the stream — messages no producer through ingest could write (garbage,
 * truncated or over-long Avro, an unknown writer schema, another source's record) —
 * interleaved with a known stream. Each must land on cx.dlq.v1 with its reason, origin
 * and exact bytes, and the stream must keep flowing: every valid event counted once.
 */

const ROUNDS = 8;

function poisonFor(
  source: 'probe' | 'contact',
  round: number,
  valid: OutgoingMessage,
): Array<{ kind: string; message: OutgoingMessage }> {
  const codec = codecFor(source);
  const headers = { [SCHEMA_HEADER]: codec.schemaName, [FINGERPRINT_HEADER]: codec.fingerprint };
  const other = codecFor(source === 'probe' ? 'contact' : 'probe');
  const key = valid.key;
  return [
    {
      kind: 'random bytes',
      message: { key, value: Buffer.from(Array.from({ length: 40 + round }, (_, i) => (i * 37 + round) % 256)), headers },
    },
    { kind: 'empty value', message: { key, value: Buffer.alloc(0), headers } },
    { kind: 'truncated record', message: { key, value: valid.value.subarray(0, Math.floor(valid.value.length / 2)), headers } },
    { kind: 'trailing bytes', message: { key, value: Buffer.concat([valid.value, Buffer.from([1, 2, 3])]), headers } },
    {
      kind: 'unknown writer schema',
      message: { key, value: valid.value, headers: { ...headers, [FINGERPRINT_HEADER]: 'f'.repeat(64) } },
    },
    {
      kind: "another source's record",
      message: {
        key,
        value: valid.value,
        headers: { [SCHEMA_HEADER]: other.schemaName, [FINGERPRINT_HEADER]: other.fingerprint },
      },
    },
    { kind: 'garbage without headers', message: { key, value: Buffer.from('{"eventId":"not avro"}') } },
  ];
}

let pipeline: Pipeline | undefined;
// The scenario is decided by then; a clean stop of the embedded pipeline takes ~20 s
// (consumer close), so it gets a few seconds and the worker process ends the rest.
afterAll(async () => {
  await Promise.race([pipeline?.stop(), sleep(3_000)]);
});

describe('poison messages on the stream', () => {
  it('are dead-lettered with their reason and bytes while every valid event is counted', async ({ task }) => {
    // Event time two hours back, with the lateness to match: windows close as soon as the
    // partitions go quiet instead of at the next minute boundary.
    pipeline = await startTestPipeline({ CXV_ALLOWED_LATENESS_MS: String(24 * 3_600_000) });
    const base = Date.now() - 2 * 3_600_000;
    const bus = pipeline.bus;
    const stream = new KnownStream('po', 777);
    const poison: Array<{ kind: string; topic: string; value: Buffer }> = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const events = stream.next(60, (i) => base + round * 60_000 + i * 500);
      const byTopic = toMessages(events);
      for (const source of ['probe', 'contact'] as const) {
        const topic = topicForSource(source);
        const valid = byTopic.get(topic) ?? [];
        const first = valid[0];
        if (!first) continue;
        const bad = poisonFor(source, round, first).filter((_, i) => (i + round) % 2 === (source === 'probe' ? 0 : 1));
        // Poison in the middle of valid messages, on the same partition key.
        const middle = Math.floor(valid.length / 2);
        await bus.produce(topic, [...valid.slice(0, middle), ...bad.map((b) => b.message), ...valid.slice(middle)]);
        for (const b of bad) poison.push({ kind: b.kind, topic, value: b.message.value });
      }
      await sleep(250);
    }

    const dlq: ConsumedMessage[] = [];
    const consumer = await bus.subscribe({
      groupId: 'reliability-dlq-reader',
      topics: [DLQ_TOPIC],
      fromBeginning: true,
      onBatch: async (messages) => {
        dlq.push(...messages);
      },
    });
    await eventually(
      'every poison message on the DLQ',
      async () => (dlq.length >= poison.length ? true : undefined),
      60_000,
    ).catch(() => false);
    await sleep(2_000);
    await consumer.close();
    const settled = await eventually(
      'the stored totals to reach the ground truth',
      async () => {
        const c = await compareWithStore((pipeline as Pipeline).store, stream, 'po');
        return c.lost === 0 && c.mismatches.length === 0 ? c : undefined;
      },
      60_000,
    ).catch(() => compareWithStore((pipeline as Pipeline).store, stream, 'po'));
    const letters = dlq.map(
      (m) =>
        JSON.parse(m.value.toString('utf8')) as {
          reason: string;
          origin: { topic: string; offset: number };
          payloadBase64: string;
        },
    );
    const reasons = new Map<string, number>();
    for (const l of letters) {
      const code = l.reason.split(':')[0] ?? '';
      reasons.set(code, (reasons.get(code) ?? 0) + 1);
    }
    const stats = (await (await fetch(`${pipeline.url}/api/v1/ingest/stats`, { headers: readHeaders() })).json()) as {
      sources: Array<{ source: string; deadLettered: number }>;
    } & Record<string, unknown>;

    recordFigures(task, {
      scenario: 'poison messages on the stream',
      load: `${count(stream.events)} valid events in ${ROUNDS} rounds, poison in the middle of each`,
      faults: `${poison.length} poison messages of ${new Set(poison.map((p) => p.kind)).size} kinds (garbage, empty, truncated, trailing bytes, unknown writer schema, another source's record, no headers)`,
      lost: settled.lost,
      duplicated: settled.duplicated,
      notes: [`dead-lettered ${letters.length} of ${poison.length}, reasons ${JSON.stringify(Object.fromEntries(reasons))}`],
    });

    expect(letters.length).toBe(poison.length);
    for (const l of letters) {
      expect(l.reason).toMatch(/^(UNDECODABLE|UNKNOWN_WRITER_SCHEMA): \S/);
      expect(l.origin.topic).toMatch(/^cx\.(probe|contact)\.v1$/);
    }
    // The DLQ keeps the exact bytes, so a fixed consumer could replay them.
    expect(letters.map((l) => l.payloadBase64).sort()).toEqual(poison.map((p) => p.value.toString('base64')).sort());
    expect(JSON.stringify(stats)).toContain('deadLettered');
    expect(settled.mismatches).toEqual([]);
    expect(settled.lost).toBe(0);
    expect(settled.duplicated).toBe(0);
  });
});
