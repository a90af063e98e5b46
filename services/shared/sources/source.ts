import type { z } from 'zod';

/**
 * A source, declared: its input schema (checked at the HTTP edge), how a valid input
 * becomes the record on the bus, and the Avro schema file that encodes that record.
 * Adding a source is one file like `probe.ts` plus one line in `registry.ts`.
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
