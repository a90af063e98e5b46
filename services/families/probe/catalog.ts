import type { KpiInfo } from '../../shared/kpi/catalog.ts';

/** The probe family's KPIs in the catalog (shared/kpi/catalog.ts): unit, label and which direction is better. */
export const PROBE_KPIS = {
  test_success_rate: { family: 'probe', unit: 'ratio', label: 'test success rate', better: 'higher' },
  serviceability: { family: 'probe', unit: 'ratio', label: 'Serviceability', better: 'higher' },
  availability: { family: 'probe', unit: 'ratio', label: 'Availability', better: 'higher' },
  latency_p50_ms: { family: 'probe', unit: 'ms', label: 'latency p50', better: 'lower' },
  latency_p95_ms: { family: 'probe', unit: 'ms', label: 'latency p95', better: 'lower' },
  jitter_ms: { family: 'probe', unit: 'ms', label: 'jitter', better: 'lower' },
  packet_loss_pct: { family: 'probe', unit: 'pct', label: 'packet loss', better: 'lower' },
  throughput_p50_kbps: { family: 'probe', unit: 'kbps', label: 'throughput p50', better: 'higher' },
  mos: { family: 'probe', unit: 'score', label: 'MOS', better: 'higher' },
} as const satisfies Record<string, KpiInfo>;
