import { z } from 'zod';
import { commonFields, name, origin, timestamp, UNKNOWN } from './common.ts';

/**
 * Generates the input validator of a source from its Avro schema, so the schema is the
 * single place a field is declared (Vector's "config schema is the source of truth"):
 * declared sources with their declaration's checks, built-in ones (`built-in.ts`) with
 * `InputOptions` too. Rules, in words a data engineer can check against the .avsc:
 *
 * - a field is required unless it has a `default` or its union contains `null`;
 * - string → string, boolean → boolean, int/long → whole number, float/double → finite
 *   number, enum → one of its symbols, array/map/record → the same shape, recursively;
 * - `long` with `logicalType: timestamp-millis`, and the event-time field, take ISO-8601
 *   with an offset or epoch ms and come out as epoch ms (like every built-in source);
 * - the role fields get the built-in checks: `eventId` (1–256 chars), `service`,
 *   `region`, `segment` (1–128 chars, trimmed), `origin` (customer|network|partner|manager|employee);
 * - range and length checks Avro cannot express come from the declaration's `checks`.
 */

export type AvroSchema = string | AvroSchema[] | { type: AvroSchema | string; [key: string]: unknown };

export interface FieldChecks {
  min?: number | undefined;
  max?: number | undefined;
  integer?: boolean | undefined;
  minLength?: number | undefined;
  maxLength?: number | undefined;
  pattern?: string | undefined;
}

export interface Roles {
  eventId: string;
  eventTime: string;
  service: string;
  region: string;
}

/** What toRecord and the KPI checks need to know about one top-level field. */
export interface AvroFieldInfo {
  name: string;
  /** How the input validator treats it (a role can make a long a timestamp). */
  kind: 'string' | 'number' | 'boolean' | 'enum' | 'timestamp' | 'other';
  /** The Avro type, unwrapped from a union with null: `long`, `string`, `enum`, `record`… */
  avroType: string;
  required: boolean;
  hasDefault: boolean;
  defaultValue: unknown;
  /** An enum's symbols (a declaration's `where` values are checked against them). */
  symbols?: string[];
}

export class AvroShapeError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'AvroShapeError';
  }
}

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);
const INT32 = 2 ** 31;

interface Built {
  schema: z.ZodType;
  kind: AvroFieldInfo['kind'];
  symbols?: string[];
}

/** Named types (records, enums) already seen, so later fields may refer to them by name. */
type Named = Map<string, AvroSchema>;

function build(type: AvroSchema, at: string, named: Named): Built {
  if (typeof type === 'string') {
    if (!PRIMITIVES.has(type)) {
      const ref = named.get(type);
      if (ref === undefined) throw new AvroShapeError(at, `unknown type "${type}"`);
      return build(ref, at, named);
    }
    switch (type) {
      case 'boolean':
        return { schema: z.boolean(), kind: 'boolean' };
      case 'int':
        return {
          schema: z
            .number()
            .int()
            .min(-INT32)
            .max(INT32 - 1),
          kind: 'number',
        };
      case 'long':
        return { schema: z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER), kind: 'number' };
      case 'float':
      case 'double':
        return { schema: z.number().finite(), kind: 'number' };
      case 'string':
        return { schema: z.string().max(1_000_000), kind: 'string' };
      default:
        throw new AvroShapeError(
          at,
          `type "${type}" cannot be posted as JSON here; use string (e.g. base64) or a union with null`,
        );
    }
  }
  if (Array.isArray(type)) {
    const branches = type.filter((t) => t !== 'null');
    const [only] = branches;
    if (branches.length !== 1 || only === undefined) {
      throw new AvroShapeError(at, 'only unions of null and one type are supported (e.g. ["null", "string"])');
    }
    return build(only, at, named);
  }
  const t = type.type;
  if (t === 'long' && type.logicalType === 'timestamp-millis') return { schema: timestamp, kind: 'timestamp' };
  if (typeof t === 'string' && PRIMITIVES.has(t)) return build(t, at, named);
  if (t === 'enum') {
    const symbols = type.symbols as string[];
    remember(type, named);
    return { schema: z.enum(symbols as [string, ...string[]]), kind: 'enum', symbols };
  }
  if (t === 'array') return { schema: z.array(build(type.items as AvroSchema, `${at}[]`, named).schema), kind: 'other' };
  if (t === 'map') {
    return { schema: z.record(z.string(), build(type.values as AvroSchema, `${at}{}`, named).schema), kind: 'other' };
  }
  if (t === 'record') {
    remember(type, named);
    const shape: Record<string, z.ZodType> = {};
    for (const f of recordFields(type, at)) shape[f.name] = optionalIf(f, build(f.type, `${at}.${f.name}`, named).schema);
    return { schema: z.object(shape), kind: 'other' };
  }
  if (t === 'fixed') throw new AvroShapeError(at, 'type "fixed" cannot be posted as JSON here; use string');
  return build(t as AvroSchema, at, named);
}

