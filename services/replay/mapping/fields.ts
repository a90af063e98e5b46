import { asNumber, conditionSubjects, evaluate } from '../../shared/sources/conditions.ts';
import { parseExpression } from './expression.ts';
import type { FieldSpec } from './schema.ts';
import { parseTemplate, renderTemplate, type TemplateContext } from './template.ts';
import { compileTime } from './time.ts';

/**
 * One event field, compiled from its spec: where the value comes from, then the
 * transforms in the documented order (null values → trim → replace → case → map →
 * type/time → default). Pure: a row in, a value (or "absent", or a problem) out.
 */

export type FieldResult = { value: unknown } | { absent: true } | { problem: string; detail: string };

export interface CompiledField {
  name: string;
  /** Columns this field reads (to check them against the file's header). */
  columns: string[];
  compute(read: (column: string) => unknown, ctx: TemplateContext): FieldResult;
}

const DEFAULT_TRUE = ['true', 'yes', 'y', '1'];
const DEFAULT_FALSE = ['false', 'no', 'n', '0'];
const ABSENT: FieldResult = { absent: true };

const trimmed = (v: unknown): unknown => (typeof v === 'string' ? v.trim() : v);
const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v));

export function compileField(name: string, spec: FieldSpec, globalNulls: readonly string[]): CompiledField {
  const template = spec.template === undefined ? undefined : parseTemplate(spec.template);
  const expression = spec.expr === undefined ? undefined : parseExpression(spec.expr);
  const time = spec.time === undefined ? undefined : compileTime(spec.time);
  const nulls = new Set([...globalNulls, ...(spec.nullValues ?? [])]);
  const trueValues = new Set((spec.trueValues ?? DEFAULT_TRUE).map((s) => s.toLowerCase()));
  const falseValues = new Set((spec.falseValues ?? DEFAULT_FALSE).map((s) => s.toLowerCase()));
  const from = spec.column !== undefined ? `column ${spec.column}` : spec.template !== undefined ? 'template' : 'expr';
  const columns = [
    ...(spec.column === undefined ? [] : [spec.column]),
    ...(template?.columns ?? []),
    ...(expression?.columns ?? []),
    ...(spec.when ? conditionSubjects(spec.when, 'column') : []),
  ];

  const raw = (read: (c: string) => unknown, ctx: TemplateContext): FieldResult => {
    if (spec.const !== undefined) return { value: spec.const };
    if (spec.column !== undefined) return { value: read(spec.column) };
    if (template) {
      const r = renderTemplate(template, read, ctx);
      return 'value' in r ? r : { problem: `template needs column ${r.missing}, which is empty`, detail: spec.template ?? '' };
    }
    if (expression) {
      const r = expression.evaluate(read);
      return 'value' in r ? r : { problem: r.error, detail: spec.expr ?? '' };
    }
    return ABSENT;
  };

  const convert = (v: unknown): FieldResult => {
    if (time) {
      const r = time(v);
      return 'value' in r ? r : { problem: `${r.error}`, detail: `${show(v)} from ${from}` };
    }
    switch (spec.type) {
      case undefined:
        return { value: v };
      case 'string':
        return { value: typeof v === 'string' ? v : JSON.stringify(v) };
      case 'number':
      case 'integer': {
        const n = asNumber(v);
        if (n === undefined) return { problem: 'is not a number', detail: `${show(v)} from ${from}` };
        if (spec.type === 'integer' && !Number.isInteger(n))
          return { problem: 'is not a whole number', detail: `${show(v)} from ${from}` };
        return { value: n };
      }
      case 'boolean': {
        if (typeof v === 'boolean') return { value: v };
        const text = String(v).toLowerCase();
        if (trueValues.has(text)) return { value: true };
        if (falseValues.has(text)) return { value: false };
        return { problem: 'is not a known true/false value', detail: `${show(v)} from ${from}` };
      }
    }
  };

  const transform = (input: unknown): FieldResult => {
    let v = input;
    if (v === undefined || v === null) return ABSENT;
    if (typeof v === 'string') {
      if (spec.trim) v = (v as string).trim();
      if (v === '' || nulls.has(v as string)) return ABSENT;
      for (const [from, to] of Object.entries(spec.replace ?? {})) v = (v as string).replaceAll(from, to);
      if (spec.case === 'lower') v = (v as string).toLowerCase();
      if (spec.case === 'upper') v = (v as string).toUpperCase();
    }
    if (spec.map) {
      const key = typeof v === 'string' ? v : String(v);
      if (Object.hasOwn(spec.map, key)) v = spec.map[key];
      else if (spec.otherwise !== undefined) v = spec.otherwise;
      else
        return {
          problem: 'value is not in the map',
          detail: `${show(v)} from ${from}; known: ${Object.keys(spec.map).join(', ')}`,
        };
      if (v === null) return ABSENT;
    }
    return convert(v);
  };

  return {
    name,
    columns,
    compute(read, ctx) {
      if (spec.when && !evaluate(spec.when, 'column', (c) => trimmed(read(c)))) return ABSENT;
      const r = raw(read, ctx);
      const out = 'value' in r ? transform(r.value) : r;
      if ('absent' in out && spec.default !== undefined) return { value: spec.default };
      return out;
    },
  };
}
