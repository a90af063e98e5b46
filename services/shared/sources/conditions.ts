import { z } from 'zod';

/**
 * One small condition language for the files people write: a KPI's `where` (over record
 * fields) and a mapping's `skip`/`when` (over file columns). Either a test on one value —
 * `{ field: stars, lte: 2 }`, `{ column: outcome, equals: PHANTOM }` — or `all`, `any`,
 * `not` of conditions. Values read from a CSV are strings: numeric operators compare
 * numbers when both sides are numbers, and a test on a missing value is false (except
 * `isNull: true`).
 */

export type Scalar = string | number | boolean;

export interface ValueTest {
  equals?: Scalar;
  notEquals?: Scalar;
  in?: Scalar[];
  notIn?: Scalar[];
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
  /** Regular expression (JavaScript syntax) the value, as text, must match. */
  matches?: string;
  isNull?: boolean;
}

export type Condition<K extends string> =
  | { all: Condition<K>[] }
  | { any: Condition<K>[] }
  | { not: Condition<K> }
  | (ValueTest & { [P in K]: string });

const OPERATORS = ['equals', 'notEquals', 'in', 'notIn', 'gt', 'gte', 'lt', 'lte', 'matches', 'isNull'] as const;
const COMBINATORS = ['all', 'any', 'not'] as const;

const scalar = z.union([z.string(), z.number(), z.boolean()]);

/** The zod schema of a condition whose tests name their value with `subject` (`field` or `column`). */
export function conditionSchema<K extends string>(subject: K): z.ZodType<Condition<K>> {
  const self: z.ZodType<Condition<K>> = z.lazy(() =>
    z
      .strictObject({
        all: z.array(self).min(1).optional(),
        any: z.array(self).min(1).optional(),
        not: self.optional(),
        [subject]: z.string().min(1).optional(),
        equals: scalar.optional(),
        notEquals: scalar.optional(),
        in: z.array(scalar).min(1).optional(),
        notIn: z.array(scalar).min(1).optional(),
        gt: z.number().optional(),
        gte: z.number().optional(),
        lt: z.number().optional(),
        lte: z.number().optional(),
        matches: z.string().optional(),
        isNull: z.boolean().optional(),
      })
      .superRefine((c: Record<string, unknown>, ctx) => {
        const present = (keys: readonly string[]) => keys.filter((k) => c[k] !== undefined);
        const combinators = present(COMBINATORS);
        const operators = present(OPERATORS);
        if (combinators.length > 1 || (combinators.length === 1 && (operators.length > 0 || c[subject] !== undefined))) {
          ctx.addIssue({ code: 'custom', message: `use one of all, any, not — or a test on one ${subject} — per condition` });
        } else if (combinators.length === 0) {
          if (c[subject] === undefined)
            ctx.addIssue({ code: 'custom', path: [subject], message: `required: which ${subject} to test` });
          if (operators.length !== 1) {
            ctx.addIssue({
              code: 'custom',
              message: `give exactly one of ${OPERATORS.join(', ')} (got ${operators.join(', ') || 'none'})`,
            });
          }
        }
        if (typeof c.matches === 'string') {
          try {
            new RegExp(c.matches);
          } catch (err) {
            ctx.addIssue({ code: 'custom', path: ['matches'], message: `not a regular expression: ${(err as Error).message}` });
          }
        }
      }),
  ) as unknown as z.ZodType<Condition<K>>;
  return self;
}

/** Every field or column a condition reads (to check them against a schema or a header). */
export function conditionSubjects<K extends string>(c: Condition<K>, subject: K): string[] {
  if ('all' in c) return c.all.flatMap((x) => conditionSubjects(x, subject));
  if ('any' in c) return c.any.flatMap((x) => conditionSubjects(x, subject));
  if ('not' in c) return conditionSubjects(c.not, subject);
  return [(c as Record<K, string>)[subject]];
}

const isMissing = (v: unknown): boolean => v === undefined || v === null;

/** A number from a number or numeric text; undefined otherwise. */
export function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(v)) return Number(v);
  return undefined;
}

function same(value: unknown, expected: Scalar): boolean {
  if (typeof expected === 'number') return asNumber(value) === expected;
  return String(value) === String(expected);
}

const regexCache = new Map<string, RegExp>();
function regex(source: string): RegExp {
  let r = regexCache.get(source);
  if (r === undefined) {
    r = new RegExp(source);
    regexCache.set(source, r);
  }
  return r;
}

function test(t: ValueTest, value: unknown): boolean {
  if (t.isNull !== undefined) return isMissing(value) === t.isNull;
  if (isMissing(value)) return false;
  if (t.equals !== undefined) return same(value, t.equals);
  if (t.notEquals !== undefined) return !same(value, t.notEquals);
  if (t.in !== undefined) return t.in.some((e) => same(value, e));
  if (t.notIn !== undefined) return !t.notIn.some((e) => same(value, e));
  if (t.matches !== undefined) return regex(t.matches).test(String(value));
  const n = asNumber(value);
  if (n === undefined) return false;
  if (t.gt !== undefined) return n > t.gt;
  if (t.gte !== undefined) return n >= t.gte;
  if (t.lt !== undefined) return n < t.lt;
  if (t.lte !== undefined) return n <= t.lte;
  return false;
}

/** Evaluates a condition; `read` returns a value by name, undefined or null when missing. */
export function evaluate<K extends string>(c: Condition<K>, subject: K, read: (name: string) => unknown): boolean {
  if ('all' in c) return c.all.every((x) => evaluate(x, subject, read));
  if ('any' in c) return c.any.some((x) => evaluate(x, subject, read));
  if ('not' in c) return !evaluate(c.not, subject, read);
  return test(c, read((c as Record<K, string>)[subject]));
}
