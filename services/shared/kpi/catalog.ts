/**
 * Every KPI the pipeline computes, by id: the family that computes it, its unit and which
 * direction is better. The model file (schemas/model/) may only name KPIs listed here,
 * and a `best`/`worst` pair must point the way `better` says, so swapped values are
 * caught at load instead of silently inverting a score.
 *
 * Units: `ratio` is a fraction 0…1 (shown as a percentage), `pct` is already 0…100.
 *
 * Each built-in family lists its own entries (services/families/<family>/catalog.ts).
 */

import { CONTACT_KPIS } from '../../families/contact/catalog.ts';
import { PROBE_KPIS } from '../../families/probe/catalog.ts';
import { SOCIAL_KPIS } from '../../families/social/catalog.ts';
import { SURVEY_KPIS } from '../../families/survey/catalog.ts';

export type KpiUnit = 'ratio' | 'pct' | 'ms' | 's' | 'kbps' | 'count' | 'score' | 'z';
export type KpiFamily = 'probe' | 'contact' | 'survey' | 'social';

export interface KpiInfo {
  family: KpiFamily;
  unit: KpiUnit;
  /** Short name for explanations ("ASA 95 s vs best 20 s"). */
  label: string;
  /** `either`: no natural direction (volumes, CES whose scale differs between surveys). */
  better: 'higher' | 'lower' | 'either';
}

export const KPI_CATALOG = {
  ...PROBE_KPIS,
  ...CONTACT_KPIS,
  ...SURVEY_KPIS,
  ...SOCIAL_KPIS,
} as const satisfies Record<string, KpiInfo>;

export type KpiId = keyof typeof KPI_CATALOG;

/** KPI values of one window and key: null where the KPI is undefined (no data). */
export type KpiValues = Partial<Record<KpiId, number | null>>;

export const isKpiId = (id: string): id is KpiId => Object.hasOwn(KPI_CATALOG, id);

export const kpiInfo = (id: KpiId): KpiInfo => KPI_CATALOG[id];

export { ratio } from './ratio.ts';
