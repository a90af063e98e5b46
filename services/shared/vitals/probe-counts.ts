import type { AvailabilityCounts } from '../kpi/availability.ts';
import type { Store } from '../store/store.ts';
import {
  type Bucketing,
  bucketSql,
  type Grouping,
  type GroupRow,
  groupColumns,
  groupIdOf,
  type KpiFilter,
  whereClause,
} from './filter.ts';
import { windowSource } from './rollup.ts';

/**
 * The one read of probe_kpi_1m: per bucket (and group), the probe counts split by
 * maintenance cover. Availability and Serviceability are computed from these counts in
 * TypeScript by services/shared/kpi/availability.ts, the one place that says which
 * maintenance excuses downtime. probe_kpi_1m has no segment: a read by segment does not
 * come here.
 */

export interface ProbeCounts extends AvailabilityCounts {
  /** Probe records in the bucket. */
  samples: number;
}

interface CountsRow extends GroupRow {
  bucket: string;
  samples: string;
  attempts: string;
  successes: string;
  planned_attempts: string;
  planned_successes: string;
  retro_attempts: string;
  retro_successes: string;
}

/** Group id (as groupIdOf) → bucket start → counts, buckets in time order. */
export async function readProbeCounts(
  store: Store,
  f: Omit<KpiFilter, 'stepSec' | 'segment'>,
  bucketing: Bucketing,
  grouping: Grouping = { by: 'none' },
): Promise<Map<string, Map<number, ProbeCounts>>> {
  const params: Record<string, unknown> = { stepMs: bucketing.stepMs, originMs: bucketing.originMs };
  const keyColumns = groupColumns(grouping);
  // Whole days of the range from probe_kpi_1d where its rollup is current (rollup.ts).
  const source = await windowSource(
    store,
    'probe_kpi_1m',
    whereClause({ ...f, segment: undefined }, params, { segment: false, grouping }),
    params,
    f,
    bucketing,
  );
  const rows = await store.query<CountsRow>(
    `SELECT ${keyColumns}${bucketSql(bucketing)} AS bucket,
            sum(samples) AS samples, sum(attempts) AS attempts, sum(successes) AS successes,
            sum(planned_attempts) AS planned_attempts, sum(planned_successes) AS planned_successes,
            sum(retro_attempts) AS retro_attempts, sum(retro_successes) AS retro_successes
     FROM ${source}
     GROUP BY ${keyColumns}bucket ORDER BY bucket`,
    params,
  );
  const idOf = groupIdOf(grouping);
  const out = new Map<string, Map<number, ProbeCounts>>();
  for (const r of rows) {
    const id = idOf(r);
    let ofGroup = out.get(id);
    if (!ofGroup) {
      ofGroup = new Map();
      out.set(id, ofGroup);
    }
    ofGroup.set(Number(r.bucket), {
      samples: Number(r.samples),
      attempts: Number(r.attempts),
      successes: Number(r.successes),
      plannedAttempts: Number(r.planned_attempts),
      plannedSuccesses: Number(r.planned_successes),
      retroAttempts: Number(r.retro_attempts),
      retroSuccesses: Number(r.retro_successes),
    });
  }
  return out;
}
