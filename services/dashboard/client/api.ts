/// <reference lib="dom" />

import { apiParams } from './query.ts';
import type {
  AvailabilityReport,
  CsiResponse,
  GoalStripItem,
  GoalsSummary,
  KpiResponse,
  Meta,
  Query,
  RawEventsResponse,
  ServiceData,
} from './types.ts';

/** The read API, from the page. Errors keep the API's code and message so the page can show them. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function getJson<T>(url: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json' } });
  } catch (err) {
    throw new ApiError(0, 'UNREACHABLE', `The cxvitals server did not answer (${(err as Error).message}).`);
  }
  const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
  if (!res.ok) throw new ApiError(res.status, body.code ?? 'HTTP_ERROR', body.message ?? `${url} answered ${res.status}`);
  return body as T;
}

export const loadMeta = (): Promise<Meta> => getJson('/api/v1/dashboard/meta');
/**
 * Goal status for the strip. A browser signed in to the goals (its person cookie, set by
 * /api/v1/goals/sign-in) also gets the open cycle's goals with titles and page links —
 * only those that person may read; without it the strip keeps to ids and counts.
 */
export async function loadGoals(): Promise<GoalsSummary> {
  const [summary, strip] = await Promise.all([
    getJson<GoalsSummary>('/api/v1/dashboard/goals'),
    getJson<{ signedIn: boolean; items: GoalStripItem[] }>('/api/v1/goals/strip').catch(() => null),
  ]);
  return strip?.signedIn ? { ...summary, strip: strip.items } : summary;
}

export async function loadService(q: Query, service: string): Promise<ServiceData> {
  const [csi, kpis, availability] = await Promise.all([
    getJson<CsiResponse>(`/api/v1/csi?${apiParams(q, service)}`),
    getJson<KpiResponse>(`/api/v1/kpis?${apiParams(q, service)}`),
    q.segment
      ? Promise.resolve(null)
      : getJson<AvailabilityReport>(`/api/v1/availability?${apiParams(q, service, { segment: false })}`),
  ]);
  return { service, csi, kpis, availability };
}

export function loadRawEvents(args: {
  source: string;
  service: string;
  region: string;
  segment: string;
  from: string;
  to: string;
  problem: boolean;
}): Promise<RawEventsResponse> {
  const p = new URLSearchParams({ source: args.source, service: args.service, from: args.from, to: args.to, limit: '200' });
  if (args.region) p.set('region', args.region);
  if (args.segment) p.set('segment', args.segment);
  if (args.problem) p.set('problem', 'true');
  return getJson(`/api/v1/events?${p}`);
}
