import {
  type AvailabilityCounts,
  availability,
  availabilityBasis,
  isBackdated,
  isRetroactive,
  serviceability,
} from '../kpi/availability.ts';
import { readMaintenanceWindows } from '../store/maintenance.ts';
import type { Store } from '../store/store.ts';
import { bucketEndOf, type Calendar, epochBuckets } from './filter.ts';
import { type ProbeCounts, readProbeCounts } from './probe-counts.ts';

/**
 * Availability and Serviceability per bucket, from the per-minute counts, with the counts
 * behind them and the maintenance that touched the range (GET /api/v1/availability).
 * Coarser buckets (and "all regions") are sums of counts, and the ratios are computed
 * from those sums: never an average of ratios.
 */

export interface AvailabilityQuery {
  service: string;
  region: string | undefined;
  /** Who supplied the probe results; every origin when absent. */
  origin?: string | undefined;
  from: number;
  to: number;
  stepSec: number;
  /** UTC calendar months or quarters as buckets instead of `stepSec`. */
  calendar?: Calendar | undefined;
  excuseRetroactive: boolean;
}

export interface AvailabilityBucket {
  start: string;
  end: string;
  availability: number | null;
  serviceability: number | null;
  attempts: number;
  successes: number;
  /** Attempts left out of Availability (inside excused maintenance). */
  plannedExcludedAttempts: number;
  plannedExcludedSuccesses: number;
  /** Attempts inside maintenance declared after it started. */
  retroactiveAttempts: number;
  retroactiveSuccesses: number;
  samples: number;
}

export interface MaintenanceInRange {
  maintenanceId: string;
  service: string;
  region: string | null;
  start: string;
  end: string;
  declaredAt: string;
  /** When cxvitals received the declaration. */
  receivedAt: string;
  /** Declared as made before receipt (a maintenance-history token's import). */
  backdated: boolean;
  retroactive: boolean;
  /** Whether this window excuses downtime in the Availability shown. */
  excused: boolean;
  description: string;
}

export interface AvailabilityReport {
  service: string;
  region: string | null;
  origin: string | null;
  from: string;
  to: string;
  step: string;
  excuseRetroactive: boolean;
  total: Omit<AvailabilityBucket, 'start' | 'end'>;
  buckets: AvailabilityBucket[];
  maintenance: MaintenanceInRange[];
}

const iso = (ms: number): string => new Date(ms).toISOString();

function describe(c: AvailabilityCounts & { samples: number }, excuseRetroactive: boolean) {
  const basis = availabilityBasis(c, { excuseRetroactive });
  return {
    availability: availability(c, { excuseRetroactive }),
    serviceability: serviceability(c),
    attempts: c.attempts,
    successes: c.successes,
    plannedExcludedAttempts: c.attempts - basis.attempts,
    plannedExcludedSuccesses: c.successes - basis.successes,
    retroactiveAttempts: c.retroAttempts,
    retroactiveSuccesses: c.retroSuccesses,
    samples: c.samples,
  };
}

export async function readAvailability(store: Store, q: AvailabilityQuery): Promise<AvailabilityReport> {
  const bucketing = epochBuckets(q.stepSec, q.calendar);
  const counts = await readProbeCounts(
    store,
    { services: [q.service], region: q.region, origin: q.origin, from: q.from, to: q.to },
    bucketing,
  );
  const maintenance = await readMaintenanceWindows(store, { service: q.service, region: q.region, fromMs: q.from, toMs: q.to });
  const total: ProbeCounts = {
    samples: 0,
    attempts: 0,
    successes: 0,
    plannedAttempts: 0,
    plannedSuccesses: 0,
    retroAttempts: 0,
    retroSuccesses: 0,
  };
  const buckets = [...(counts.get('')?.entries() ?? [])].map(([start, c]) => {
    for (const k of Object.keys(total) as Array<keyof ProbeCounts>) total[k] += c[k];
    return { start: iso(start), end: iso(bucketEndOf(start, bucketing)), ...describe(c, q.excuseRetroactive) };
  });
  return {
    service: q.service,
    region: q.region ?? null,
    origin: q.origin ?? null,
    from: iso(q.from),
    to: iso(q.to),
    step: q.calendar ?? `${q.stepSec}s`,
    excuseRetroactive: q.excuseRetroactive,
    total: describe(total, q.excuseRetroactive),
    buckets,
    maintenance: maintenance.map((m) => {
      const retroactive = isRetroactive(m);
      return {
        maintenanceId: m.maintenanceId,
        service: m.service,
        region: m.region,
        start: iso(m.startMs),
        end: iso(m.endMs),
        declaredAt: iso(m.declaredAtMs),
        receivedAt: iso(m.receivedAtMs ?? m.declaredAtMs),
        backdated: isBackdated(m),
        retroactive,
        excused: !retroactive || q.excuseRetroactive,
        description: m.description,
      };
    }),
  };
}
