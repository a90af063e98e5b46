import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { pipeline, type Readable, Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { type Info, parse } from 'csv-parse';
import type { Mapping } from './mapping/schema.ts';

/**
 * Reads a CSV or NDJSON file — optionally gzip, in any supported encoding — as a stream
 * of rows with their numbers, never holding the file in memory (the stream pauses while
 * the consumer, e.g. an HTTP post, is busy). A row that cannot be read (a CSV row with
 * the wrong number of cells, an NDJSON line that is not a JSON object) is an item with an
 * error, not an exception: it is counted like any rejected row. A file that cannot be
 * read at all (missing, not gzip after all, an unterminated quote) throws.
 */

export type InputSpec = Mapping['input'];

export type ReadItem =
  | { row: number; line: number; values: Record<string, unknown> }
  | { row: number; line: number; error: string };

export interface ReadOptions {
  /** Called once with the header (CSV) before the first row; may throw to stop the read. */
  onColumns?: (columns: string[]) => void;
}

const GZIP_MAGIC = [0x1f, 0x8b];
const NODE_ENCODINGS = { 'utf-8': 'utf8', latin1: 'latin1', 'utf-16le': 'utf16le' } as const;

async function isGzip(file: string, compression: InputSpec['compression']): Promise<boolean> {
  if (compression !== 'auto') return compression === 'gzip';
  if (file.endsWith('.gz')) return true;
  const handle = await open(file, 'r');
  try {
    const { bytesRead, buffer } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === GZIP_MAGIC[0] && buffer[1] === GZIP_MAGIC[1];
  } finally {
    await handle.close();
  }
}

/** Bytes in the file's encoding → UTF-8 bytes, without a leading byte-order mark when asked. */
function toUtf8(encoding: InputSpec['encoding'], stripBom: boolean): Transform {
  const nodeEncoding = encoding === 'windows-1252' ? undefined : NODE_ENCODINGS[encoding];
  const string = nodeEncoding ? new StringDecoder(nodeEncoding) : undefined;
  const text = nodeEncoding ? undefined : new TextDecoder(encoding);
  let first = true;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (first && chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf && encoding !== 'utf-8') {
        done(
          new Error(`the file starts with a UTF-8 byte-order mark but the mapping says ${encoding}: set input.encoding: utf-8`),
        );
        return;
      }
      let s = string ? string.write(chunk) : (text?.decode(chunk, { stream: true }) ?? '');
      if (first && s.length > 0) {
        first = false;
        if (stripBom && s.charCodeAt(0) === 0xfeff) s = s.slice(1);
      }
      done(null, Buffer.from(s, 'utf8'));
    },
    flush(done) {
      const rest = string ? string.end() : (text?.decode() ?? '');
      done(null, rest === '' ? undefined : Buffer.from(rest, 'utf8'));
    },
  });
}

/**
 * The file's stages (read, gunzip, decode, then `last`, e.g. the CSV parser) joined with
 * stream.pipeline: an error in any stage surfaces on `last`, and destroying `last` (a
 * consumer that stops early) closes the file.
 */
async function openChain<T extends Transform>(file: string, input: InputSpec, last?: T): Promise<Readable> {
  const gzip = await isGzip(file, input.compression);
  const stripBom = input.format === 'ndjson' || input.csv.bom;
  const stages: Array<Readable | Transform> = [
    createReadStream(file),
    ...(gzip ? [createGunzip()] : []),
    toUtf8(input.encoding, stripBom),
    ...(last ? [last] : []),
  ];
  // The callback only keeps pipeline from throwing; the error reaches the last stage.
  pipeline(stages as unknown as [Readable, Transform], () => {});
  return stages[stages.length - 1] as Readable;
}

export async function* readRows(file: string, input: InputSpec, options: ReadOptions = {}): AsyncGenerator<ReadItem> {
  if (input.format === 'ndjson') {
    const text = await openChain(file, input);
    try {
      yield* ndjsonRows(text, options);
    } finally {
      text.destroy();
    }
    return;
  }
  const parser = parse({
    delimiter: input.csv.delimiter,
    quote: input.csv.quote,
    bom: false,
    info: true,
    relax_column_count: true,
    skip_empty_lines: true,
  });
  const records = await openChain(file, input, parser);
  try {
    yield* csvRows(records, input.csv, options);
  } finally {
    records.destroy();
  }
}

async function* ndjsonRows(text: Readable, options: ReadOptions): AsyncGenerator<ReadItem> {
  options.onColumns?.([]);
  const lines = createInterface({ input: text, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  let row = 0;
  for await (const content of lines) {
    line += 1;
    if (content.trim() === '') continue;
    row += 1;
    let value: unknown;
    try {
      value = JSON.parse(content);
    } catch (err) {
      yield { row, line, error: `line is not valid JSON: ${(err as Error).message}` };
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      yield { row, line, error: 'line is not a JSON object' };
      continue;
    }
    yield { row, line, values: value as Record<string, unknown> };
  }
}

/** `line` is the line a row ends on, as csv-parse counts lines. */
async function* csvRows(parser: Readable, csv: InputSpec['csv'], options: ReadOptions): AsyncGenerator<ReadItem> {
  let columns = csv.header ? undefined : (csv.columns ?? []);
  if (columns) options.onColumns?.(columns);
  let row = 0;
  for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: Info }>) {
    if (columns === undefined) {
      columns = csv.columns ?? record;
      options.onColumns?.(columns);
      continue;
    }
    row += 1;
    if (record.length !== columns.length) {
      yield {
        row,
        line: info.lines,
        error: `has ${record.length} cells where the header has ${columns.length} (an unquoted delimiter or a broken line?)`,
      };
      continue;
    }
    const values: Record<string, unknown> = {};
    columns.forEach((name, i) => {
      values[name] = record[i];
    });
    yield { row, line: info.lines, values };
  }
}
