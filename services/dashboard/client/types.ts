/**
 * Shapes of the read API as the page uses them. Where the server has a type, it is
 * imported (type-only, erased from the bundle), so a change on the server breaks the
 * client's type check instead of the wall screen.
 */

import type { KqiContribution, KqiScore } from '../../model/score.ts';
import type { AvailabilityReport } from '../../shared/vitals/availability.ts';

export type { AvailabilityReport, KqiContribution, KqiScore };

export interface CsiBucket {
  start: string;
  end: string;
  csi: number | null;
  coverage: number;
  explanation: string;
  contributions: KqiContribution[];
  kqis: KqiScore[];
  valueWeighted: { csi: number | null } | null;
}

export interface CsiResponse {
  modelVersion: number;
  buckets: CsiBucket[];
}

export interface KpiResponse {
  buckets: Array<{ start: string; end: string; kpis: Record<string, number | null> }>;
}

export interface Meta {
  services: Array<{ name: string; label: string; partners: string[]; products: string[] }>;
  regions: string[];
  segments: string[];
  products: Array<{ name: string; label: string; services: string[] }>;
  kqis: Array<{ name: string; label: string; weight: number }>;
  kpis: Record<string, { label: string; unit: string; better: string; source: string; problemMeaning: string | null }>;
  staleAfterMs: number;
  truncated: { services: boolean; regions: boolean };
}

/** One goal of the open cycle, from GET /api/v1/goals/strip (a browser signed in to the goals). */
export interface GoalStripItem {
  id: string;
  kind: 'org' | 'department';
  title: string;
  lifecycle: string;
  status: string | null;
  valueText: string;
  targetText: string;
  reason: string | null;
  page: string;
}

export interface GoalsSummary {
  /** The open cycle's goals with titles, when the browser is signed in to the goals; else absent. */
  strip?: GoalStripItem[];
  counts: Record<string, number>;
  goals: Array<{
    goalId: string;
    kind: string;
    status: string;
    value: number | null;
    target: number;
    comparator: string;
    evaluatedAt: string;
  }>;
}

export interface RawEvent {
  eventId: string;
  ts: string;
  receivedAt: string;
  service: string;
  region: string;
  segment: string | null;
  problem: boolean;
  payload: Record<string, unknown>;
}

export interface RawEventsResponse {
  source: string;
  from: string;
  to: string;
  problemMeaning: string | null;
  total: number;
  problems: number;
  events: RawEvent[];
}

/** What the page asks the API for: the same query for every service card. */
export interface Query {
  region: string;
  segment: string;
  product: string;
  range: string;
  from: number;
  to: number;
  stepSec: number;
}

export interface ServiceData {
  service: string;
  csi: CsiResponse;
  kpis: KpiResponse;
  /** null when a segment is chosen: probes carry no segment, so Availability is not per segment. */
  availability: AvailabilityReport | null;
}
