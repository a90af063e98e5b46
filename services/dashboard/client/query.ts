import type { Query } from './types.ts';

/**
 * The page's state lives in its URL (?region=north&range=6h), so a wall screen can be
 * bookmarked on a view. Ranges map to a bucket size that keeps charts readable; the
 * range ends at the next bucket boundary, so every bucket shown is a whole one of the
 * API's epoch-aligned buckets.
 */

export const RANGE_STEPS: Record<string, { rangeMs: number; stepSec: number }> = {
  '15m': { rangeMs: 15 * 60_000, stepSec: 60 },
  '1h': { rangeMs: 3_600_000, stepSec: 5 * 60 },
  '6h': { rangeMs: 6 * 3_600_000, stepSec: 15 * 60 },
  '24h': { rangeMs: 24 * 3_600_000, stepSec: 3600 },
};

export const DEFAULT_RANGE = '1h';

export function queryFor(params: URLSearchParams, now: number): Query {
  const range = RANGE_STEPS[params.get('range') ?? ''] ? (params.get('range') as string) : DEFAULT_RANGE;
  const { rangeMs, stepSec } = RANGE_STEPS[range] ?? { rangeMs: 3_600_000, stepSec: 300 };
  const stepMs = stepSec * 1000;
  const to = Math.ceil(now / stepMs) * stepMs;
  return {
    region: params.get('region') ?? '',
    segment: params.get('segment') ?? '',
    product: params.get('product') ?? '',
    range,
    from: to - rangeMs,
    to,
    stepSec,
  };
}

/** The API querystring for one service (segment left out where the route has none). */
export function apiParams(q: Query, service: string, options: { segment: boolean } = { segment: true }): string {
  const p = new URLSearchParams({ service, from: String(q.from), to: String(q.to), step: `${q.stepSec / 60}m` });
  if (q.region) p.set('region', q.region);
  if (options.segment && q.segment) p.set('segment', q.segment);
  return p.toString();
}
