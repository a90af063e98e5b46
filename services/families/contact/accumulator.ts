/**
 * The contact-center KPI family (design doc, "KPIs"). Definitions, as implemented:
 *
 * - received: every contact record.
 * - short abandon: `abandoned` and `waitSec` < `shortAbandonSec` (default 5). "Within
 *   5 s" is read as strictly before the limit, so `shortAbandonSec: 0` turns the rule off.
 *   Short abandons are counted but excluded from offered and from every ratio below.
 * - abandoned: `abandoned` and not short (waitSec ≥ shortAbandonSec).
 * - answered: not `abandoned` (reached an agent or a bot, whatever the channel).
 * - offered = answered + abandoned  (= received − short abandons).
 * - handled: answered with a `handleSec` (the contacts whose handling is known).
 * - ASA = Σ waitSec of answered / answered.
 * - service level = answered with waitSec ≤ `serviceLevelSec` (default 20) / offered.
 * - abandonment rate = abandoned / offered.
 * - AHT = Σ handleSec / handled.
 * - FCR = handled with `resolved` true / handled that say whether they were resolved.
 * - transfer rate = handled with `transfers` ≥ 1 / handled that give `transfers`.
 *
 * FCR and transfer rate leave out handled contacts that do not report the field: a feed
 * without resolution data would otherwise show an FCR of 0 and cost CSI points for
 * missing data rather than for bad service. Their denominators are kept so a reader
 * sees how many handled contacts the ratio rests on.
 *
 * The thresholds apply when a contact is added (they decide which counter it lands in),
 * so they belong to the stored row: changing them applies to windows computed after.
 */

import type { KpiFamilyDefinition } from '../../shared/kpi/family.ts';
import { ratio } from '../../shared/kpi/ratio.ts';
import type { ContactRecord } from './record.ts';

/** What the accumulator needs of a ContactRecord (source.ts, beside this file). */
export type ContactMeasurement = Pick<ContactRecord, 'waitSec' | 'abandoned' | 'handleSec' | 'resolved' | 'transfers'>;

export interface ContactThresholds {
  /** Abandoned before this many seconds of waiting: a short abandon (default 5). */
  shortAbandonSec: number;
  /** Answered within this many seconds (inclusive) meets the service level (default 20). */
  serviceLevelSec: number;
}

export const DEFAULT_CONTACT_THRESHOLDS: ContactThresholds = { shortAbandonSec: 5, serviceLevelSec: 20 };

export interface ContactAccumulator {
  received: number;
  shortAbandons: number;
  abandoned: number;
  answered: number;
  answeredWaitSecSum: number;
  answeredWithinServiceLevel: number;
  handled: number;
  handleSecSum: number;
  resolutionReported: number;
  resolvedFirstContact: number;
  transfersReported: number;
  transferred: number;
}

export interface ContactKpis {
  offered: number;
  answered: number;
  abandoned: number;
  shortAbandons: number;
  asaSec: number | null;
  serviceLevel: number | null;
  abandonmentRate: number | null;
  ahtSec: number | null;
  fcr: number | null;
  transferRate: number | null;
}

export const emptyContact = (): ContactAccumulator => ({
  received: 0,
  shortAbandons: 0,
  abandoned: 0,
  answered: 0,
  answeredWaitSecSum: 0,
  answeredWithinServiceLevel: 0,
  handled: 0,
  handleSecSum: 0,
  resolutionReported: 0,
  resolvedFirstContact: 0,
  transfersReported: 0,
  transferred: 0,
});

/** Adds one contact in place. */
export function addContact(
  acc: ContactAccumulator,
  c: ContactMeasurement,
  thresholds: ContactThresholds = DEFAULT_CONTACT_THRESHOLDS,
): ContactAccumulator {
  acc.received += 1;
  if (c.abandoned) {
    if (c.waitSec < thresholds.shortAbandonSec) acc.shortAbandons += 1;
    else acc.abandoned += 1;
    return acc;
  }
  acc.answered += 1;
  acc.answeredWaitSecSum += c.waitSec;
  if (c.waitSec <= thresholds.serviceLevelSec) acc.answeredWithinServiceLevel += 1;
  if (c.handleSec === null) return acc;
  acc.handled += 1;
  acc.handleSecSum += c.handleSec;
  if (c.resolved !== null) {
    acc.resolutionReported += 1;
    if (c.resolved) acc.resolvedFirstContact += 1;
  }
  if (c.transfers !== null) {
    acc.transfersReported += 1;
    if (c.transfers >= 1) acc.transferred += 1;
  }
  return acc;
}

/** The accumulator of both windows (every field summed). Inputs are not changed. */
export function mergeContact(a: ContactAccumulator, b: ContactAccumulator): ContactAccumulator {
  const out = emptyContact();
  for (const field of Object.keys(out) as (keyof ContactAccumulator)[]) out[field] = a[field] + b[field];
  return out;
}

export function contactKpis(acc: ContactAccumulator): ContactKpis {
  const offered = acc.answered + acc.abandoned;
  return {
    offered,
    answered: acc.answered,
    abandoned: acc.abandoned,
    shortAbandons: acc.shortAbandons,
    asaSec: ratio(acc.answeredWaitSecSum, acc.answered),
    serviceLevel: ratio(acc.answeredWithinServiceLevel, offered),
    abandonmentRate: ratio(acc.abandoned, offered),
    ahtSec: ratio(acc.handleSecSum, acc.handled),
    fcr: ratio(acc.resolvedFirstContact, acc.resolutionReported),
    transferRate: ratio(acc.transferred, acc.transfersReported),
  };
}

/** The contact-center family (family.ts); `add` uses DEFAULT_CONTACT_THRESHOLDS (the aggregator's binding passes the configured ones). */
export const CONTACT_FAMILY: KpiFamilyDefinition<ContactAccumulator, ContactMeasurement, 'contact'> = {
  name: 'contact',
  empty: emptyContact,
  add: (acc, m) => addContact(acc, m),
  merge: mergeContact,
  kpis: (acc) => {
    const c = contactKpis(acc);
    return {
      offered: c.offered,
      answered: c.answered,
      abandoned: c.abandoned,
      short_abandons: c.shortAbandons,
      asa_sec: c.asaSec,
      service_level: c.serviceLevel,
      abandonment_rate: c.abandonmentRate,
      aht_sec: c.ahtSec,
      fcr: c.fcr,
      transfer_rate: c.transferRate,
    };
  },
  shares: {
    service_level: (c) => ({ numerator: c.answeredWithinServiceLevel, denominator: c.answered + c.abandoned }),
    abandonment_rate: (c) => ({ numerator: c.abandoned, denominator: c.answered + c.abandoned }),
    fcr: (c) => ({ numerator: c.resolvedFirstContact, denominator: c.resolutionReported }),
    transfer_rate: (c) => ({ numerator: c.transferred, denominator: c.transfersReported }),
  },
};
