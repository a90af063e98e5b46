import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { SourceDefinition } from '../shared/sources/source.ts';
import { loadMapping, type Mapping } from './mapping/schema.ts';

/**
 * Which mapping a replay uses, and whether it fits its source — answered before the first
 * row is read, with errors that say what to change.
 */

export const MAPPINGS_DIR = fileURLToPath(new URL('../../schemas/mappings/', import.meta.url));

export class ReplaySetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplaySetupError';
  }
}

/** `*` any run of characters, `?` one; matched against the file's base name. */
export function globMatches(pattern: string, file: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(path.basename(file));
}

export const isNdjsonFile = (file: string): boolean => /\.(ndjson|jsonl)(\.gz)?$/i.test(file);

export interface Resolved {
  /** undefined: the file already holds events (NDJSON posted as it is). */
  mapping: Mapping | undefined;
  mappingFile: string | undefined;
  source: string;
}

export function resolveMapping(file: string, opts: { mapping?: string; source?: string }, dir = MAPPINGS_DIR): Resolved {
  if (opts.mapping !== undefined) {
    const mapping = loadMapping(opts.mapping);
    if (opts.source !== undefined && opts.source !== mapping.source) {
      throw new ReplaySetupError(
        `${opts.mapping} maps rows to "${mapping.source}" events, not "${opts.source}". Drop --source or pick the mapping for ${opts.source}.`,
      );
    }
    return { mapping, mappingFile: opts.mapping, source: mapping.source };
  }
  if (isNdjsonFile(file)) {
    if (opts.source === undefined)
      throw new ReplaySetupError('An NDJSON file of events needs --source <name> (which endpoint to post to).');
    return { mapping: undefined, mappingFile: undefined, source: opts.source };
  }
  const candidates = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
        .map((f) => ({ file: path.join(dir, f), mapping: loadMapping(path.join(dir, f)) }))
    : [];
  const fits = candidates.filter(
    (c) => c.mapping.files.some((p) => globMatches(p, file)) && (opts.source === undefined || c.mapping.source === opts.source),
  );
  const [only] = fits;
  if (fits.length === 1 && only) return { mapping: only.mapping, mappingFile: only.file, source: only.mapping.source };
  const forSource = candidates.filter((c) => opts.source === undefined || c.mapping.source === opts.source);
  const list = forSource.map(
    (c) => `  ${path.relative(process.cwd(), c.file)}  (${c.mapping.source}; files ${c.mapping.files.join(', ') || '—'})`,
  );
  throw new ReplaySetupError(
    fits.length > 1
      ? `Several mappings claim ${path.basename(file)}: ${fits.map((f) => path.basename(f.file)).join(', ')}. Pass --mapping <file>.`
      : `No mapping for ${path.basename(file)}${opts.source ? ` and source ${opts.source}` : ''}. Pass --mapping <file>` +
          (list.length > 0 ? `; mappings here:\n${list.join('\n')}` : ' (docs/adding-a-source.md shows how to write one).'),
  );
}

/** The top-level fields of a source's input, and which of them an event must have. */
export function inputFields(input: z.ZodType): { all: string[]; required: string[] } | undefined {
  if (!(input instanceof z.ZodObject)) return undefined;
  const shape = input.shape as Record<string, z.ZodType>;
  const all = Object.keys(shape);
  return { all, required: all.filter((k) => !shape[k]?.safeParse(undefined).success) };
}

/**
 * Problems a mapping has against its source: a field the source does not have (zod would
 * drop it silently) or a required field the mapping never sets.
 */
export function mappingProblems(mapping: Mapping, source: SourceDefinition<unknown, object>): string[] {
  const fields = inputFields(source.input);
  if (!fields) return [];
  const problems: string[] = [];
  const set = new Set([...Object.keys(mapping.fields), ...Object.keys(mapping.defaults)]);
  for (const key of set) {
    if (!fields.all.includes(key)) {
      const where = key in mapping.fields ? 'fields' : 'defaults';
      problems.push(`${where}.${key}: source "${source.name}" has no field "${key}" (its fields: ${fields.all.join(', ')})`);
    }
  }
  for (const key of fields.required) {
    if (!set.has(key)) problems.push(`fields.${key}: source "${source.name}" requires it; map it or give it in defaults`);
  }
  problems.push(...constantProblems(mapping, source));
  return problems;
}

/**
 * Values written in the mapping itself (a `const`, a `map` target, `otherwise`, a `default`,
 * the `defaults`) checked with the source's own field validator, so `map: { Y: fixd }` on
 * an enum fails before the first row instead of rejecting every row. Values a `type` or
 * `time` converts later are left to the per-row check.
 */
function constantProblems(mapping: Mapping, source: SourceDefinition<unknown, object>): string[] {
  if (!(source.input instanceof z.ZodObject)) return [];
  const shape = source.input.shape as Record<string, z.ZodType>;
  const problems: string[] = [];
  const check = (at: string, field: string, value: unknown) => {
    const schema = shape[field];
    if (schema === undefined || value === null) return;
    const r = schema.safeParse(value);
    if (!r.success) problems.push(`${at}: ${JSON.stringify(value)} is not a valid ${field}: ${r.error.issues[0]?.message}`);
  };
  for (const [field, spec] of Object.entries(mapping.fields)) {
    if (spec.type !== undefined || spec.time !== undefined) continue;
    if (spec.const !== undefined) check(`fields.${field}.const`, field, spec.const);
    for (const [from, to] of Object.entries(spec.map ?? {})) check(`fields.${field}.map.${from}`, field, to);
    if (spec.otherwise !== undefined) check(`fields.${field}.otherwise`, field, spec.otherwise);
    if (spec.default !== undefined) check(`fields.${field}.default`, field, spec.default);
  }
  for (const [field, value] of Object.entries(mapping.defaults)) check(`defaults.${field}`, field, value);
  return problems;
}
