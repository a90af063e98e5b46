import { z } from 'zod';

/** Shared query parameters of the read API: time range and bucket size. */

const STEP_UNITS: Record<string, number> = { m: 60, h: 3600, d: 86_400 };

/** `1m`, `5m`, `1h`, `1d`… → seconds. Whole minutes only (windows are one minute). */
export const step = z
  .string()
  .regex(/^[1-9]\d{0,3}[mhd]$/, { message: 'must look like 1m, 5m, 1h or 1d' })
  .transform((s) => Number(s.slice(0, -1)) * (STEP_UNITS[s.slice(-1)] ?? 60))
  .refine((sec) => sec <= 31 * 86_400, { message: 'must be at most 31d' });

/**
 * The instants a read accepts: what ClickHouse's DateTime64 holds (1900-01-01 up to
 * 2299-12-31). Anything else — an unsafe integer, a year past 275760 that Date.parse
 * turns into NaN — is a 400 naming the field, never a 500 (issue 15, finding 8).
 */
export const MIN_INSTANT_MS = Date.UTC(1900, 0, 1);
export const MAX_INSTANT_MS = Date.UTC(2300, 0, 1) - 1;

const INSTANT_FORMAT = 'must be ISO-8601 (e.g. 2026-11-23T10:00:00Z) or epoch milliseconds';

export const instant = z
  .string()
  .trim()
  .transform((v, ctx) => {
    const ms = /^\d{1,16}$/.test(v) ? Number(v) : /^\d+$/.test(v) ? Number.NaN : Date.parse(v);
    if (Number.isNaN(ms)) {
      ctx.addIssue({ code: 'custom', message: INSTANT_FORMAT });
      return z.NEVER;
    }
    if (!Number.isSafeInteger(ms) || ms < MIN_INSTANT_MS || ms > MAX_INSTANT_MS) {
      ctx.addIssue({
        code: 'custom',
        message: `must be between ${new Date(MIN_INSTANT_MS).toISOString()} and ${new Date(MAX_INSTANT_MS).toISOString()}`,
      });
      return z.NEVER;
    }
    return ms;
  });

export const MAX_BUCKETS = 10_000;

export function checkRange(from: number, to: number, stepSec: number): { field: string; message: string } | undefined {
  if (to <= from) return { field: 'to', message: 'must be after from' };
  if ((to - from) / (stepSec * 1000) > MAX_BUCKETS) {
    return { field: 'step', message: `would give more than ${MAX_BUCKETS} buckets for this range; use a coarser step` };
  }
  return undefined;
}
