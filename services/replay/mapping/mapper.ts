import { conditionSubjects, evaluate } from '../../shared/sources/conditions.ts';
import { type CompiledField, compileField } from './fields.ts';
import type { Mapping } from './schema.ts';
import type { TemplateContext } from './template.ts';

/**
 * A whole mapping, compiled: one row (column → value) in, one event for the source's HTTP
 * input or one rejection with a reason out. Pure and synchronous, so every decision of a
 * mapping file is testable without a file, a server or a clock.
 *
 * A rejection's `reason` is stable text (the skip rule's reason, or `<field>: <problem>`)
 * so the replay summary can count rows per reason; `detail` carries the offending value.
 */

export type RowOutcome = { event: Record<string, unknown> } | { rejected: string; detail?: string };

export interface CompiledMapping {
  mapping: Mapping;
  /** Every column any rule or field reads. */
  columns: string[];
  mapRow(row: Record<string, unknown>, ctx: TemplateContext): RowOutcome;
}

/** Looks a column up; in NDJSON rows `a.b` reaches into nested objects when there is no key `a.b`. */
function lookup(row: Record<string, unknown>, column: string): unknown {
  if (Object.hasOwn(row, column)) return row[column];
  if (!column.includes('.')) return undefined;
  let at: unknown = row;
  for (const part of column.split('.')) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, part)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

export function compileMapping(mapping: Mapping): CompiledMapping {
  const nulls = new Set(mapping.nullValues);
  const fields: CompiledField[] = Object.entries(mapping.fields).map(([name, spec]) =>
    compileField(name, spec, mapping.nullValues),
  );
  const columns = new Set<string>([
    ...fields.flatMap((f) => f.columns),
    ...mapping.skip.flatMap((s) => conditionSubjects(s.when, 'column')),
  ]);

  return {
    mapping,
    columns: [...columns],
    mapRow(row, ctx) {
      // An empty cell, or one of the mapping's null values, is "no value" for every rule.
      const read = (column: string): unknown => {
        const v = lookup(row, column);
        if (typeof v !== 'string') return v ?? undefined;
        const t = v.trim();
        return t === '' || nulls.has(t) ? undefined : v;
      };
      const readTrimmed = (column: string): unknown => {
        const v = read(column);
        return typeof v === 'string' ? v.trim() : v;
      };
      for (const rule of mapping.skip) {
        if (evaluate(rule.when, 'column', readTrimmed)) return { rejected: rule.reason };
      }
      const event: Record<string, unknown> = {};
      for (const field of fields) {
        const r = field.compute(read, ctx);
        if ('problem' in r) return { rejected: `${field.name}: ${r.problem}`, detail: r.detail };
        if ('value' in r) event[field.name] = r.value;
      }
      for (const [name, value] of Object.entries(mapping.defaults)) {
        if (event[name] === undefined) event[name] = value;
      }
      return { event };
    },
  };
}
