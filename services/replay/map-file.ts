import path from 'node:path';
import { type CompiledMapping, compileMapping } from './mapping/mapper.ts';
import type { Mapping } from './mapping/schema.ts';
import { readRows } from './reader.ts';

/**
 * A file through a mapping: every row comes out exactly once, as an event or as a
 * rejection with its reason, so `rows = events + rejected` holds by construction.
 */

export type MappedRow =
  | { row: number; line: number; event: Record<string, unknown> }
  | { row: number; line: number; rejected: string; detail?: string };

export class MappingMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MappingMismatchError';
  }
}

/** `calls-1999.csv.gz` → `calls-1999`: the `{$file}` of templates. */
export const fileStem = (file: string): string =>
  path
    .basename(file)
    .replace(/\.gz$/i, '')
    .replace(/\.(csv|tsv|ndjson|jsonl|json|txt)$/i, '');

export async function* mapFile(file: string, mapping: Mapping | CompiledMapping): AsyncGenerator<MappedRow> {
  const compiled = 'mapRow' in mapping ? mapping : compileMapping(mapping);
  const ctx = { row: 0, file: fileStem(file) };
  const onColumns = (columns: string[]) => {
    if (compiled.mapping.input.format !== 'csv') return;
    const have = new Set(columns);
    const missing = compiled.columns.filter((c) => !have.has(c));
    if (missing.length > 0) {
      throw new MappingMismatchError(
        `${path.basename(file)} has no column ${missing.map((c) => `"${c}"`).join(', ')} that the mapping reads. ` +
          `Its columns are: ${columns.map((c) => `"${c}"`).join(', ')}. Fix the column names in the mapping (or input.csv.delimiter/encoding if every name looks wrong).`,
      );
    }
  };
  for await (const item of readRows(file, compiled.mapping.input, { onColumns })) {
    if ('error' in item) {
      yield { row: item.row, line: item.line, rejected: 'unreadable row', detail: item.error };
      continue;
    }
    ctx.row = item.row;
    const outcome = compiled.mapRow(item.values, ctx);
    yield 'event' in outcome
      ? { row: item.row, line: item.line, event: outcome.event }
      : {
          row: item.row,
          line: item.line,
          rejected: outcome.rejected,
          ...(outcome.detail === undefined ? {} : { detail: outcome.detail }),
        };
  }
}

/** NDJSON that already holds events: each line is posted as it is (no mapping). */
export const PASS_THROUGH: Mapping = {
  version: 1,
  source: 'pass-through',
  files: [],
  input: {
    format: 'ndjson',
    encoding: 'utf-8',
    compression: 'auto',
    csv: { delimiter: ',', quote: '"', header: true, bom: true },
  },
  nullValues: [],
  skip: [],
  fields: {},
  defaults: {},
};

export async function* passThrough(file: string): AsyncGenerator<MappedRow> {
  for await (const item of readRows(file, PASS_THROUGH.input)) {
    yield 'error' in item
      ? { row: item.row, line: item.line, rejected: 'unreadable row', detail: item.error }
      : { row: item.row, line: item.line, event: item.values };
  }
}
