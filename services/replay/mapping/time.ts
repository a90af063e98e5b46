import { DateTime } from 'luxon';
import { asNumber } from '../../shared/sources/conditions.ts';

/**
 * Event times from whatever a file holds, always to ISO-8601 with an offset (what the
 * ingest endpoint expects). A time without an offset means nothing without a zone, so
 * the mapping must name one (an IANA zone such as `Europe/Berlin`; DST is luxon's job).
 *
 * - `format`: luxon tokens (`dd-MMM-yy h:mm:ss a`), or `iso`, `epochMs`, `epochS`; a list
 *   is tried in order (for a column that mixes formats).
 * - `date`: for time-of-day columns (`0:10:10`), the calendar day they belong to.
 * - `periodIndex`: for a period number (`t` = 11) — `base` plus that many `unit`s.
 */

export interface TimeSpec {
  format?: string | string[] | undefined;
  zone?: string | undefined;
  date?: string | undefined;
  locale?: string | undefined;
  periodIndex?: { base: string; unit: 'minute' | 'hour' | 'day' | 'week' | 'month' } | undefined;
}

export type TimeResult = { value: string } | { error: string };

export const isValidZone = (zone: string): boolean => DateTime.now().setZone(zone).isValid;

const HAS_OFFSET = /(Z|[+-]\d{2}(:?\d{2})?)$/i;

/** Problems a mapping author must fix before any row is read (reported with the field's path). */
export function timeSpecProblems(spec: TimeSpec): string[] {
  const problems: string[] = [];
  const formats = spec.format === undefined ? [] : [spec.format].flat();
  const machine = formats.length > 0 && formats.every((f) => f === 'iso' || f === 'epochMs' || f === 'epochS');
  if (formats.length > 0 === (spec.periodIndex !== undefined)) problems.push('give either format or periodIndex');
  if (spec.zone !== undefined && !isValidZone(spec.zone))
    problems.push(`zone "${spec.zone}" is not an IANA time zone (e.g. Europe/Berlin)`);
  if (spec.zone === undefined && !machine)
    problems.push('zone is required: local times mean nothing without one (e.g. Asia/Jerusalem)');
  if (spec.date !== undefined) {
    if (spec.periodIndex !== undefined || machine) problems.push('date only goes with a luxon format of a time of day');
    if (!DateTime.fromFormat(spec.date, 'yyyy-MM-dd').isValid) problems.push(`date "${spec.date}" must be yyyy-MM-dd`);
  }
  if (spec.periodIndex && !DateTime.fromISO(spec.periodIndex.base, { zone: spec.zone ?? 'UTC' }).isValid) {
    problems.push(`periodIndex.base "${spec.periodIndex.base}" is not an ISO date (e.g. 2016-01-04)`);
  }
  return problems;
}

export function compileTime(spec: TimeSpec): (value: unknown) => TimeResult {
  const zone = spec.zone ?? 'UTC';
  const locale = spec.locale ?? 'en-US';
  if (spec.periodIndex) {
    const base = DateTime.fromISO(spec.periodIndex.base, { zone });
    const unit = spec.periodIndex.unit;
    return (value) => {
      const n = asNumber(value);
      if (n === undefined || !Number.isInteger(n)) return { error: 'period index is not a whole number' };
      return iso(base.plus({ [`${unit}s`]: n }));
    };
  }
  const formats = [spec.format ?? 'iso'].flat();
  const parsers = formats.map((f) => parserFor(f, zone, spec.zone !== undefined, locale, spec.date));
  const expected = formats.join(' or ');
  return (value) => {
    for (const parse of parsers) {
      const dt = parse(value);
      if (dt?.isValid) return iso(dt);
    }
    return { error: `does not match ${expected}` };
  };
}

function iso(dt: DateTime): TimeResult {
  const text = dt.toISO();
  return text === null ? { error: 'is not a valid time' } : { value: text };
}

function parserFor(format: string, zone: string, zoneGiven: boolean, locale: string, date?: string) {
  if (format === 'epochMs' || format === 'epochS') {
    const scale = format === 'epochMs' ? 1 : 1000;
    return (v: unknown) => {
      const n = asNumber(v);
      return n === undefined ? undefined : DateTime.fromMillis(n * scale, { zone: 'UTC' });
    };
  }
  if (format === 'iso') {
    return (v: unknown) => {
      if (typeof v !== 'string') return undefined;
      if (!HAS_OFFSET.test(v) && !zoneGiven) return undefined;
      return DateTime.fromISO(v, { zone, setZone: true });
    };
  }
  const full = date === undefined ? format : `yyyy-MM-dd ${format}`;
  return (v: unknown) => {
    if (typeof v !== 'string') return undefined;
    return DateTime.fromFormat(date === undefined ? v : `${date} ${v}`, full, { zone, locale });
  };
}
