/**
 * Every KPI the pipeline computes, by id: the family that computes it, its unit and which
 * direction is better. The model file (schemas/model/) may only name KPIs listed here,
 * and a `best`/`worst` pair must point the way `better` says, so swapped values are
 * caught at load instead of silently inverting a score.
 *
 * Units: `ratio` is a fraction 0…1 (shown as a percentage), `pct` is already 0…100.
 */

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
  test_success_rate: { family: 'probe', unit: 'ratio', label: 'test success rate', better: 'higher' },
  serviceability: { family: 'probe', unit: 'ratio', label: 'Serviceability', better: 'higher' },
  availability: { family: 'probe', unit: 'ratio', label: 'Availability', better: 'higher' },
  latency_p50_ms: { family: 'probe', unit: 'ms', label: 'latency p50', better: 'lower' },
  latency_p95_ms: { family: 'probe', unit: 'ms', label: 'latency p95', better: 'lower' },
  jitter_ms: { family: 'probe', unit: 'ms', label: 'jitter', better: 'lower' },
  packet_loss_pct: { family: 'probe', unit: 'pct', label: 'packet loss', better: 'lower' },
  throughput_p50_kbps: { family: 'probe', unit: 'kbps', label: 'throughput p50', better: 'higher' },
  mos: { family: 'probe', unit: 'score', label: 'MOS', better: 'higher' },

  offered: { family: 'contact', unit: 'count', label: 'offered contacts', better: 'either' },
  answered: { family: 'contact', unit: 'count', label: 'answered contacts', better: 'either' },
  abandoned: { family: 'contact', unit: 'count', label: 'abandoned contacts', better: 'lower' },
  short_abandons: { family: 'contact', unit: 'count', label: 'short abandons', better: 'either' },
  asa_sec: { family: 'contact', unit: 's', label: 'ASA', better: 'lower' },
  service_level: { family: 'contact', unit: 'ratio', label: 'service level', better: 'higher' },
  abandonment_rate: { family: 'contact', unit: 'ratio', label: 'abandonment rate', better: 'lower' },
  aht_sec: { family: 'contact', unit: 's', label: 'AHT', better: 'lower' },
  fcr: { family: 'contact', unit: 'ratio', label: 'FCR', better: 'higher' },
  transfer_rate: { family: 'contact', unit: 'ratio', label: 'transfer rate', better: 'lower' },

  nps: { family: 'survey', unit: 'score', label: 'NPS', better: 'higher' },
  csat: { family: 'survey', unit: 'pct', label: 'CSAT', better: 'higher' },
  ces: { family: 'survey', unit: 'score', label: 'CES', better: 'either' },

  social_volume: { family: 'social', unit: 'count', label: 'social volume', better: 'either' },
  social_negative_share: { family: 'social', unit: 'ratio', label: 'negative social share', better: 'lower' },
  social_mean_sentiment: { family: 'social', unit: 'score', label: 'mean sentiment', better: 'higher' },
  /** Not computed from an accumulator: from the sequence of windows (surge.ts), supplied by the aggregator. */
  social_surge: { family: 'social', unit: 'z', label: 'social surge', better: 'lower' },
} as const satisfies Record<string, KpiInfo>;

export type KpiId = keyof typeof KPI_CATALOG;

/** KPI values of one window and key: null where the KPI is undefined (no data). */
export type KpiValues = Partial<Record<KpiId, number | null>>;

export const isKpiId = (id: string): id is KpiId => Object.hasOwn(KPI_CATALOG, id);

export const kpiInfo = (id: KpiId): KpiInfo => KPI_CATALOG[id];

/** `value / denominator`, or null when the denominator is 0 (a ratio with no data is undefined, not 0). */
export const ratio = (numerator: number, denominator: number): number | null =>
  denominator > 0 ? numerator / denominator : null;
