import type { SourceName } from '../../services/shared/sources/registry.ts';
import { NOW } from './harness.ts';

/**
 * One valid event per source (required fields plus a few optional ones), and the
 * fields the design doc makes required. The tests generate their cases from these:
 * each required field missing, each mistyped, each optional one left out.
 */

export type EventSource = Extract<SourceName, 'probe' | 'maintenance' | 'contact' | 'survey' | 'social'>;

export const EXAMPLES: Record<EventSource, Record<string, unknown>> = {
  probe: {
    eventId: 'p-1',
    ts: '2026-11-23T11:59:00Z',
    service: 'voice',
    region: 'north',
    probeId: 'rtp-7',
    probeType: 'active',
    success: true,
    latencyMs: 31.5,
  },
  maintenance: {
    maintenanceId: 'CHG-1042',
    service: 'voice',
    region: 'north',
    start: '2026-11-23T13:00:00Z',
    end: '2026-11-23T13:30:00Z',
    declaredAt: '2026-11-22T09:00:00Z',
  },
  contact: {
    eventId: 'c-1',
    ts: NOW - 60_000,
    service: 'broadband',
    region: 'south',
    channel: 'voice',
    queue: 'billing',
    waitSec: 42,
    abandoned: false,
    handleSec: 300,
    resolved: true,
    transfers: 0,
  },
  survey: {
    eventId: 's-1',
    ts: '2026-11-23T11:58:00+01:00',
    service: 'mobile-data',
    kind: 'nps',
    score: 9,
    touchpoint: 'app',
    comment: 'fast',
  },
  social: {
    eventId: 'x-1',
    ts: '2026-11-23T11:57:00Z',
    service: 'iptv',
    platform: 'x',
    text: 'the tv stream keeps buffering, awful',
    author: '@viewer',
    reach: 1200,
  },
};

export const REQUIRED: Record<EventSource, string[]> = {
  // success stands for "success, or attempts + successes" (a test result or a counter sample)
  probe: ['eventId', 'ts', 'service', 'region', 'probeId', 'probeType', 'success'],
  maintenance: ['maintenanceId', 'service', 'start', 'end'],
  contact: ['eventId', 'ts', 'channel', 'queue', 'waitSec', 'abandoned'],
  survey: ['eventId', 'ts', 'kind', 'score'],
  // sentiment is required only without text; the example has text
  social: ['eventId', 'ts', 'platform'],
};

/** Optional fields whose absence makes another one required: social without text needs a sentiment. */
export const REQUIRED_WITHOUT: Partial<Record<EventSource, Record<string, string>>> = {
  social: { text: 'sentiment' },
};

export const EVENT_SOURCES = Object.keys(EXAMPLES) as EventSource[];

/** A value of another JSON type than the example's, which no schema accepts for that field. */
export function mistyped(value: unknown): unknown {
  switch (typeof value) {
    case 'string':
      return true;
    case 'number':
      return '7';
    case 'boolean':
      return 'yes';
    default:
      return 7;
  }
}

export const without = (event: Record<string, unknown>, field: string): Record<string, unknown> =>
  Object.fromEntries(Object.entries(event).filter(([k]) => k !== field));

/** The example with a distinct eventId (maintenance: a distinct maintenanceId). */
export function exampleNo(source: EventSource, n: number): Record<string, unknown> {
  const e = EXAMPLES[source];
  return source === 'maintenance' ? { ...e, maintenanceId: `CHG-${n}` } : { ...e, eventId: `${String(e.eventId)}-${n}` };
}
