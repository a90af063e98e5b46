import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import type { OutgoingMessage } from '../../services/shared/bus/bus.ts';
import {
  codecFor,
  createSchemaReader,
  FINGERPRINT_HEADER,
  historyOf,
  readerFor,
  SCHEMA_DIR,
  SchemaError,
} from '../../services/shared/sources/avro.ts';
import { EVENT_SOURCES, EXAMPLES } from './examples.ts';
import { startEdge } from './harness.ts';

/**
 * Schema evolution within a topic version: a new optional field with a default is
 * backward compatible — a reader with the new schema reads what the old one wrote,
 * choosing the writer schema by the fingerprint each message carries.
 */

type RecordSchema = { type: 'record'; name: string; fields: Array<{ name: string; type: unknown; default?: unknown }> };

const currentSchema = async (file: string): Promise<RecordSchema> =>
  JSON.parse(await readFile(path.join(SCHEMA_DIR, file), 'utf8')) as RecordSchema;

/** probe.v1 as it is today, plus an optional `cellId` (what a future edit would do). */
async function probeWithCellId(): Promise<RecordSchema> {
  const schema = await currentSchema('probe.v1.avsc');
  return { ...schema, fields: [...schema.fields, { name: 'cellId', type: ['null', 'string'], default: null }] };
}

/** The message the ingest edge puts on the bus for one probe example (today's schema). */
async function writtenByIngest(): Promise<OutgoingMessage> {
  const edge = await startEdge();
  await edge.post('probe', [EXAMPLES.probe]);
  await edge.close();
  const message = edge.bus.produced[0]?.messages[0];
  if (!message) throw new Error('ingest produced nothing');
  return message;
}

describe('schema evolution', () => {
  it('a new reader with an added optional field reads messages written with the old schema, found by their fingerprint', async () => {
    const message = await writtenByIngest();
    const writerFingerprint = message?.headers?.[FINGERPRINT_HEADER];
    expect(writerFingerprint).toBe(codecFor('probe').fingerprint);

    const reader = createSchemaReader('probe.v1', (await probeWithCellId()) as avro.Schema, [
      (await currentSchema('probe.v1.avsc')) as avro.Schema,
    ]);
    expect(reader.fingerprint).not.toBe(writerFingerprint);
    expect(reader.knownWriters).toEqual([reader.fingerprint, writerFingerprint]);
    const record = reader.decodeWith(writerFingerprint, message.value);
    expect(record).toMatchObject({ eventId: 'p-1', probeId: 'rtp-7', attempts: 1, successes: 1, latencyMs: 31.5, cellId: null });
  });

  it('the new reader also reads its own messages, and refuses a fingerprint it does not know', async () => {
    const schema = (await probeWithCellId()) as avro.Schema;
    const reader = createSchemaReader('probe.v1', schema, []);
    const today = codecFor('probe').decode((await writtenByIngest()).value);
    const written = avro.Type.forSchema(schema).toBuffer({ ...today, cellId: 'cell-42' });
    expect(reader.decodeWith(reader.fingerprint, written)).toMatchObject({ eventId: 'p-1', cellId: 'cell-42' });
    expect(reader.decodeWith(undefined, written)).toMatchObject({ cellId: 'cell-42' });
    // This reader keeps no history, so today's schema is a stranger to it.
    expect(() => reader.decodeWith(codecFor('probe').fingerprint, written)).toThrow(
      expect.objectContaining({ name: 'SchemaError', code: 'UNKNOWN_WRITER_SCHEMA' }),
    );
  });

  it('bytes that do not decode are an UNDECODABLE SchemaError, not a crash', () => {
    const reader = readerFor('probe');
    const decode = (buffer: Buffer) => {
      try {
        reader.decodeWith(undefined, buffer);
        return 'decoded';
      } catch (err) {
        return err instanceof SchemaError ? err.code : String(err);
      }
    };
    const good = codecFor('probe').encode({
      eventId: 'e',
      ts: 1,
      receivedAt: 1,
      service: 's',
      region: 'r',
      segment: null,
      origin: 'network',
      probeId: 'p',
      probeType: 'agent',
      attempts: 1,
      successes: 1,
      latencyMs: null,
      jitterMs: null,
      packetLossPct: null,
      packetsSent: null,
      throughputKbps: null,
      mos: null,
    });
    expect([decode(good.subarray(0, good.length - 3)), decode(Buffer.concat([good, Buffer.from([1])]))]).toEqual([
      'UNDECODABLE',
      'UNDECODABLE',
    ]);
  });

  it('a kept schema the current one cannot resolve (a retyped field) is refused when the reader is built', async () => {
    const schema = await currentSchema('probe.v1.avsc');
    const retyped = { ...schema, fields: schema.fields.map((f) => (f.name === 'attempts' ? { ...f, type: 'string' } : f)) };
    expect(() => createSchemaReader('probe.v1', schema as avro.Schema, [retyped as avro.Schema])).toThrow(
      expect.objectContaining({ code: 'INCOMPATIBLE_SCHEMA' }),
    );
  });

  it('past schemas are kept as files under history/<schema>/, read in number order', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cxv-history-'));
    await mkdir(path.join(dir, 'probe.v1'));
    const v1 = await currentSchema('probe.v1.avsc');
    const v2 = await probeWithCellId();
    await writeFile(path.join(dir, 'probe.v1', '10.avsc'), JSON.stringify(v2));
    await writeFile(path.join(dir, 'probe.v1', '2.avsc'), JSON.stringify(v1));
    await writeFile(path.join(dir, 'probe.v1', 'notes.md'), 'not a schema');
    expect(historyOf('probe.v1', `${dir}/`)).toEqual([v1, v2]);
    expect(historyOf('survey.v1', `${dir}/`)).toEqual([]);
  });

  it.each(EVENT_SOURCES)('%s: the reader of the topic knows the schema ingest writes with', (source) => {
    expect(readerFor(source).knownWriters[0]).toBe(codecFor(source).fingerprint);
  });
});
