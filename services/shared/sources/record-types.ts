import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AvroSchema } from './avro-zod.ts';

/**
 * The TypeScript type of each built-in source's record on the bus, generated from its
 * .avsc, so the schema is the one place a field is declared. `npm run generate:records`
 * writes the files; a test fails, naming that command, when a file and its schema differ.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface GeneratedRecord {
  /** Under schemas/avro/. */
  schemaFile: string;
  interfaceName: string;
  /** From the repository root. */
  outFile: string;
}

export const GENERATED_RECORDS: readonly GeneratedRecord[] = [
  { schemaFile: 'probe.v1.avsc', interfaceName: 'ProbeRecord', outFile: 'services/families/probe/record.ts' },
  { schemaFile: 'contact.v1.avsc', interfaceName: 'ContactRecord', outFile: 'services/families/contact/record.ts' },
  { schemaFile: 'survey.v1.avsc', interfaceName: 'SurveyRecord', outFile: 'services/families/survey/record.ts' },
  { schemaFile: 'social.v1.avsc', interfaceName: 'SocialRecord', outFile: 'services/families/social/record.ts' },
  {
    schemaFile: 'maintenance.v1.avsc',
    interfaceName: 'MaintenanceRecord',
    outFile: 'services/shared/sources/maintenance-record.ts',
  },
];

type Named = Map<string, AvroSchema>;

/** The TypeScript type of an Avro type (the subset the built-in schemas use). */
function typeOf(type: AvroSchema, named: Named, at: string): string {
  if (typeof type === 'string') {
    switch (type) {
      case 'null':
        return 'null';
      case 'boolean':
        return 'boolean';
      case 'int':
      case 'long':
      case 'float':
      case 'double':
        return 'number';
      case 'string':
        return 'string';
      default: {
        const ref = named.get(type);
        if (ref === undefined) throw new Error(`${at}: no TypeScript type for Avro type "${type}"`);
        return typeOf(ref, named, at);
      }
    }
  }
  if (Array.isArray(type)) {
    const types = type.filter((t) => t !== 'null').map((t) => typeOf(t, named, at));
    return [...types, ...(type.includes('null') ? ['null'] : [])].join(' | ');
  }
  if (type.type === 'enum') {
    if (typeof type.name === 'string') named.set(type.name, type);
    return (type.symbols as string[]).map((s) => `'${s}'`).join(' | ');
  }
  if (type.type === 'array') return `Array<${typeOf(type.items as AvroSchema, named, at)}>`;
  if (type.type === 'map') return `Record<string, ${typeOf(type.values as AvroSchema, named, at)}>`;
  if (typeof type.type === 'string' && type.type !== 'record') return typeOf(type.type, named, at);
  throw new Error(`${at}: no TypeScript type for this Avro type; give the record its own generated interface`);
}

/** The file `outFile` should hold for one schema. */
export function recordTypeSource(record: GeneratedRecord, schema: AvroSchema): string {
  if (typeof schema !== 'object' || Array.isArray(schema) || schema.type !== 'record' || !Array.isArray(schema.fields)) {
    throw new Error(`${record.schemaFile}: the top level must be a record`);
  }
  const named: Named = new Map();
  const lines = [
    `// Generated from schemas/avro/${record.schemaFile} by \`npm run generate:records\`: do not edit by hand.`,
    '',
    ...(typeof schema.doc === 'string' ? [`/** ${schema.doc} */`] : []),
    `export interface ${record.interfaceName} {`,
  ];
  for (const field of schema.fields as Array<{ name: string; type: AvroSchema; doc?: string }>) {
    if (typeof field.doc === 'string') lines.push(`  /** ${field.doc} */`);
    lines.push(`  ${field.name}: ${typeOf(field.type, named, `${record.schemaFile} ${field.name}`)};`);
  }
  lines.push('}', '');
  return lines.join('\n');
}

export function readSchemaFile(schemaFile: string): AvroSchema {
  return JSON.parse(readFileSync(path.join(ROOT, 'schemas/avro', schemaFile), 'utf8')) as AvroSchema;
}

/** Every generated file: where it goes and what it should hold. */
export function generatedRecordFiles(): Array<{ file: string; text: string }> {
  return GENERATED_RECORDS.map((r) => ({
    file: path.join(ROOT, r.outFile),
    text: recordTypeSource(r, readSchemaFile(r.schemaFile)),
  }));
}
