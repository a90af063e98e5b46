import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { SOURCES, type SourceName } from './registry.ts';

/**
 * Avro on the bus. Each message carries two headers: `cxv-schema` (e.g. `probe.v1`)
 * and `cxv-fingerprint` (SHA-256 of the writer schema's canonical form, hex), so a
 * reader can tell which schema wrote a message and refuse one it does not know.
 *
 * Schema evolution. A topic `cx.<source>.v1` only takes backward-compatible changes:
 * a new field must have a default (an optional field is `["null", T]` with default
 * null), and no field is removed or retyped (that would be `v2`, a new topic). Before
 * editing `schemas/avro/<name>.avsc`, copy it as it was to
 * `schemas/avro/history/<name>/<n>.avsc` (n = 1, 2, …): messages already on the topic
 * (retention, replays, a DLQ being re-driven) were written with it, and the reader
 * below resolves every schema kept there into the current one by its fingerprint.
 * An incompatible history file fails at start (`INCOMPATIBLE_SCHEMA`), not on the
 * first old message. A built-in source's record type is generated from its schema: after
 * editing one, run `npm run generate:records` (a test fails until the two agree).
 */

export const SCHEMA_DIR = fileURLToPath(new URL('../../../schemas/avro/', import.meta.url));
export const SCHEMA_HISTORY_DIR = `${SCHEMA_DIR}history/`;

export const SCHEMA_HEADER = 'cxv-schema';
export const FINGERPRINT_HEADER = 'cxv-fingerprint';

export class SchemaError extends Error {
  constructor(
    readonly code: 'UNKNOWN_WRITER_SCHEMA' | 'INCOMPATIBLE_SCHEMA' | 'UNDECODABLE',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SchemaError';
  }
}

export interface Codec {
  source: SourceName;
  schemaName: string;
  fingerprint: string;
  encode(record: object): Buffer;
  /** Decodes a message written with the current schema. */
  decode(buffer: Buffer): Record<string, unknown>;
}

/** Reads messages written with the current schema or any kept in its history. */
export interface SchemaReader {
  schemaName: string;
  /** Fingerprint of the reader (current) schema. */
  fingerprint: string;
  /** Fingerprints this reader can decode: the current one first, then the history. */
  knownWriters: string[];
  /**
   * Decodes `buffer` as written by the schema with `writerFingerprint` (the
   * `cxv-fingerprint` header), resolved into the current schema: fields the writer did
   * not have get their defaults. No header = the current schema (messages from before
   * headers existed). Throws SchemaError: UNKNOWN_WRITER_SCHEMA or UNDECODABLE.
   */
  decodeWith(writerFingerprint: string | undefined, buffer: Buffer): Record<string, unknown>;
}

export const fingerprintOf = (type: avro.Type): string => type.fingerprint('sha256').toString('hex');

export function createSchemaReader(schemaName: string, current: avro.Schema, history: avro.Schema[] = []): SchemaReader {
  const reader = avro.Type.forSchema(current);
  const fingerprint = fingerprintOf(reader);
  const decoders = new Map<string, (buffer: Buffer) => unknown>([[fingerprint, (b) => reader.fromBuffer(b)]]);
  for (const [i, schema] of history.entries()) {
    const writer = avro.Type.forSchema(schema);
    const writerFingerprint = fingerprintOf(writer);
    if (decoders.has(writerFingerprint)) continue;
    let resolver: ReturnType<avro.Type['createResolver']>;
    try {
      resolver = reader.createResolver(writer);
    } catch (err) {
      throw new SchemaError(
        'INCOMPATIBLE_SCHEMA',
        `${schemaName}: history schema #${i + 1} (${writerFingerprint.slice(0, 12)}…) cannot be read by the current schema: ${(err as Error).message}. ` +
          'Only add fields with defaults within a topic version; anything else needs a new topic version.',
        { cause: err },
      );
    }
    decoders.set(writerFingerprint, (b) => reader.fromBuffer(b, resolver));
  }
  return {
    schemaName,
    fingerprint,
    knownWriters: [...decoders.keys()],
    decodeWith(writerFingerprint, buffer) {
      const decode = decoders.get(writerFingerprint ?? fingerprint);
      if (!decode) {
        throw new SchemaError(
          'UNKNOWN_WRITER_SCHEMA',
          `${schemaName}: no known schema has fingerprint ${writerFingerprint}; keep the writer's schema under schemas/avro/history/${schemaName}/`,
        );
      }
      try {
        return decode(buffer) as Record<string, unknown>;
      } catch (err) {
        throw new SchemaError('UNDECODABLE', `${schemaName}: message does not decode: ${(err as Error).message}`, {
          cause: err,
        });
      }
    },
  };
}

const readSchema = (file: string): avro.Schema => JSON.parse(readFileSync(file, 'utf8')) as avro.Schema;

/** The schemas kept under `history/<schemaName>/`, in file-name order. */
export function historyOf(schemaName: string, historyDir = SCHEMA_HISTORY_DIR): avro.Schema[] {
  const dir = `${historyDir}${schemaName}/`;
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.avsc'))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((f) => readSchema(dir + f));
}

const codecs = new Map<SourceName, Codec>();
const readers = new Map<SourceName, SchemaReader>();

const schemaNameOf = (source: SourceName): string => SOURCES[source].schemaFile.replace(/\.avsc$/, '');

export function codecFor(source: SourceName): Codec {
  const cached = codecs.get(source);
  if (cached) return cached;
  const type = avro.Type.forSchema(readSchema(SCHEMA_DIR + SOURCES[source].schemaFile));
  const codec: Codec = {
    source,
    schemaName: schemaNameOf(source),
    fingerprint: fingerprintOf(type),
    encode: (record) => type.toBuffer(record),
    decode: (buffer) => type.fromBuffer(buffer) as Record<string, unknown>,
  };
  codecs.set(source, codec);
  return codec;
}

/** The reader of a source's topic: its current schema plus every kept older one. */
export function readerFor(source: SourceName): SchemaReader {
  const cached = readers.get(source);
  if (cached) return cached;
  const name = schemaNameOf(source);
  const reader = createSchemaReader(name, readSchema(SCHEMA_DIR + SOURCES[source].schemaFile), historyOf(name));
  readers.set(source, reader);
  return reader;
}
