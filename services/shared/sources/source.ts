import type { z } from 'zod';

/**
 * A source, declared: its input schema (checked at the HTTP edge), how a valid input
 * becomes the record on the bus, and the Avro schema file that encodes that record.
 * A built-in source is its .avsc plus one `builtInSource` call (`built-in.ts`, e.g.
 * `services/families/probe/source.ts`) and one line in `registry.ts`; a declared source is
 * an .avsc plus a YAML declaration (`declared.ts`).
 */
/** What the sender may claim, from its token (ingest/auth.ts). */
export interface RecordContext {
  /** Maintenance declared before receipt is taken as declared (a `maintenance-history` token). */
  mayBackdate: boolean;
}

export interface SourceDefinition<Input = unknown, Record extends object = object> {
  name: string;
  /** File under schemas/avro/. Topic is `cx.<name>.v1`. */
  schemaFile: string;
  input: z.ZodType<Input>;
  toRecord(input: Input, receivedAtMs: number, context?: RecordContext): Record;
  /** Kafka key: decides the partition, and so which aggregator instance owns the window. */
  partitionKey(record: Record): string;
  eventTime(record: Record): number;
}
