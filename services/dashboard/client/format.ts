/**
 * How numbers read on the wall screen. Pure functions (no DOM): the browser tests use
 * them to check that a tile shows exactly the API's value.
 */

export const NO_DATA = '–';

const finite = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

/** 0–100 scores (CSI, KQIs): one decimal. */
export const formatScore = (v: number | null | undefined): string => (finite(v) ? v.toFixed(1) : NO_DATA);

/** A 0–1 ratio as a percentage; Availability-like ratios need two decimals to tell 99.95 % from 99.5 %. */
export const formatRatio = (v: number | null | undefined, decimals = 1): string =>
  finite(v) ? `${(v * 100).toFixed(decimals)}%` : NO_DATA;

/** Already a percentage (CSAT). */
export const formatPct = (v: number | null | undefined): string => (finite(v) ? `${v.toFixed(1)}%` : NO_DATA);

export const formatSeconds = (v: number | null | undefined): string => (finite(v) ? `${Math.round(v)} s` : NO_DATA);

export const formatCount = (v: number | null | undefined): string =>
  finite(v) ? Math.round(v).toLocaleString('en-US') : NO_DATA;

/** NPS runs −100…100: sign shown. */
export const formatNps = (v: number | null | undefined): string => (finite(v) ? `${v > 0 ? '+' : ''}${v.toFixed(1)}` : NO_DATA);

export const formatZ = (v: number | null | undefined): string => (finite(v) ? `z ${v.toFixed(1)}` : NO_DATA);

/** A KPI by its model unit. */
export function formatKpi(v: number | null | undefined, unit: string): string {
  switch (unit) {
    case 'ratio':
      return formatRatio(v, 2);
    case 'pct':
      return formatPct(v);
    case 'ms':
      return finite(v) ? `${v.toFixed(v >= 100 ? 0 : 1)} ms` : NO_DATA;
    case 's':
      return formatSeconds(v);
    case 'kbps':
      return finite(v) ? `${Math.round(v)} kbps` : NO_DATA;
    case 'count':
      return formatCount(v);
    case 'z':
      return formatZ(v);
    default:
      return finite(v) ? v.toFixed(2) : NO_DATA;
  }
}

/** "10:40" in the viewer's time zone, or UTC when asked (tests, screenshots). */
export function formatClock(ms: number, timeZone?: string): string {
  return new Date(ms).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', hour12: false, timeZone });
}

export function formatAgo(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s ago`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m} min ago`;
  return `${Math.round(m / 60)} h ago`;
}

/** Social surge z at or above this is marked as a surge (same threshold as the alert rule CxvSocialSurge). */
export const SURGE_Z = 3;
