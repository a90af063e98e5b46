import { joinKey, splitKey, type WindowBinding } from '../../aggregator/binding.ts';
import type { Family } from '../../aggregator/engine.ts';
import { kpiBinding } from '../../aggregator/families/generic.ts';
import type { MaintenanceRegistry } from '../../aggregator/maintenance-registry.ts';
import { type AvailabilityCounts, addCounts, maintenanceCover, zeroAvailabilityCounts } from '../../shared/kpi/availability.ts';
import { PROBE_FAMILY, type ProbeAccumulator } from './accumulator.ts';
import type { ProbeRecord } from './source.ts';

/**
 * The probe KPI family: per (service, region, minute) the attempts and successes, split
 * by maintenance cover. Results are kept (time, attempts, successes) until the window
 * is final, because a maintenance declaration that arrives after them must still be
 * able to re-classify them; `base` holds counts read back from the store after a
 * restart, already classified.
 */
export interface ProbeWindowState {
  service: string;
  region: string;
  /** Who supplied the results (a window per origin). */
  origin: string;
  base: AvailabilityCounts;
  baseSamples: number;
  /** Results of `base` taken back (corrections): they sit in the arrays as negative counts, and are not samples. */
  removedFromBase: number;
  times: number[];
  attempts: number[];
  successes: number[];
}

export const PROBE_TABLE = 'probe_kpi_1m';

export const probeKey = (service: string, region: string, origin = ''): string => joinKey([service, region, origin]);

export function splitProbeKey(key: string): { service: string; region: string; origin: string } {
  const [service = '', region = '', origin = ''] = splitKey(key);
  return { service, region, origin };
}

export const probeFamily: Family<ProbeRecord, ProbeWindowState> = {
  name: 'availability',
  create(key) {
    const { service, region, origin } = splitProbeKey(key);
    return {
      service,
      region,
      origin,
      base: zeroAvailabilityCounts(),
      baseSamples: 0,
      removedFromBase: 0,
      times: [],
      attempts: [],
      successes: [],
    };
  },
  add(state, event) {
    state.times.push(event.ts);
    state.attempts.push(event.attempts);
    state.successes.push(event.successes);
  },
  // A result still held is taken out; one already in `base` (read back from the store) is
  // taken back as a negative result at its time, classified like the others when written.
  remove(state, event) {
    for (let i = state.times.length - 1; i >= 0; i -= 1) {
      if (state.times[i] === event.ts && state.attempts[i] === event.attempts && state.successes[i] === event.successes) {
        state.times.splice(i, 1);
        state.attempts.splice(i, 1);
        state.successes.splice(i, 1);
        return;
      }
    }
    state.times.push(event.ts);
    state.attempts.push(-event.attempts);
    state.successes.push(-event.successes);
    state.removedFromBase += 1;
  },
};

/** Counts of a window under the maintenance known now. */
export function classify(state: ProbeWindowState, registry: MaintenanceRegistry): AvailabilityCounts {
  const counts = addCounts(zeroAvailabilityCounts(), state.base);
  const windows = [...registry.forService(state.service)];
  for (let i = 0; i < state.times.length; i += 1) {
    const a = state.attempts[i] ?? 0;
    const s = state.successes[i] ?? 0;
    counts.attempts += a;
    counts.successes += s;
    const cover = windows.length === 0 ? 'none' : maintenanceCover(state.times[i] ?? 0, state.service, state.region, windows);
    if (cover === 'planned') {
      counts.plannedAttempts += a;
      counts.plannedSuccesses += s;
    } else if (cover === 'retroactive') {
      counts.retroAttempts += a;
      counts.retroSuccesses += s;
    }
  }
  return counts;
}

export interface ProbeRow {
  service: string;
  region: string;
  origin: string;
  window_start: number;
  samples: number;
  attempts: number;
  successes: number;
  planned_attempts: number;
  planned_successes: number;
  retro_attempts: number;
  retro_successes: number;
  version: number;
  bus_epoch: string;
  source_partition: string;
  last_offset: number;
}

export function toProbeRow(
  state: ProbeWindowState,
  windowStart: number,
  registry: MaintenanceRegistry,
  meta: { version: number; busEpoch: string; partition: string; lastOffset: number },
): ProbeRow {
  const c = classify(state, registry);
  return {
    service: state.service,
    region: state.region,
    origin: state.origin,
    window_start: windowStart,
    samples: state.baseSamples + state.times.length - 2 * state.removedFromBase,
    attempts: c.attempts,
    successes: c.successes,
    planned_attempts: c.plannedAttempts,
    planned_successes: c.plannedSuccesses,
    retro_attempts: c.retroAttempts,
    retro_successes: c.retroSuccesses,
    version: meta.version,
    bus_epoch: meta.busEpoch,
    source_partition: meta.partition,
    last_offset: meta.lastOffset,
  };
}

/** State for a window read back from the store: its counts become the classified base. */
export function probeStateFromRow(row: Record<string, unknown>): ProbeWindowState {
  return {
    service: String(row.service),
    region: String(row.region),
    origin: String(row.origin ?? ''),
    base: {
      attempts: Number(row.attempts),
      successes: Number(row.successes),
      plannedAttempts: Number(row.planned_attempts),
      plannedSuccesses: Number(row.planned_successes),
      retroAttempts: Number(row.retro_attempts),
      retroSuccesses: Number(row.retro_successes),
    },
    baseSamples: Number(row.samples),
    removedFromBase: 0,
    times: [],
    attempts: [],
    successes: [],
  };
}

export const probeBinding: WindowBinding<ProbeRecord, ProbeWindowState> = {
  source: 'probe',
  family: probeFamily,
  table: PROBE_TABLE,
  keyOf: (r) => probeKey(r.service, r.region, r.origin),
  keyColumns: ['service', 'region', 'origin'],
  toRow: (state, windowStart, meta, context) =>
    toProbeRow(state, windowStart, context.maintenance, {
      version: meta.version,
      busEpoch: meta.busEpoch,
      partition: meta.partition,
      lastOffset: meta.lastOffset,
    }) as unknown as Record<string, unknown>,
  fromRow: probeStateFromRow,
};

/**
 * The probe family's quality KPIs (latency, jitter, loss, throughput, MOS) in kpi_1m, keyed
 * (service, region, segment, origin). Its Availability/Serviceability split lives in
 * probe_kpi_1m (`probeBinding` above), which re-classifies results when maintenance is
 * declared late; reads take the split from there.
 */
export const probeQualityBinding = kpiBinding<ProbeRecord, ProbeAccumulator>({
  source: 'probe',
  family: 'probe',
  dims: (r) => ({ service: r.service, region: r.region, segment: r.segment, origin: r.origin }),
  empty: PROBE_FAMILY.empty,
  add: PROBE_FAMILY.add,
});
