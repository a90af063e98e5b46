import { z } from 'zod';

/** Fields every event shares (design doc, "Events"). */

// 1980: old enough for historical replays (the bank call-center day is 1999), and still
// catches epoch seconds sent as milliseconds, which land in January 1970.
const MIN_TS = Date.UTC(1980, 0, 1);
const MAX_TS = Date.UTC(2100, 0, 1);

/** Event time: ISO-8601 with an offset (or Z), or epoch milliseconds. Normalised to epoch ms. */
export const timestamp = z
  .union(
    [
      z.number().int({ message: 'must be whole epoch milliseconds' }),
      z.iso.datetime({ offset: true, message: 'must be ISO-8601 with an offset, e.g. 2026-11-23T10:00:00Z' }),
    ],
    {
      error: (issue) =>
        issue.input === undefined
          ? 'required'
          : 'must be ISO-8601 with an offset (e.g. 2026-11-23T10:00:00Z) or whole epoch milliseconds',
    },
  )
  .transform((v) => (typeof v === 'number' ? v : Date.parse(v)))
  .refine((ms) => ms >= MIN_TS && ms < MAX_TS, { message: 'must lie between the years 1980 and 2100' });

export const name = (max = 128) =>
  z
    .string()
    .trim()
    .min(1, { message: 'must not be empty' })
    .max(max, { message: `must be at most ${max} characters` });

/** Who supplied the data (design doc, goals step 1): the customer, the network, a partner organisation, a manager, an employee. */
export const origin = z.enum(['customer', 'network', 'partner', 'manager', 'employee']);

/**
 * Service and region are optional for customer-side sources (a survey may not know the
 * region); windows are keyed by them, so a missing one is stored as `unknown`.
 */
export const UNKNOWN = 'unknown';

export const commonFields = {
  eventId: name(256),
  ts: timestamp,
  service: name(),
  region: name(),
  segment: name().optional(),
  origin: origin.optional(),
};

export interface FieldError {
  /** Position of the event in the request body (0-based). */
  index: number;
  /** Dotted field path, e.g. `attempts` or `body` for an unparsable line. */
  field: string;
  code: string;
  message: string;
}

/**
 * Per-parse error map: a missing field says `required` instead of zod's "expected
 * string, received undefined". Messages a schema declares itself take precedence.
 */
export const requiredMessage: z.core.$ZodErrorMap = (issue) =>
  (issue.code === 'invalid_type' || issue.code === 'invalid_value') && issue.input === undefined
    ? { message: 'required' }
    : undefined;

export function fieldErrors(index: number, error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    index,
    field: issue.path.length > 0 ? issue.path.map(String).join('.') : '(event)',
    code: issue.code,
    message: issue.message,
  }));
}
