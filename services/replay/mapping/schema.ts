import { z } from 'zod';
import { conditionSchema } from '../../shared/sources/conditions.ts';
import { readYamlFile } from '../../shared/sources/yaml-file.ts';
import { ExpressionError, parseExpression } from './expression.ts';
import { parseTemplate, TemplateError } from './template.ts';
import { timeSpecProblems } from './time.ts';

/**
 * A mapping file (`schemas/mappings/<name>.yaml`): how the rows of one foreign file become
 * events of one source. This schema is the single place a key is declared; the reference
 * with examples is docs/adding-a-source.md.
 */

const scalar = z.union([z.string(), z.number(), z.boolean()]);

export const columnCondition = conditionSchema('column');

const timeSpec = z
  .strictObject({
    format: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    zone: z.string().optional(),
    date: z.string().optional(),
    locale: z.string().optional(),
    periodIndex: z.strictObject({ base: z.string(), unit: z.enum(['minute', 'hour', 'day', 'week', 'month']) }).optional(),
  })
  .superRefine((t, ctx) => {
    for (const message of timeSpecProblems(t)) ctx.addIssue({ code: 'custom', message });
  });

const SOURCES_OF_VALUE = ['column', 'const', 'template', 'expr'] as const;

export const fieldSpec = z
  .strictObject({
    // Where the value comes from: exactly one of these.
    column: z.string().min(1).optional(),
    const: scalar.optional(),
    template: z.string().min(1).optional(),
    expr: z.string().min(1).optional(),
    /** The field is set only on rows where this holds (absent otherwise). */
    when: columnCondition.optional(),
    // Then, in this order:
    /** Values read as "no value" for this field, beside the mapping's own `nullValues`. */
    nullValues: z.array(z.string()).optional(),
    trim: z.boolean().default(true),
    /** Substrings replaced, e.g. a mis-encoded character. */
    replace: z.record(z.string().min(1), z.string()).optional(),
    case: z.enum(['lower', 'upper']).optional(),
    /** Value → value. A value not listed rejects the row, unless `otherwise` says what to use. */
    map: z.record(z.string(), scalar.nullable()).optional(),
    otherwise: scalar.nullable().optional(),
    type: z.enum(['string', 'number', 'integer', 'boolean']).optional(),
    /** With `type: boolean`: the texts read as true / false (case-insensitive). */
    trueValues: z.array(z.string()).min(1).optional(),
    falseValues: z.array(z.string()).min(1).optional(),
    time: timeSpec.optional(),
    /** Used when the value is absent. */
    default: scalar.optional(),
  })
  .superRefine((f, ctx) => {
    const given = SOURCES_OF_VALUE.filter((k) => f[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `give exactly one of ${SOURCES_OF_VALUE.join(', ')} (got ${given.join(', ') || 'none'})`,
      });
    }
    if (f.time && f.type) ctx.addIssue({ code: 'custom', path: ['type'], message: 'a time field takes no type' });
    if ((f.trueValues || f.falseValues) && f.type !== 'boolean') {
      ctx.addIssue({ code: 'custom', path: ['type'], message: 'trueValues/falseValues need type: boolean' });
    }
    if (f.otherwise !== undefined && f.map === undefined) {
      ctx.addIssue({ code: 'custom', path: ['otherwise'], message: 'otherwise goes with map' });
    }
    const check = (key: 'template' | 'expr', parse: (s: string) => unknown) => {
      const text = f[key];
      if (text === undefined) return;
      try {
        parse(text);
      } catch (err) {
        if (err instanceof TemplateError || err instanceof ExpressionError) {
          ctx.addIssue({ code: 'custom', path: [key], message: err.message });
        } else throw err;
      }
    };
    check('template', parseTemplate);
    check('expr', parseExpression);
  });

const csvOptions = z
  .strictObject({
    delimiter: z.string().length(1).default(','),
    quote: z.string().length(1).default('"'),
    /** The first row names the columns. Without it, `columns` does. */
    header: z.boolean().default(true),
    columns: z.array(z.string().min(1)).optional(),
    /** Drop a leading byte-order mark (otherwise the first column's name starts with U+FEFF). */
    bom: z.boolean().default(true),
  })
  .superRefine((c, ctx) => {
    if (!c.header && !c.columns) ctx.addIssue({ code: 'custom', path: ['columns'], message: 'required when header is false' });
  });

export const ENCODINGS = ['utf-8', 'latin1', 'utf-16le', 'windows-1252'] as const;

const inputSpec = z
  .strictObject({
    format: z.enum(['csv', 'ndjson']),
    /** latin1 is ISO-8859-1 byte for byte; windows-1252 differs in 0x80–0x9F. */
    encoding: z.enum(ENCODINGS).default('utf-8'),
    /** auto: gzip when the file starts with the gzip magic bytes or ends in .gz. */
    compression: z.enum(['auto', 'gzip', 'none']).default('auto'),
    csv: csvOptions.optional(),
  })
  .transform((i) => ({ ...i, csv: csvOptions.parse(i.csv ?? {}) }));

export const mappingSchema = z.strictObject({
  version: z.literal(1, { message: 'must be 1 (the mapping format version)' }),
  description: z.string().optional(),
  /** The source whose events the rows become (built-in or declared). */
  source: z.string().regex(/^[a-z][a-z0-9-]*$/, { message: 'must be a source name such as contact or appreview' }),
  /** File-name patterns (`*`, `?`) this mapping is for: `replay` picks it when --mapping is not given. */
  files: z.array(z.string().min(1)).default([]),
  input: inputSpec,
  /** Cell values read as "no value" in every column (an empty cell always is). */
  nullValues: z.array(z.string()).default([]),
  /** Rows rejected on purpose, each with the reason counted in the replay summary. First match wins. */
  skip: z.array(z.strictObject({ when: columnCondition, reason: z.string().min(1).max(200) })).default([]),
  fields: z.record(z.string().min(1), fieldSpec),
  /** Event fields set on every event that has no value for them. */
  defaults: z.record(z.string().min(1), scalar).default({}),
});

export type Mapping = z.output<typeof mappingSchema>;
export type FieldSpec = z.output<typeof fieldSpec>;

export const MAPPING_HINT = 'See docs/adding-a-source.md ("Mapping files") for every key, with examples.';

export function loadMapping(file: string): Mapping {
  return readYamlFile(file, mappingSchema, 'mapping', MAPPING_HINT);
}
