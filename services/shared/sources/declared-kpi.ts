import { asNumber, type Condition, conditionSchema, conditionSubjects, evaluate } from './conditions.ts';

/**
 * The contract of a declared KPI, as plain functions the generic aggregator family calls
 * per event and per window. Every KPI is stored as numerator and denominator (design doc:
 * rollups are sums, never averages of averages):
 *
 * | aggregate | numerator                          | denominator                         | value       |
 * | --------- | ---------------------------------- | ----------------------------------- | ----------- |
 * | count     | events matching `where`            | events                              | numerator   |
 * | sum       | Σ `field` over matching events     | matching events with `field`        | numerator   |
 * | mean      | Σ `field` over matching events     | matching events with `field`        | num / den   |
 * | share     | events matching `where`            | events (with `field`, if given)     | num / den   |
 *
 * `share` is a fraction 0…1 (unit `ratio`, like the built-in KPIs). A window where the
 * denominator is 0 has no value (null), not 0.
 */

export type KpiWhere = Condition<'field'>;

export const kpiWhere = conditionSchema('field');

export const whereFields = (w: KpiWhere): string[] => conditionSubjects(w, 'field');

export interface KpiSpec {
  aggregate: 'count' | 'sum' | 'mean' | 'share';
  field?: string;
  where?: KpiWhere;
}

export interface Contribution {
  numerator: number;
  denominator: number;
}

export const kpiMatches = (where: KpiWhere | undefined, record: Record<string, unknown>): boolean =>
  where === undefined || evaluate(where, 'field', (name) => record[name]);

/** What one record adds to a KPI's window sums. */
export function kpiContribution(kpi: KpiSpec, record: Record<string, unknown>): Contribution {
  const matches = kpiMatches(kpi.where, record);
  switch (kpi.aggregate) {
    case 'count':
      return { numerator: matches ? 1 : 0, denominator: 1 };
    case 'sum':
    case 'mean': {
      const value = kpi.field === undefined ? undefined : asNumber(record[kpi.field]);
      return matches && value !== undefined ? { numerator: value, denominator: 1 } : { numerator: 0, denominator: 0 };
    }
    case 'share': {
      const counted = kpi.field === undefined || (record[kpi.field] !== undefined && record[kpi.field] !== null);
      return counted ? { numerator: matches ? 1 : 0, denominator: 1 } : { numerator: 0, denominator: 0 };
    }
  }
}

/** The KPI's value from summed contributions. */
export function kpiValue(kpi: Pick<KpiSpec, 'aggregate'>, sums: Contribution): number | null {
  if (kpi.aggregate === 'count' || kpi.aggregate === 'sum') return sums.numerator;
  return sums.denominator > 0 ? sums.numerator / sums.denominator : null;
}
