import type { KpiInfo } from '../../shared/kpi/catalog.ts';

/** The survey family's KPIs in the catalog (shared/kpi/catalog.ts): unit, label and which direction is better. */
export const SURVEY_KPIS = {
  nps: { family: 'survey', unit: 'score', label: 'NPS', better: 'higher' },
  csat: { family: 'survey', unit: 'pct', label: 'CSAT', better: 'higher' },
  ces: { family: 'survey', unit: 'score', label: 'CES', better: 'either' },
} as const satisfies Record<string, KpiInfo>;
