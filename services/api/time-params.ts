import { z } from 'zod';

/** Shared query parameters of the read API: time range and bucket size. */

const STEP_UNITS: Record<string, number> = { m: 60, h: 3600, d: 86_400 };

/** `1m`, `5m`, `1h`, `1d`… → seconds. Whole minutes only (windows are one minute). */
export const step = z
  .string()
  .regex(/^[1-9]\d{0,3}[mhd]$/, { message: 'must look like 1m, 5m, 1h or 1d' })
  .transform((s) => Number(s.slice(0, -1)) * (STEP_UNITS[s.slice(-1)] ?? 60))
  .refine((sec) => sec <= 31 * 86_400, { message: 'must be at most 31d' });

export const instant = z
  .string()
  .trim()
  .refine((v) => /^\d{10,16}$/.test(v) || !Number.isNaN(Date.parse(v)), {
    message: 'must be ISO-8601 (e.g. 2026-11-23T10:00:00Z) or epoch milliseconds',
  })
  .transform((v) => (/^\d+$/.test(v) ? Number(v) : Date.parse(v)));

export const MAX_BUCKETS = 10_000;

export function checkRange(from: number, to: number, stepSec: number): { field: string; message: string } | undefined {
  if (to <= from) return { field: 'to', message: 'must be after from' };
  if ((to - from) / (stepSec * 1000) > MAX_BUCKETS) {
    return { field: 'step', message: `would give more than ${MAX_BUCKETS} buckets for this range; use a coarser step` };
  }
  return undefined;
}