function remember(type: { [key: string]: unknown }, named: Named): void {
  const short = type.name;
  if (typeof short !== 'string') return;
  named.set(short, type as AvroSchema);
  if (typeof type.namespace === 'string') named.set(`${type.namespace}.${short}`, type as AvroSchema);
}

interface AvroField {
  name: string;
  type: AvroSchema;
  default?: unknown;
}

function recordFields(type: { [key: string]: unknown }, at: string): AvroField[] {
  if (!Array.isArray(type.fields)) throw new AvroShapeError(at, 'a record needs a "fields" list');
  return type.fields as AvroField[];
}

function avroTypeName(type: AvroSchema, named: Named): string {
  if (typeof type === 'string') {
    const ref = named.get(type);
    return ref === undefined ? type : avroTypeName(ref, named);
  }
  if (Array.isArray(type)) return avroTypeName(type.find((t) => t !== 'null') ?? 'null', named);
  return typeof type.type === 'string' ? type.type : avroTypeName(type.type, named);
}

const nullable = (type: AvroSchema): boolean => Array.isArray(type) && type.includes('null');

function optionalIf(field: AvroField, schema: z.ZodType): z.ZodType {
  const withNull = nullable(field.type) ? schema.nullable() : schema;
  return 'default' in field || nullable(field.type) ? withNull.optional() : withNull;
}

function applyChecks(schema: z.ZodType, checks: FieldChecks, kind: Built['kind'], at: string): z.ZodType {
  if (kind === 'number' && schema instanceof z.ZodNumber) {
    let s = schema;
    if (checks.min !== undefined) s = s.min(checks.min, { message: `must be at least ${checks.min}` });
    if (checks.max !== undefined) s = s.max(checks.max, { message: `must be at most ${checks.max}` });
    if (checks.integer) s = s.int({ message: 'must be a whole number' });
    if (checks.minLength !== undefined || checks.maxLength !== undefined || checks.pattern !== undefined) {
      throw new AvroShapeError(at, 'minLength, maxLength and pattern apply to strings, not numbers');
    }
    return s;
  }
  if (kind === 'string' && schema instanceof z.ZodString) {
    let s = schema;
    if (checks.minLength !== undefined)
      s = s.min(checks.minLength, { message: `must be at least ${checks.minLength} characters` });
    if (checks.maxLength !== undefined)
      s = s.max(checks.maxLength, { message: `must be at most ${checks.maxLength} characters` });
    if (checks.pattern !== undefined) s = s.regex(new RegExp(checks.pattern), { message: `must match ${checks.pattern}` });
    if (checks.min !== undefined || checks.max !== undefined || checks.integer) {
      throw new AvroShapeError(at, 'min, max and integer apply to numbers, not strings');
    }
    return s;
  }
  throw new AvroShapeError(at, `checks apply to plain string or number fields, not this ${kind} field`);
}

function roleSchema(fieldName: string, roles: Roles): Built | undefined {
  if (fieldName === roles.eventId) return { schema: commonFields.eventId, kind: 'string' };
  if (fieldName === roles.eventTime) return { schema: timestamp, kind: 'timestamp' };
  if (fieldName === roles.service || fieldName === roles.region || fieldName === 'segment')
    return { schema: name(), kind: 'string' };
  if (fieldName === 'origin') return { schema: origin, kind: 'enum' };
  return undefined;
}

/** Field names the server fills: never part of the posted input. */
export const SERVER_FIELDS = new Set(['receivedAt']);

/**
 * Where a source's posted input differs from its record on the bus, for the built-in
 * sources (`built-in.ts`): the record is what the .avsc says; these say what is posted
 * instead. Declared sources use none of them.
 */
