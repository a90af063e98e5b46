import type { z } from 'zod';
import { type FieldChecks, type InputOptions, type Roles, recordFromInput, zodFromAvro } from './avro-zod.ts';
import { readSchemaFile } from './record-types.ts';
import type { RecordContext, SourceDefinition } from './source.ts';

/**
 * A built-in source from its .avsc, as declared sources are: the Avro schema declares every
 * field once; the posted input is generated from it (`zodFromAvro`) and the record on the
 * bus filled from the input field by field (`recordFromInput`), its type generated too
 * (`record-types.ts`). What a source states besides is only what Avro cannot say: ranges
 * and lengths (`checks`), fields posted in another form (`InputOptions`), rules across
 * fields (`refine`), and record fields worked out from the input (`derive`).
 */

/** A validated input: record fields as posted (timestamps already epoch ms), plus the source's extra fields. */
export type Posted<R extends object, X extends object = object> = Partial<R> & X;

export interface BuiltInSpec<R extends object, X extends object> extends InputOptions {
  name: string;
  /** Under schemas/avro/; the record's type is generated from it. */
  schemaFile: string;
  checks?: Record<string, FieldChecks>;
  /** Rules across fields, each issue on the field it names. */
  refine?(input: Posted<R, X>, ctx: z.RefinementCtx): void;
  /** Record fields worked out from the input, after the field-by-field copy. */
  derive?(input: Posted<R, X>, record: R, receivedAt: number, context: RecordContext | undefined): void;
  partitionKey(record: R): string;
}

const ROLES: Roles = { eventId: 'eventId', eventTime: 'ts', service: 'service', region: 'region' };

export function builtInSource<R extends { ts: number }, X extends object = object>(
  spec: BuiltInSpec<R, X>,
): SourceDefinition<Posted<R, X>, R> {
  const { input, fields } = zodFromAvro(readSchemaFile(spec.schemaFile), ROLES, spec.checks ?? {}, spec);
  const { refine, derive } = spec;
  const validator = refine ? input.superRefine((e, ctx) => refine(e as Posted<R, X>, ctx)) : input;
  return {
    name: spec.name,
    schemaFile: spec.schemaFile,
    input: validator as unknown as z.ZodType<Posted<R, X>>,
    toRecord(e, receivedAt, context) {
      const record = recordFromInput(fields, ROLES, e as Record<string, unknown>, receivedAt) as unknown as R;
      derive?.(e, record, receivedAt, context);
      return record;
    },
    partitionKey: spec.partitionKey,
    eventTime: (r) => r.ts,
  };
}
