import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { z } from 'zod';
import { KPI_CATALOG } from '../kpi/catalog.ts';
import { type AvroFieldInfo, type AvroSchema, AvroShapeError, recordFromInput, zodFromAvro } from './avro-zod.ts';
import { origin, UNKNOWN } from './common.ts';
import { type KpiWhere, kpiWhere, whereFields, whereProblems } from './declared-kpi.ts';
import type { SourceDefinition } from './source.ts';
import { type FileIssue, readYamlDoc, YamlFileError } from './yaml-file.ts';

/**
 * Sources added by declaration, not by code (Benthos: "a schema plus a mapping").
 * A data engineer writes `schemas/avro/<name>.v1.avsc` and `schemas/sources/<name>.yaml`;
 * this module turns the pair into the same `SourceDefinition` the built-in sources are,
 * so ingest, Avro encoding, topics and the DLQ treat it exactly like `probe`.
 * docs/adding-a-source.md walks through one.
 */

export const DECLARED_DIR = fileURLToPath(new URL('../../../schemas/sources/', import.meta.url));
export const AVRO_DIR = fileURLToPath(new URL('../../../schemas/avro/', import.meta.url));

const HINT = 'See docs/adding-a-source.md for every key of a source declaration.';

const fieldName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be an Avro field name' });

const kpiDeclaration = z
  .strictObject({
    name: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, { message: 'must be snake_case (a-z, 0-9, _), starting with a letter' }),
    label: z.string().min(1).max(128).optional(),
    aggregate: z.enum(['count', 'sum', 'mean', 'share']),
    field: fieldName.optional(),
    where: kpiWhere.optional(),
    /** share and mean: the events of the denominator (first-time fix over visits with access). */
    over: kpiWhere.optional(),
    unit: z.enum(['ratio', 'pct', 'ms', 's', 'kbps', 'count', 'score']).optional(),
    better: z.enum(['higher', 'lower', 'either']).default('either'),
  })
  .superRefine((k, ctx) => {
    if ((k.aggregate === 'sum' || k.aggregate === 'mean') && k.field === undefined) {
      ctx.addIssue({ code: 'custom', path: ['field'], message: `${k.aggregate} needs a numeric field` });
    }
    if (k.over !== undefined && k.aggregate !== 'share' && k.aggregate !== 'mean') {
      ctx.addIssue({
        code: 'custom',
        path: ['over'],
        message: `over narrows the denominator of a share or a mean; a ${k.aggregate} has none (use where)`,
      });
    }
    if (k.aggregate === 'share' && k.where === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['where'],
        message: 'share needs a where: the events it counts (over all events, or those with field)',
      });
    }
  });

const checks = z.strictObject({
  min: z.number().optional(),
  max: z.number().optional(),
  integer: z.boolean().optional(),
  minLength: z.number().int().min(0).optional(),
  maxLength: z.number().int().min(1).optional(),
  pattern: z.string().optional(),
});

export const declarationSchema = z.strictObject({
  /** Source name: the URL segment (`/api/v1/events/<name>`) and the topic `cx.<name>.v1`. */
  name: z
    .string()
    .regex(/^[a-z][a-z0-9-]{1,39}$/, { message: 'must be 2–40 characters: a-z, 0-9 and -, starting with a letter' }),
  description: z.string().optional(),
  /** The Avro schema, relative to schemas/avro/. */
  schema: z.string().regex(/\.avsc$/, { message: 'must name an .avsc file under schemas/avro/' }),
  fields: z
    .strictObject({
      eventId: fieldName.default('eventId'),
      eventTime: fieldName.default('ts'),
      service: fieldName.default('service'),
      region: fieldName.default('region'),
    })
    .default({ eventId: 'eventId', eventTime: 'ts', service: 'service', region: 'region' }),
  /** Who supplies the data, when an event does not say. */
  origin,
  /** Record fields joined by `|` into the Kafka key; the window owner is decided by it. */
  partitionKey: z.array(fieldName).min(1).default(['service', 'region']),
  checks: z.record(fieldName, checks).default({}),
  kpis: z.array(kpiDeclaration).default([]),
});

export type SourceDeclaration = z.output<typeof declarationSchema>;

/** A KPI computed per window by the generic declared-source family. */
export interface DeclaredKpi {
  /** `<source>_<name>`: the id the model file (schemas/model/) refers to. */
  id: string;
  source: string;
  name: string;
  label: string;
  aggregate: 'count' | 'sum' | 'mean' | 'share';
  field?: string;
  where?: KpiWhere;
  /** share and mean: the events of the denominator. */
  over?: KpiWhere;
  /** `ratio` is a fraction 0…1, as in the built-in KPI catalog. */
  unit: 'ratio' | 'pct' | 'ms' | 's' | 'kbps' | 'count' | 'score';
  better: 'higher' | 'lower' | 'either';
}

export interface DeclaredSource {
  file: string;
  declaration: SourceDeclaration;
  definition: SourceDefinition<Record<string, unknown>, Record<string, unknown>>;
  kpis: DeclaredKpi[];
}

const DEFAULT_UNIT = { count: 'count', sum: 'count', mean: 'score', share: 'ratio' } as const;

function fail(file: string, issues: FileIssue[], lineOf?: (path: string) => number | undefined): never {
  const located = issues.map((i) => {
    const line = i.line ?? lineOf?.(i.path);
    return line === undefined ? i : { ...i, line };
  });
  throw new YamlFileError(file, 'source declaration', located, HINT);
}

