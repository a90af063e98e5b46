import { createHash } from 'node:crypto';
import type { SignalScore } from './score.ts';
import type { IncidentSettings, SignalId } from './settings.ts';
import type { SignalKind } from './signals.ts';

/**
 * The incident state machine of one (service, region), a pure fold over its scored
 * minutes in time order.
 *
 * - Opens at a minute when a network signal is anomalous (Availability; Serviceability
 *   too unless planned maintenance is in force), or at least `customerSignalsToOpen`
 *   customer signals that may open one are — unless planned maintenance is in force or
 *   ended less than `maintenanceAftermathMinutes` ago (customers react to planned work).
 * - Its start is the first anomalous minute: the opening minute, or an earlier one of the
 *   `lookbackMinutes` before it where a signal was already anomalous.
 * - Groups every signal that turns anomalous within `horizonMinutes` of the start: its
 *   first anomalous minute (lead/lag from the start), its peak against baseline.
 * - Resolves when no signal that can open one has been anomalous for `resolveAfterMinutes`
 *   minutes (slow signals such as NPS only corroborate); the resolution is the minute after
 *   the last such anomalous minute.
 * - Maintenance declared only after it started (retroactive) does not stop an incident; it
 *   is flagged on it.
 *
 * The id is a hash of (service, region, start), so recomputing from the stored minutes
 * after a restart gives the same incidents with the same ids.
 */

export interface MinuteEvidence {
  minute: number;
  scores: readonly SignalScore[];
  maintenance: { planned: boolean; retroactive: boolean; ids?: readonly string[] };
}

export interface IncidentSignal {
  signal: SignalId;
  kind: SignalKind;
  firstAnomalous: number;
  /** Minutes from the incident's start to this signal's first anomalous minute. */
  lagMinutes: number;
  anomalousMinutes: number;
  peak: { minute: number; value: number; baseline: number; spread: number; score: number; reason: string };
}

export interface Incident {
  id: string;
  service: string;
  region: string;
  status: 'open' | 'resolved';
  start: number;
  openedAt: number;
  /** Minute after the last anomalous minute, once resolved. */
  resolvedAt: number | null;
  lastAnomalous: number;
  /** Signals in the order they turned anomalous. */
  signals: IncidentSignal[];
  trigger: string;
  maintenance: { retroactive: boolean; plannedInForce: boolean; ids: string[] };
  customersAffected: { count: number | null; reason: string };
  /** The last minute evaluated: rows of the same id with a higher version replace older ones. */
  version: number;
}

const MINUTE = 60_000;

export const incidentId = (service: string, region: string, start: number): string =>
  createHash('sha256').update(`${service}\u0000${region}\u0000${start}`).digest('hex').slice(0, 16);

export const CUSTOMERS_NOT_AVAILABLE =
  'not available: the per-minute read model keeps sums of events, not customer ids, so distinct customers cannot be counted';

export type SignalKinds = Record<SignalId, SignalKind>;

export interface IncidentMachineOptions {
  service: string;
  region: string;
  settings: IncidentSettings;
  kinds: SignalKinds;
}

export class IncidentMachine {
  private open: Incident | undefined;
  private readonly done: Incident[] = [];
  /** The last minutes, each marked when planned maintenance (or its aftermath) explains it. */
  private readonly recent: Array<{ e: MinuteEvidence; excused: boolean }> = [];
  private lastPlannedMinute = Number.NEGATIVE_INFINITY;

  constructor(private readonly o: IncidentMachineOptions) {}

