import { z } from 'zod';
import { CALENDAR_MAX_SEC, type Calendar } from '../shared/vitals/filter.ts';

/** Shared query parameters of the read API: time range and bucket size. */

const STEP_UNITS: Record<string, number> = { m: 60, h: 3600, d: 86_400 };

/**
 * A read's bucket size: `sec` seconds from the epoch, or UTC calendar months or quarters
 * (`sec` is then their longest length, for cost estimates).
 */
export interface Step {
  sec: number;
  calendar?: Calendar;
}

/** Each calendar step's shortest bucket in seconds (February; January to March of a common year): the most buckets a range can hold. */
const CALENDAR_MIN_SEC: Record<Calendar, number> = { month: 28 * 86_400, quarter: 90 * 86_400 };

/** `1m`, `5m`, `1h`, `1d`… (whole minutes: windows are one minute), or `month` / `quarter` (UTC calendar buckets). */
export const step = z
  .string()
  .regex(/^(?:[1-9]\d{0,3}[mhd]|month|quarter)$/, { message: 'must look like 1m, 5m, 1h or 1d, or be month or quarter' })
  .transform((s): Step => {
    if (s === 'month' || s === 'quarter') return { sec: CALENDAR_MAX_SEC[s], calendar: s };
    return { sec: Number(s.slice(0, -1)) * (STEP_UNITS[s.slice(-1)] ?? 60) };
  })
  .refine((st) => st.calendar !== undefined || st.sec <= 31 * 86_400, {
    message: 'must be at most 31d; step=month or step=quarter gives calendar buckets',
  });

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

export function checkRange(from: number, to: number, step: Step): { field: string; message: string } | undefined {
  if (to <= from) return { field: 'to', message: 'must be after from' };
  const shortestSec = step.calendar ? CALENDAR_MIN_SEC[step.calendar] : step.sec;
  if ((to - from) / (shortestSec * 1000) > MAX_BUCKETS) {
    return { field: 'step', message: `would give more than ${MAX_BUCKETS} buckets for this range; use a coarser step` };
  }
  return undefined;
}

/**
 * The query parameters the reads share, each with its description: the OpenAPI document
 * (/api/v1/openapi.json) shows these, so a reader of it learns the defaults there.
 */
export const rangeParams = {
  from: instant
    .optional()
    .describe('Start of the range, inclusive: ISO-8601 with offset or epoch ms. Default: `to` minus one hour.'),
  to: instant.optional().describe('End of the range, exclusive: ISO-8601 with offset or epoch ms. Default: now.'),
};

export const stepParam = step
  .prefault('1m')
  .describe(
    'Bucket size: 1m, 5m, 1h, 1d… (whole minutes, at most 31d and 10,000 buckets over the range), or month or quarter (UTC calendar buckets: a quarter is one bucket). Default: 1m.',
  );

export const filterParams = {
  service: z.string().min(1).max(128).optional().describe('Customer-facing service, e.g. broadband (default: every service).'),
  region: z.string().min(1).max(128).optional().describe('Region, e.g. north (default: every region).'),
  segment: z
    .string()
    .min(1)
    .max(128)
    .optional()
    .describe('Customer segment, e.g. business (default: every segment; probe KPIs carry no segment).'),
};

export const excuseRetroactiveParam = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1')
  .optional()
  .describe(
    'true: maintenance declared after it started excuses its downtime in Availability too (default: CXV_EXCUSE_RETROACTIVE_MAINTENANCE, off).',
  );

/** The range of a read: the given one, else the last hour up to now. */
export function rangeOrLastHour(
  q: { from?: number | undefined; to?: number | undefined },
  now = Date.now(),
): {
  from: number;
  to: number;
} {
  const to = q.to ?? now;
  return { from: q.from ?? to - 3600_000, to };
}
