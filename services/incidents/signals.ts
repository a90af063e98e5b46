import { type AvailabilityCounts, availability, serviceability } from '../shared/kpi/availability.ts';
import type { SignalId } from './settings.ts';

/**
 * What the incident scorer reads of one (service, region) minute: the counts behind each
 * signal, never ratios, so a signal judged over several minutes is the exact ratio of
 * their sums. Filled from the read model's buckets (job.ts) or by the benchmark's generator.
 */
export interface MinuteCounts {
  probe: AvailabilityCounts | null;
  contact: { offered: number; abandoned: number; answered: number; answeredWaitSecSum: number } | null;
  survey: {
    npsResponses: number;
    npsPromoters: number;
    npsDetractors: number;
    csatResponses: number;
    csatSatisfied: number;
  } | null;
  social: { mentions: number; negativeMentions: number } | null;
}

/** A (service, region)'s minutes: minute start (ms) → counts. A minute absent had no events. */
export type MinuteSeries = ReadonlyMap<number, MinuteCounts>;

export type SignalKind = 'network' | 'customer';

export interface SignalDefinition {
  id: SignalId;
  label: string;
  kind: SignalKind;
  /** Which way is worse: a drop (Serviceability, NPS) or a rise (contacts, ASA). */
  worse: 'drop' | 'rise';
  unit: string;
  /** The value over summed counts and the number of events behind it; null value: nothing to judge. */
  value(c: Summed): { value: number | null; count: number };
}

/** Counts of one or more minutes added together. */
export interface Summed {
  probe: AvailabilityCounts;
  contact: NonNullable<MinuteCounts['contact']>;
  survey: NonNullable<MinuteCounts['survey']>;
  social: NonNullable<MinuteCounts['social']>;
}

const ratioOrNull = (n: number, d: number): number | null => (d > 0 ? n / d : null);

export function signalDefinitions(options: { excuseRetroactive: boolean }): Record<SignalId, SignalDefinition> {
  return {
    serviceability: {
      id: 'serviceability',
      label: 'Serviceability',
      kind: 'network',
      worse: 'drop',
      unit: 'ratio',
      value: (c) => ({ value: serviceability(c.probe), count: c.probe.attempts }),
    },
    availability: {
      id: 'availability',
      label: 'Availability',
      kind: 'network',
      worse: 'drop',
      unit: 'ratio',
      value: (c) => {
        const excused = c.probe.plannedAttempts + (options.excuseRetroactive ? c.probe.retroAttempts : 0);
        return { value: availability(c.probe, options), count: c.probe.attempts - excused };
      },
    },
    contact_volume: {
      id: 'contact_volume',
      label: 'contact volume',
      kind: 'customer',
      worse: 'rise',
      // Over the signal's window; its baseline is over windows of the same length.
      unit: 'contacts',
      value: (c) => ({ value: c.contact.offered, count: c.contact.offered }),
    },
    abandonment_rate: {
      id: 'abandonment_rate',
      label: 'abandonment rate',
      kind: 'customer',
      worse: 'rise',
      unit: 'ratio',
      value: (c) => ({ value: ratioOrNull(c.contact.abandoned, c.contact.offered), count: c.contact.offered }),
    },
    asa_sec: {
      id: 'asa_sec',
      label: 'ASA',
      kind: 'customer',
      worse: 'rise',
      unit: 's',
      value: (c) => ({ value: ratioOrNull(c.contact.answeredWaitSecSum, c.contact.answered), count: c.contact.answered }),
    },
    social_negative_share: {
      id: 'social_negative_share',
      label: 'negative social share',
      kind: 'customer',
      worse: 'rise',
      unit: 'ratio',
      value: (c) => ({ value: ratioOrNull(c.social.negativeMentions, c.social.mentions), count: c.social.mentions }),
    },
    social_volume: {
      id: 'social_volume',
      label: 'social volume',
      kind: 'customer',
      worse: 'rise',
      unit: 'mentions',
      value: (c) => ({ value: c.social.mentions, count: c.social.mentions }),
    },
    nps: {
      id: 'nps',
      label: 'NPS',
      kind: 'customer',
      worse: 'drop',
      unit: 'score',
      value: (c) => {
        const s = c.survey;
        const v = s.npsResponses > 0 ? ((s.npsPromoters - s.npsDetractors) / s.npsResponses) * 100 : null;
        return { value: v, count: s.npsResponses };
      },
    },
    csat: {
      id: 'csat',
      label: 'CSAT',
      kind: 'customer',
      worse: 'drop',
      unit: '%',
      value: (c) => ({
        value: c.survey.csatResponses > 0 ? (c.survey.csatSatisfied / c.survey.csatResponses) * 100 : null,
        count: c.survey.csatResponses,
      }),
    },
  };
}

export const emptySummed = (): Summed => ({
  probe: { attempts: 0, successes: 0, plannedAttempts: 0, plannedSuccesses: 0, retroAttempts: 0, retroSuccesses: 0 },
  contact: { offered: 0, abandoned: 0, answered: 0, answeredWaitSecSum: 0 },
  survey: { npsResponses: 0, npsPromoters: 0, npsDetractors: 0, csatResponses: 0, csatSatisfied: 0 },
  social: { mentions: 0, negativeMentions: 0 },
});

function addInto<T extends object>(into: T, from: T | null): void {
  if (!from) return;
  for (const k of Object.keys(from) as Array<keyof T>) (into[k] as number) += from[k] as number;
}

/** The counts of the `minutes` minutes ending with `minute` (inclusive), added together. */
export function sumMinutes(series: MinuteSeries, minute: number, minutes: number): Summed {
  const out = emptySummed();
  for (let i = 0; i < minutes; i += 1) {
    const c = series.get(minute - i * 60_000);
    if (!c) continue;
    addInto(out.probe, c.probe);
    addInto(out.contact, c.contact);
    addInto(out.survey, c.survey);
    addInto(out.social, c.social);
  }
  return out;
}

/**
 * Maintenance in force in a minute, as the probe counts say: results inside maintenance
 * declared in advance (planned) or only after it started (retroactive).
 */
export function maintenanceOf(c: MinuteCounts | undefined): { planned: boolean; retroactive: boolean } {
  return { planned: (c?.probe?.plannedAttempts ?? 0) > 0, retroactive: (c?.probe?.retroAttempts ?? 0) > 0 };
}
