import { isKpiId, type KpiUnit, kpiInfo } from '../shared/kpi/catalog.ts';
import type { FeedRef } from './feeds.ts';

/**
 * Numbers of a goal as a person reads them, from the unit of its feed: shares as percent
 * (one decimal; two from 99 % up, where availability targets live: 99.95 % is not 100 %),
 * seconds and milliseconds with their unit, scores (KQI, CSI, NPS, MOS) with one decimal.
 */

export type DisplayUnit = KpiUnit | 'score';

export function unitOfFeed(feed: Pick<FeedRef, 'kind' | 'name'>): DisplayUnit {
  if (feed.kind === 'availability' || feed.kind === 'serviceability') return 'ratio';
  if (feed.kind === 'kpi' && feed.name && isKpiId(feed.name)) return kpiInfo(feed.name).unit;
  return 'score';
}

const oneDecimal = (v: number): string => (Math.round(v * 10) / 10).toFixed(1);

export function formatValue(value: number | null | undefined, unit: DisplayUnit): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  switch (unit) {
    case 'ratio': {
      const pct = value * 100;
      return `${Math.abs(pct) >= 99 && Math.abs(pct) < 100 ? (Math.floor(pct * 100 + 1e-9) / 100).toFixed(2) : oneDecimal(pct)} %`;
    }
    case 'pct':
      return `${oneDecimal(value)} %`;
    case 's':
      return `${oneDecimal(value)} s`;
    case 'ms':
      return `${oneDecimal(value)} ms`;
    case 'kbps':
      return `${oneDecimal(value)} kbit/s`;
    case 'count':
      return Number.isInteger(value) ? String(value) : oneDecimal(value);
    default:
      return oneDecimal(value);
  }
}

export const formatFeedValue = (value: number | null | undefined, feed: Pick<FeedRef, 'kind' | 'name'>): string =>
  formatValue(value, unitOfFeed(feed));
