/**
 * The probe KPI family: test success rate (= Serviceability), Availability, latency
 * p50/p95, jitter, packet loss, throughput p50 and MOS (design doc, "KPIs").
 *
 * The accumulator holds only sums, counts and mergeable sketches, so the accumulator of
 * two windows is the field-by-field sum of theirs (`mergeProbe`) and every rollup is
 * exact. Each optional measure counts only the records that carry it: a record counts
 * once per measure, whether it is one test or a counter sample.
 *
 * Packet loss. A sample with `packetsSent` ≥ 1 is "weighted": it stands for its packets.
 * A sample with `packetsSent` absent is "unweighted": it stands for itself. With W
 * weighted samples (Σ sent, Σ pct·sent) and U unweighted ones (Σ pct):
 *   only weighted:   loss = Σ(pct·sent) / Σ sent
 *   only unweighted: loss = Σ pct / U
 *   mixed:           loss = (W · Σ(pct·sent)/Σ sent + Σ pct) / (W + U)
 * i.e. each group weighs by its number of samples and packets decide within the weighted
 * group. Equivalently, an unweighted sample weighs as many packets as the mean weighted
 * sample (Σ sent / W). A sample with `packetsSent` = 0 measured no packets and is left
 * out of packet loss.
 */

import {
  type AvailabilityCounts,
  addCounts,
  availability,
  availabilityBasis,
  type MaintenanceCover,
  serviceability,
  zeroAvailabilityCounts,
} from '../../shared/kpi/availability.ts';
import type { KpiFamilyDefinition } from '../../shared/kpi/family.ts';
import { ratio } from '../../shared/kpi/ratio.ts';
import { addToSketch, emptySketch, mergeSketches, type QuantileSketch, sketchQuantile } from '../../shared/kpi/sketch.ts';
import type { ProbeRecord } from './record.ts';

/** What the accumulator needs of a ProbeRecord (record.ts, generated from the .avsc). */
export type ProbeMeasurement = Pick<
  ProbeRecord,
  'attempts' | 'successes' | 'latencyMs' | 'jitterMs' | 'packetLossPct' | 'packetsSent' | 'throughputKbps' | 'mos'
>;

export interface ProbeAccumulator {
  /** Attempts and successes split by maintenance cover (availability.ts). */
  availability: AvailabilityCounts;
  /** Records added. */
  samples: number;
  latencyMs: QuantileSketch;
  jitterSamples: number;
  jitterMsSum: number;
  lossWeightedSamples: number;
  lossPacketsSent: number;
  /** Σ packetLossPct × packetsSent over weighted samples (packets lost × 100). */
  lossPctTimesPackets: number;
  lossUnweightedSamples: number;
  lossPctSum: number;
  throughputKbps: QuantileSketch;
  mosSamples: number;
  mosSum: number;
}

export interface ProbeKpis {
  /** successes / attempts over every result. */
  testSuccessRate: number | null;
  /** The same ratio under its design name: usable time / whole period. */
  serviceability: number | null;
  /** successes / attempts outside excused maintenance. */
  availability: number | null;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  jitterMs: number | null;
  packetLossPct: number | null;
  throughputP50Kbps: number | null;
  mos: number | null;
}

export interface ProbeKpiOptions {
  /** Whether retroactively declared maintenance excuses downtime in Availability (default false). */
  excuseRetroactive?: boolean;
}

export const emptyProbe = (): ProbeAccumulator => ({
  availability: zeroAvailabilityCounts(),
  samples: 0,
  latencyMs: emptySketch(),
  jitterSamples: 0,
  jitterMsSum: 0,
  lossWeightedSamples: 0,
  lossPacketsSent: 0,
  lossPctTimesPackets: 0,
  lossUnweightedSamples: 0,
  lossPctSum: 0,
  throughputKbps: emptySketch(),
  mosSamples: 0,
  mosSum: 0,
});

const present = (v: number | null): v is number => v !== null && Number.isFinite(v);

/**
 * Adds one probe result in place. `cover` is how maintenance covers its time
 * (`maintenanceCover` in availability.ts); the aggregator re-adds results when a late
 * declaration changes it.
 */
