import type { KpiInfo } from '../../shared/kpi/catalog.ts';

/** The social family's KPIs in the catalog (shared/kpi/catalog.ts): unit, label and which direction is better. */
export const SOCIAL_KPIS = {
  social_volume: { family: 'social', unit: 'count', label: 'social volume', better: 'either' },
  social_negative_share: { family: 'social', unit: 'ratio', label: 'negative social share', better: 'lower' },
  social_mean_sentiment: { family: 'social', unit: 'score', label: 'mean sentiment', better: 'higher' },
  /** Not computed from an accumulator: from the sequence of windows (surge.ts), supplied by the aggregator. */
  social_surge: { family: 'social', unit: 'z', label: 'social surge', better: 'lower' },
} as const satisfies Record<string, KpiInfo>;
