import {
  type AvailabilityCounts,
  availability,
  availabilityBasis,
  isRetroactive,
  serviceability,
} from '../shared/kpi/availability.ts';
import { readMaintenanceWindows } from '../shared/store/maintenance.ts';
import type { Store } from '../shared/store/store.ts';

/**
 * Availability and Serviceability per bucket, from the per-minute counts. Coarser
 * buckets (and "all regions") are sums of counts, and the ratios are computed from
 * those sums: never an average of ratios.
 */

export interface AvailabilityQuery {
  service: string;
  region: string | undefined;
  from: number;
  to: number;
  stepSec: number;
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
  retroactive: boolean;
  /** Whether this window excuses downtime in the Availability shown. */
  excused: boolean;
  description: string;
}

export interface AvailabilityReport {
  service: string;
  region: string | null;
  from: string;
  to: string;
  step: string;
  excuseRetroactive: boolean;
  total: Omit<AvailabilityBucket, 'start' | 'end'>;
  buckets: AvailabilityBucket[];
  maintenance: MaintenanceInRange[];
}

interface CountsRow {
  bucket: string;
  samples: string;
  attempts: string;
  successes: string;
  planned_attempts: string;
  planned_successes: string;
  retro_attempts: string;
  retro_successes: string;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function toCounts(r: CountsRow): AvailabilityCounts & { samples: number } {
  return {
    samples: Number(r.samples),
    attempts: Number(r.attempts),
    successes: Number(r.successes),
    plannedAttempts: Number(r.planned_attempts),
    plannedSuccesses: Number(r.planned_successes),
    retroAttempts: Number(r.retro_attempts),
    retroSuccesses: Number(r.retro_successes),
  };
}

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
  const params = {
    service: q.service,
    region: q.region ?? '',
    anyRegion: q.region === undefined ? 1 : 0,
    from: q.from,
    to: q.to,
    stepMs: q.stepSec * 1000,
  };
  const sums = `sum(samples) AS samples, sum(attempts) AS attempts, sum(successes) AS successes,
    sum(planned_attempts) AS planned_attempts, sum(planned_successes) AS planned_successes,
    sum(retro_attempts) AS retro_attempts, sum(retro_successes) AS retro_successes`;
  const rows = await store.query<CountsRow>(
    `SELECT intDiv(toUnixTimestamp64Milli(window_start), {stepMs:Int64}) * {stepMs:Int64} AS bucket, ${sums}
     FROM ${store.table('probe_kpi_1m')} FINAL
     WHERE service = {service:String} AND ({anyRegion:UInt8} = 1 OR region = {region:String})
       AND window_start >= fromUnixTimestamp64Milli({from:Int64}) AND window_start < fromUnixTimestamp64Milli({to:Int64})
     GROUP BY bucket ORDER BY bucket`,
    params,
  );
  const maintenance = await readMaintenanceWindows(store, { service: q.service, region: q.region, fromMs: q.from, toMs: q.to });
  const stepMs = q.stepSec * 1000;
  const total = {
    samples: 0,
    attempts: 0,
    successes: 0,
    plannedAttempts: 0,
    plannedSuccesses: 0,
    retroAttempts: 0,
    retroSuccesses: 0,
  };
  const buckets = rows.map((r) => {
    const c = toCounts(r);
    for (const k of Object.keys(total) as Array<keyof typeof total>) total[k] += c[k];
    const start = Number(r.bucket);
    return { start: iso(start), end: iso(start + stepMs), ...describe(c, q.excuseRetroactive) };
  });
  return {
    service: q.service,
    region: q.region ?? null,
    from: iso(q.from),
    to: iso(q.to),
    step: `${q.stepSec}s`,
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
        retroactive,
        excused: !retroactive || q.excuseRetroactive,
        description: m.description,
      };
    }),
  };
}