/** Reads one declaration and its Avro schema into a source definition. */
export function loadDeclaredSource(file: string, avroDir = AVRO_DIR): DeclaredSource {
  const { data: declaration, lineOf } = readYamlDoc(file, declarationSchema, 'source declaration', HINT);
  const stem = path.basename(file).replace(/\.ya?ml$/, '');
  if (stem !== declaration.name) fail(file, [{ path: 'name', message: `must match the file name (${stem}.yaml)` }], lineOf);

  const schemaPath = path.resolve(avroDir, declaration.schema);
  let avroJson: AvroSchema;
  try {
    avroJson = JSON.parse(readFileSync(schemaPath, 'utf8')) as AvroSchema;
    avro.Type.forSchema(avroJson as avro.Schema);
  } catch (err) {
    fail(file, [{ path: 'schema', message: `${schemaPath} is not a readable Avro schema: ${(err as Error).message}` }], lineOf);
  }
  let generated: ReturnType<typeof zodFromAvro>;
  try {
    generated = zodFromAvro(avroJson, declaration.fields, declaration.checks);
  } catch (err) {
    if (err instanceof AvroShapeError) {
      fail(file, [{ path: err.path.startsWith('checks') ? err.path : 'schema', message: err.message }], lineOf);
    }
    throw err;
  }
  const issues = checkRoles(declaration, generated.fields);
  const kpis = declaration.kpis.map((k, i) => toKpi(declaration.name, k, i, generated.fields, issues));
  if (issues.length > 0) fail(file, issues, lineOf);

  const { input, fields } = generated;
  const roles = declaration.fields;
  const keyFields = declaration.partitionKey;
  const definition: DeclaredSource['definition'] = {
    name: declaration.name,
    // Relative to schemas/avro/, which is where avro.ts reads schema files from.
    schemaFile: path.relative(AVRO_DIR, schemaPath),
    input: input as unknown as z.ZodType<Record<string, unknown>>,
    toRecord: (e, receivedAt) => recordFromInput(fields, roles, e, receivedAt, declaration.origin),
    partitionKey: (r) => keyFields.map((k) => String(r[k] ?? UNKNOWN)).join('|'),
    eventTime: (r) => r[roles.eventTime] as number,
  };
  return { file, declaration, definition, kpis };
}

function checkRoles(d: SourceDeclaration, fields: AvroFieldInfo[]): FileIssue[] {
  const issues: FileIssue[] = [];
  const byName = new Map(fields.map((f) => [f.name, f]));
  const need = (at: string, field: string, types: string[], what: string) => {
    const f = byName.get(field);
    if (f === undefined) issues.push({ path: at, message: `the Avro schema has no field "${field}" (${what})` });
    else if (!types.includes(f.avroType)) issues.push({ path: at, message: `"${field}" must be ${what}, not ${f.avroType}` });
  };
  need('fields.eventId', d.fields.eventId, ['string'], 'a string');
  need('fields.eventTime', d.fields.eventTime, ['long'], 'a long (epoch ms)');
  need('fields.service', d.fields.service, ['string'], 'a string');
  need('fields.region', d.fields.region, ['string'], 'a string');
  need('schema', 'receivedAt', ['long'], 'a long the server fills with the time received');
  if (byName.has('origin')) need('schema', 'origin', ['string'], 'a string');
  d.partitionKey.forEach((k, i) => {
    if (!byName.has(k)) issues.push({ path: `partitionKey.${i}`, message: `the Avro schema has no field "${k}"` });
  });
  return issues;
}

function toKpi(
  source: string,
  k: SourceDeclaration['kpis'][number],
  index: number,
  fields: AvroFieldInfo[],
  issues: FileIssue[],
): DeclaredKpi {
  const id = `${source.replaceAll('-', '_')}_${k.name}`;
  const at = `kpis.${index}`;
  if (Object.hasOwn(KPI_CATALOG, id)) issues.push({ path: `${at}.name`, message: `${id} is already a built-in KPI` });
  const numeric = (f: string) => fields.find((x) => x.name === f)?.kind === 'number';
  if (k.field !== undefined) {
    if (!fields.some((f) => f.name === k.field))
      issues.push({ path: `${at}.field`, message: `the Avro schema has no field "${k.field}"` });
    else if ((k.aggregate === 'sum' || k.aggregate === 'mean') && !numeric(k.field)) {
      issues.push({ path: `${at}.field`, message: `"${k.field}" is not a number (int, long, float or double)` });
    }
  }
  for (const key of ['where', 'over'] as const) {
    const condition = k[key];
    if (condition === undefined) continue;
    for (const f of whereFields(condition)) {
      if (!fields.some((x) => x.name === f))
        issues.push({ path: `${at}.${key}`, message: `the Avro schema has no field "${f}"` });
    }
    for (const p of whereProblems(condition, fields)) issues.push({ path: `${at}.${key}.${p.path}`, message: p.message });
  }
  return {
    id,
    source,
    name: k.name,
    label: k.label ?? `${source} ${k.name.replaceAll('_', ' ')}`,
    aggregate: k.aggregate,
    ...(k.field === undefined ? {} : { field: k.field }),
    ...(k.where === undefined ? {} : { where: k.where }),
    ...(k.over === undefined ? {} : { over: k.over }),
    unit: k.unit ?? DEFAULT_UNIT[k.aggregate],
    better: k.better,
  };
}

/** Every `<name>.yaml` in `dir`, read and checked; none when the folder does not exist. */
export function readDeclaredSources(dir = DECLARED_DIR, avroDir = AVRO_DIR): DeclaredSource[] {
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  const loaded = files.map((f) => loadDeclaredSource(path.join(dir, f), avroDir));
  const seen = new Set<string>();
  for (const s of loaded) {
    if (seen.has(s.declaration.name)) fail(s.file, [{ path: 'name', message: `"${s.declaration.name}" is declared twice` }]);
    seen.add(s.declaration.name);
  }
  return loaded;
}