  /** Feeds the next minute (minutes in order, one each). Returns the incident touched, if any. */
  step(e: MinuteEvidence): Incident | undefined {
    const s = this.o.settings;
    if (e.maintenance.planned) this.lastPlannedMinute = e.minute;
    this.recent.push({ e, excused: this.excused(e) });
    while (this.recent.length > s.lookbackMinutes + 1) this.recent.shift();

    const anomalous = e.scores.filter((x) => x.anomalous);
    if (this.open) {
      const incident = this.open;
      for (const x of anomalous) this.join(incident, x);
      // Slow signals (surveys, canOpen: false) corroborate; they do not hold an incident open
      // for the hour customers stay unhappy after the network is back.
      if (anomalous.some((x) => s.signals[x.signal].canOpen)) incident.lastAnomalous = e.minute;
      this.noteMaintenance(incident, e);
      incident.version = e.minute;
      if (e.minute - incident.lastAnomalous >= s.resolveAfterMinutes * MINUTE) {
        incident.status = 'resolved';
        incident.resolvedAt = incident.lastAnomalous + MINUTE;
        this.done.push(incident);
        this.open = undefined;
      }
      return incident;
    }

    const trigger = this.trigger(e, anomalous);
    if (!trigger) return undefined;
    // Customers reacting to planned work just before do not move the start back.
    const earlier = this.recent.slice(0, -1).find((m) => !m.excused && m.e.scores.some((x) => x.anomalous));
    const start = earlier?.e.minute ?? e.minute;
    const incident: Incident = {
      id: incidentId(this.o.service, this.o.region, start),
      service: this.o.service,
      region: this.o.region,
      status: 'open',
      start,
      openedAt: e.minute,
      resolvedAt: null,
      lastAnomalous: e.minute,
      signals: [],
      trigger,
      maintenance: { retroactive: false, plannedInForce: false, ids: [] },
      customersAffected: { count: null, reason: CUSTOMERS_NOT_AVAILABLE },
      version: e.minute,
    };
    for (const { e: m, excused } of this.recent) {
      if (m.minute < start || (excused && m !== e)) continue;
      for (const x of m.scores) if (x.anomalous) this.join(incident, x);
      this.noteMaintenance(incident, m);
    }
    this.open = incident;
    return incident;
  }

  /** Why this minute opens an incident, or undefined. */
  private trigger(e: MinuteEvidence, anomalous: readonly SignalScore[]): string | undefined {
    const s = this.o.settings;
    const planned = e.maintenance.planned;

    const network = anomalous.filter(
      (x) => this.o.kinds[x.signal] === 'network' && !(planned && x.signal === 'serviceability') && s.signals[x.signal].canOpen,
    );
    if (network.length > 0) return `network: ${network.map((x) => x.signal).join(', ')} anomalous`;
    if (this.excused(e)) return undefined;
    const customer = anomalous.filter((x) => this.o.kinds[x.signal] === 'customer' && s.signals[x.signal].canOpen);
    if (customer.length >= s.customerSignalsToOpen)
      return `customers: ${customer.map((x) => x.signal).join(', ')} anomalous in the same minute`;
    return undefined;
  }

  /** Planned maintenance in force, or ended at most `maintenanceAftermathMinutes` ago. */
  private excused(e: MinuteEvidence): boolean {
    return e.maintenance.planned || e.minute - this.lastPlannedMinute <= this.o.settings.maintenanceAftermathMinutes * MINUTE;
  }

  private join(incident: Incident, x: SignalScore): void {
    if (x.value === null || x.baseline === null || x.spread === null || x.score === null) return;
    const peak = { minute: x.minute, value: x.value, baseline: x.baseline, spread: x.spread, score: x.score, reason: x.reason };
    const known = incident.signals.find((g) => g.signal === x.signal);
    if (known) {
      known.anomalousMinutes += 1;
      if (x.score > known.peak.score) known.peak = peak;
      return;
    }
    if (x.minute - incident.start > this.o.settings.horizonMinutes * MINUTE) return;
    incident.signals.push({
      signal: x.signal,
      kind: this.o.kinds[x.signal],
      firstAnomalous: x.minute,
      lagMinutes: (x.minute - incident.start) / MINUTE,
      anomalousMinutes: 1,
      peak,
    });
    incident.signals.sort((a, b) => a.firstAnomalous - b.firstAnomalous);
  }

  private noteMaintenance(incident: Incident, e: MinuteEvidence): void {
    if (e.maintenance.retroactive) incident.maintenance.retroactive = true;
    if (e.maintenance.planned) incident.maintenance.plannedInForce = true;
    for (const id of e.maintenance.ids ?? []) if (!incident.maintenance.ids.includes(id)) incident.maintenance.ids.push(id);
  }

  /** Every incident so far: resolved ones, then the open one. */
  incidents(): Incident[] {
    return this.open ? [...this.done, this.open] : [...this.done];
  }
}

/** Incidents of one key from its minutes in order: the same minutes give the same incidents. */
export function deriveIncidents(o: IncidentMachineOptions, minutes: Iterable<MinuteEvidence>): Incident[] {
  const machine = new IncidentMachine(o);
  for (const m of minutes) machine.step(m);
  return machine.incidents();
}