export interface InputOptions {
  /** Posted as names: trimmed, 1 to `max` characters. */
  names?: Readonly<Record<string, number>>;
  /** `long` fields posted as times (ISO-8601 with an offset, or epoch ms) and stored as epoch ms. */
  timestamps?: readonly string[];
  /** A field's posted rule given outright (a string the record keeps as text, posted as one of a list). */
  replace?: Readonly<Record<string, z.ZodType>>;
  /** Fields the record needs that the poster may leave out: the server fills them. */
  optional?: readonly string[];
  /** Record fields only the server fills (besides receivedAt): never posted. */
  serverFields?: readonly string[];
  /** Posted fields the record does not have: the server turns them into record fields. */
  extra?: Readonly<Record<string, z.ZodType>>;
}

export interface GeneratedInput {
  input: z.ZodObject;
  fields: AvroFieldInfo[];
}

function posted(fieldName: string, options: InputOptions): Built | undefined {
  const replaced = options.replace?.[fieldName];
  if (replaced) return { schema: replaced, kind: replaced instanceof z.ZodEnum ? 'enum' : 'other' };
  const max = options.names?.[fieldName];
  if (max !== undefined) return { schema: name(max), kind: 'string' };
  if (options.timestamps?.includes(fieldName)) return { schema: timestamp, kind: 'timestamp' };
  return undefined;
}

/** The input validator of a top-level Avro record, and what each field is. */
export function zodFromAvro(
  schema: AvroSchema,
  roles: Roles,
  checks: Record<string, FieldChecks>,
  options: InputOptions = {},
): GeneratedInput {
  if (typeof schema !== 'object' || Array.isArray(schema) || schema.type !== 'record') {
    throw new AvroShapeError('(schema)', 'the top level must be a record ({"type": "record", "fields": [...]})');
  }
  const named: Named = new Map();
  remember(schema, named);
  const shape: Record<string, z.ZodType> = {};
  const fields: AvroFieldInfo[] = [];
  const serverOnly = new Set([...SERVER_FIELDS, ...(options.serverFields ?? [])]);
  for (const field of recordFields(schema, 'fields')) {
    const at = `fields.${field.name}`;
    const base = build(field.type, at, named);
    const built = posted(field.name, options) ?? roleSchema(field.name, roles) ?? base;
    const check = checks[field.name];
    const checked = check ? applyChecks(built.schema, check, built.kind, at) : built.schema;
    const hasDefault = 'default' in field;
    fields.push({
      name: field.name,
      kind: built.kind,
      avroType: avroTypeName(field.type, named),
      required: !hasDefault && !nullable(field.type),
      hasDefault,
      defaultValue: hasDefault ? field.default : undefined,
      ...(built.symbols ? { symbols: built.symbols } : {}),
    });
    if (serverOnly.has(field.name)) continue;
    const input = optionalIf(field, checked);
    shape[field.name] = options.optional?.includes(field.name) ? input.optional() : input;
  }
  for (const key of Object.keys(checks)) {
    if (!fields.some((f) => f.name === key)) throw new AvroShapeError(`checks.${key}`, 'the Avro schema has no such field');
  }
  const known = new Set(fields.map((f) => f.name));
  for (const key of [
    ...Object.keys(options.names ?? {}),
    ...(options.timestamps ?? []),
    ...Object.keys(options.replace ?? {}),
    ...(options.optional ?? []),
    ...(options.serverFields ?? []),
  ]) {
    if (!known.has(key)) throw new AvroShapeError(key, 'the Avro schema has no such field');
  }
  for (const [key, extra] of Object.entries(options.extra ?? {})) {
    if (known.has(key)) throw new AvroShapeError(key, 'is a record field; give its posted rule with `replace`');
    shape[key] = extra;
  }
  return { input: z.object(shape), fields };
}

/**
 * The record on the bus from a validated input, field by field in the schema's order:
 * receivedAt is the time received; a posted value is kept; a missing one takes the
 * schema's default (`origin`: `originDefault` when given), or `unknown` for the service
 * and region roles, or null.
 */
export function recordFromInput(
  fields: readonly AvroFieldInfo[],
  roles: Pick<Roles, 'service' | 'region'>,
  e: Readonly<Record<string, unknown>>,
  receivedAt: number,
  originDefault?: string,
): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const f of fields) {
    const value = e[f.name];
    if (f.name === 'receivedAt') record[f.name] = receivedAt;
    else if (value !== undefined && value !== null) record[f.name] = value;
    else if (f.name === 'origin' && originDefault !== undefined) record[f.name] = originDefault;
    else if (f.hasDefault) record[f.name] = f.defaultValue;
    else if (f.name === roles.service || f.name === roles.region) record[f.name] = UNKNOWN;
    else record[f.name] = null;
  }
  return record;
}
