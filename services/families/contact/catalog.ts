import type { KpiInfo } from '../../shared/kpi/catalog.ts';

/** The contact family's KPIs in the catalog (shared/kpi/catalog.ts): unit, label and which direction is better. */
export const CONTACT_KPIS = {
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
} as const satisfies Record<string, KpiInfo>;
