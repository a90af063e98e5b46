import type { DeclaredKpi } from '../../shared/sources/declared.ts';
import { type Contribution, kpiContribution } from '../../shared/sources/declared-kpi.ts';
import type { SourceName } from '../../shared/sources/registry.ts';
import { declaredKpis } from '../../shared/sources/registry.ts';
import type { AnyBinding } from '../binding.ts';
import { kpiBinding } from './generic.ts';

/**
 * The generic family of declared sources (schemas/sources/*.yaml): per window, every
 * custom KPI of the source as numerator and denominator, stored in kpi_1m with the
 * source's name as `family`. No code per source: the declaration says what to sum.
 */

export type DeclaredAccumulator = Record<string, Contribution>;

type DeclaredRecord = Record<string, unknown> & {
  eventId: string;
  ts: number;
  service: string;
  region: string;
  segment?: string | null;
  origin?: string | null;
};

export function declaredBindings(kpis: readonly DeclaredKpi[] = declaredKpis()): AnyBinding[] {
  const bySource = new Map<string, DeclaredKpi[]>();
  for (const k of kpis) bySource.set(k.source, [...(bySource.get(k.source) ?? []), k]);
  return [...bySource].map(([source, list]) =>
    kpiBinding<DeclaredRecord, DeclaredAccumulator>({
      source: source as SourceName,
      family: source,
      dims: (r) => ({ service: r.service, region: r.region, segment: r.segment ?? null, origin: r.origin ?? null }),
      empty: () => Object.fromEntries(list.map((k) => [k.name, { numerator: 0, denominator: 0 }])),
      add: (acc, record) => {
        for (const k of list) {
          const c = kpiContribution(k, record);
          const sums = acc[k.name];
          if (!sums) continue;
          sums.numerator += c.numerator;
          sums.denominator += c.denominator;
        }
      },
    }),
  );
}