export function addProbe(acc: ProbeAccumulator, r: ProbeMeasurement, cover: MaintenanceCover = 'none'): ProbeAccumulator {
  acc.availability.attempts += r.attempts;
  acc.availability.successes += r.successes;
  if (cover === 'planned') {
    acc.availability.plannedAttempts += r.attempts;
    acc.availability.plannedSuccesses += r.successes;
  } else if (cover === 'retroactive') {
    acc.availability.retroAttempts += r.attempts;
    acc.availability.retroSuccesses += r.successes;
  }
  acc.samples += 1;
  if (present(r.latencyMs) && r.latencyMs >= 0) addToSketch(acc.latencyMs, r.latencyMs);
  if (present(r.jitterMs)) {
    acc.jitterSamples += 1;
    acc.jitterMsSum += r.jitterMs;
  }
  if (present(r.packetLossPct)) {
    if (r.packetsSent === null) {
      acc.lossUnweightedSamples += 1;
      acc.lossPctSum += r.packetLossPct;
    } else if (r.packetsSent > 0) {
      acc.lossWeightedSamples += 1;
      acc.lossPacketsSent += r.packetsSent;
      acc.lossPctTimesPackets += r.packetLossPct * r.packetsSent;
    }
  }
  if (present(r.throughputKbps) && r.throughputKbps >= 0) addToSketch(acc.throughputKbps, r.throughputKbps);
  if (present(r.mos)) {
    acc.mosSamples += 1;
    acc.mosSum += r.mos;
  }
  return acc;
}

/** The accumulator of both windows: every sum added, sketches merged. Inputs are not changed. */
export function mergeProbe(a: ProbeAccumulator, b: ProbeAccumulator): ProbeAccumulator {
  return {
    availability: addCounts(addCounts(zeroAvailabilityCounts(), a.availability), b.availability),
    samples: a.samples + b.samples,
    latencyMs: mergeSketches(a.latencyMs, b.latencyMs),
    jitterSamples: a.jitterSamples + b.jitterSamples,
    jitterMsSum: a.jitterMsSum + b.jitterMsSum,
    lossWeightedSamples: a.lossWeightedSamples + b.lossWeightedSamples,
    lossPacketsSent: a.lossPacketsSent + b.lossPacketsSent,
    lossPctTimesPackets: a.lossPctTimesPackets + b.lossPctTimesPackets,
    lossUnweightedSamples: a.lossUnweightedSamples + b.lossUnweightedSamples,
    lossPctSum: a.lossPctSum + b.lossPctSum,
    throughputKbps: mergeSketches(a.throughputKbps, b.throughputKbps),
    mosSamples: a.mosSamples + b.mosSamples,
    mosSum: a.mosSum + b.mosSum,
  };
}

/** Packet loss in percent under the rule in the file comment; null without loss samples. */
export function packetLoss(acc: ProbeAccumulator): number | null {
  const weighted = acc.lossWeightedSamples;
  const unweighted = acc.lossUnweightedSamples;
  if (weighted === 0) return ratio(acc.lossPctSum, unweighted);
  const weightedLoss = acc.lossPctTimesPackets / acc.lossPacketsSent;
  if (unweighted === 0) return weightedLoss;
  return (weighted * weightedLoss + acc.lossPctSum) / (weighted + unweighted);
}

export function probeKpis(acc: ProbeAccumulator, options: ProbeKpiOptions = {}): ProbeKpis {
  const successRate = serviceability(acc.availability);
  return {
    testSuccessRate: successRate,
    serviceability: successRate,
    availability: availability(acc.availability, { excuseRetroactive: options.excuseRetroactive ?? false }),
    latencyP50Ms: sketchQuantile(acc.latencyMs, 0.5),
    latencyP95Ms: sketchQuantile(acc.latencyMs, 0.95),
    jitterMs: ratio(acc.jitterMsSum, acc.jitterSamples),
    packetLossPct: packetLoss(acc),
    throughputP50Kbps: sketchQuantile(acc.throughputKbps, 0.5),
    mos: ratio(acc.mosSum, acc.mosSamples),
  };
}

/** The probe family (family.ts). Availability/Serviceability's maintenance split is re-read from probe_kpi_1m on the read side (vitals/probe-counts.ts). */
export const PROBE_FAMILY: KpiFamilyDefinition<ProbeAccumulator, ProbeMeasurement, 'probe'> = {
  name: 'probe',
  empty: emptyProbe,
  add: (acc, m) => addProbe(acc, m),
  merge: mergeProbe,
  kpis: (acc, options) => {
    const p = probeKpis(acc, options);
    return {
      test_success_rate: p.testSuccessRate,
      serviceability: p.serviceability,
      availability: p.availability,
      latency_p50_ms: p.latencyP50Ms,
      latency_p95_ms: p.latencyP95Ms,
      jitter_ms: p.jitterMs,
      packet_loss_pct: p.packetLossPct,
      throughput_p50_kbps: p.throughputP50Kbps,
      mos: p.mos,
    };
  },
  shares: {
    test_success_rate: (acc) => ({ numerator: acc.availability.successes, denominator: acc.availability.attempts }),
    serviceability: (acc) => ({ numerator: acc.availability.successes, denominator: acc.availability.attempts }),
    availability: (acc, options) => {
      const basis = availabilityBasis(acc.availability, { excuseRetroactive: options.excuseRetroactive ?? false });
      return { numerator: basis.successes, denominator: basis.attempts };
    },
  },
};
