import type { AvroFieldInfo } from './avro-zod.ts';
import { asNumber, type Condition, conditionSchema, conditionSubjects, evaluate, type ValueTest } from './conditions.ts';

/**
 * The contract of a declared KPI, as plain functions the generic aggregator family calls
 * per event and per window. Every KPI is stored as numerator and denominator (design doc:
 * rollups are sums, never averages of averages). `where` picks the events a KPI counts;
 * `over` (share and mean only) picks the events it is a share or a mean of:
 *
 * | aggregate | numerator                                   | denominator                                   | value       |
 * | --------- | ------------------------------------------- | --------------------------------------------- | ----------- |
 * | count     | events matching `where`                     | events                                        | numerator   |
 * | sum       | Σ `field` over events matching `where`      | matching events with `field`                  | numerator   |
 * | mean      | Σ `field` over events matching `where` (and `over`) | events matching `over` (default: `where`) with `field` | num / den |
 * | share     | events matching `where` (and `over`)        | events matching `over` (with `field`, if given) | num / den |
 *
 * `share` is a fraction 0…1 (unit `ratio`, like the built-in KPIs): first-time fix is
 * `where: outcome = fixed, over: outcome ≠ no_access`, so a visit where nobody opened the
 * door is in neither part. A window where the denominator is 0 has no share or mean (null);
 * a count or a sum with no events is 0, as the built-in counts are.
 */

export type KpiWhere = Condition<'field'>;

export const kpiWhere = conditionSchema('field');

export const whereFields = (w: KpiWhere): string[] => conditionSubjects(w, 'field');

export interface KpiSpec {
  aggregate: 'count' | 'sum' | 'mean' | 'share';
  field?: string;
  where?: KpiWhere;
  /** share and mean: the events of the denominator (the numerator counts only these too). */
  over?: KpiWhere;
}

export interface Contribution {
  numerator: number;
  denominator: number;
}

export const NO_CONTRIBUTION: Contribution = Object.freeze({ numerator: 0, denominator: 0 });

export const kpiMatches = (where: KpiWhere | undefined, record: Record<string, unknown>): boolean =>
  where === undefined || evaluate(where, 'field', (name) => record[name]);

/** What one record adds to a KPI's window sums. */
export function kpiContribution(kpi: KpiSpec, record: Record<string, unknown>): Contribution {
  const matches = kpiMatches(kpi.where, record);
  switch (kpi.aggregate) {
    case 'count':
      return { numerator: matches ? 1 : 0, denominator: 1 };
    case 'sum': {
      const value = kpi.field === undefined ? undefined : asNumber(record[kpi.field]);
      return matches && value !== undefined ? { numerator: value, denominator: 1 } : NO_CONTRIBUTION;
    }
    case 'mean': {
      const value = kpi.field === undefined ? undefined : asNumber(record[kpi.field]);
      if (value === undefined) return NO_CONTRIBUTION;
      if (kpi.over === undefined) return matches ? { numerator: value, denominator: 1 } : NO_CONTRIBUTION;
      if (!kpiMatches(kpi.over, record)) return NO_CONTRIBUTION;
      return { numerator: matches ? value : 0, denominator: 1 };
    }
    case 'share': {
      const hasField = kpi.field === undefined || (record[kpi.field] !== undefined && record[kpi.field] !== null);
      if (!hasField || !kpiMatches(kpi.over, record)) return NO_CONTRIBUTION;
      return { numerator: matches ? 1 : 0, denominator: 1 };
    }
  }
}

/**
 * The KPI's value from summed contributions; `undefined` sums (no event of the source in
 * the window) count as none: 0 for a count or a sum, null for a share or a mean.
 */
export function kpiValue(kpi: Pick<KpiSpec, 'aggregate'>, sums: Contribution | undefined): number | null {
  const s = sums ?? NO_CONTRIBUTION;
  if (kpi.aggregate === 'count' || kpi.aggregate === 'sum') return s.numerator;
  return s.denominator > 0 ? s.numerator / s.denominator : null;
}

/** One problem of a condition, at a dotted path inside it (`all.0.equals`). */
export interface WhereProblem {
  path: string;
  message: string;
}

const describeType = (f: AvroFieldInfo): string =>
  f.kind === 'enum' && f.symbols
    ? `an enum (${f.symbols.join(', ')})`
    : f.kind === 'number'
      ? `a number (${f.avroType})`
      : `a ${f.avroType}`;

/**
 * The values of a condition checked against the Avro schema's fields: a value the field can
 * never hold would make the KPI silently 0 (`equals: fixd` on an enum, `equals: "Y"` on a
 * boolean, `gt: 3` on a string). Missing fields are reported by the caller.
 */
export function whereProblems(where: KpiWhere, fields: readonly AvroFieldInfo[], at = ''): WhereProblem[] {
  const here = (key: string) => (at === '' ? key : `${at}.${key}`);
  if ('all' in where) return where.all.flatMap((c, i) => whereProblems(c, fields, here(`all.${i}`)));
  if ('any' in where) return where.any.flatMap((c, i) => whereProblems(c, fields, here(`any.${i}`)));
  if ('not' in where) return whereProblems(where.not, fields, here('not'));
  const test = where as ValueTest & { field: string };
  const field = fields.find((f) => f.name === test.field);
  if (field === undefined) return [];
  const problems: WhereProblem[] = [];
  const checkValue = (key: string, value: unknown) => {
    const problem = valueProblem(field, value);
    if (problem) problems.push({ path: here(key), message: problem });
  };
  for (const key of ['equals', 'notEquals'] as const) if (test[key] !== undefined) checkValue(key, test[key]);
  for (const key of ['in', 'notIn'] as const) {
    for (const [i, v] of (test[key] ?? []).entries()) checkValue(`${key}.${i}`, v);
  }
  for (const key of ['gt', 'gte', 'lt', 'lte'] as const) {
    if (test[key] !== undefined && field.kind !== 'number' && field.kind !== 'timestamp') {
      problems.push({
        path: here(key),
        message: `"${field.name}" is ${describeType(field)}, not a number: ${key} never matches`,
      });
    }
  }
  return problems;
}

function valueProblem(field: AvroFieldInfo, value: unknown): string | undefined {
  const shown = JSON.stringify(value);
  switch (field.kind) {
    case 'enum':
      if (field.symbols && !field.symbols.includes(String(value))) {
        return `${shown} is not a symbol of "${field.name}"; valid symbols: ${field.symbols.join(', ')}`;
      }
      return undefined;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `"${field.name}" is a boolean: write true or false, not ${shown}`;
    case 'number':
    case 'timestamp':
      return asNumber(value) === undefined ? `"${field.name}" is ${describeType(field)}: ${shown} is not a number` : undefined;
    case 'string':
      return typeof value === 'boolean' ? `"${field.name}" is a string: quote the value ("${value}")` : undefined;
    default:
      return undefined;
  }
}
