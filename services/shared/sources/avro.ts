import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { SOURCES, type SourceName } from './registry.ts';

/**
 * Avro on the bus. Each message carries two headers: `cxv-schema` (e.g. `probe.v1`)
 * and `cxv-fingerprint` (SHA-256 of the writer schema's canonical form, hex), so a
 * reader can tell which schema wrote a message and refuse one it does not know.
 */

export const SCHEMA_DIR = fileURLToPath(new URL('../../../schemas/avro/', import.meta.url));

export interface Codec {
  source: SourceName;
  schemaName: string;
  fingerprint: string;
  encode(record: object): Buffer;
  decode(buffer: Buffer): Record<string, unknown>;
}

const codecs = new Map<SourceName, Codec>();

export function codecFor(source: SourceName): Codec {
  const cached = codecs.get(source);
  if (cached) return cached;
  const file = SOURCES[source].schemaFile;
  const type = avro.Type.forSchema(JSON.parse(readFileSync(SCHEMA_DIR + file, 'utf8')));
  const codec: Codec = {
    source,
    schemaName: file.replace(/\.avsc$/, ''),
    fingerprint: type.fingerprint('sha256').toString('hex'),
    encode: (record) => type.toBuffer(record),
    decode: (buffer) => type.fromBuffer(buffer) as Record<string, unknown>,
  };
  codecs.set(source, codec);
  return codec;
}

export const SCHEMA_HEADER = 'cxv-schema';
export const FINGERPRINT_HEADER = 'cxv-fingerprint';
