import { describe, expect, it } from 'vitest';
import {
  CUSTOMERS_NOT_AVAILABLE,
  deriveIncidents,
  type IncidentMachineOptions,
  incidentId,
  type MinuteEvidence,
} from '../../services/incidents/incidents.ts';
import type { SignalScore } from '../../services/incidents/score.ts';
import { incidentSettings, SIGNAL_IDS, type SignalId } from '../../services/incidents/settings.ts';
import { signalDefinitions } from '../../services/incidents/signals.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);
const at = (m: number) => T0 + m * MIN;

const defs = signalDefinitions({ excuseRetroactive: false });
const kinds = Object.fromEntries(SIGNAL_IDS.map((id) => [id, defs[id].kind])) as IncidentMachineOptions['kinds'];
const options = (patch: Parameters<typeof incidentSettings>[0] = {}): IncidentMachineOptions => ({
  service: 'iptv',
  region: 'east',
  settings: incidentSettings({
    resolveAfterMinutes: 3,
    lookbackMinutes: 2,
    maintenanceAftermathMinutes: 4,
    horizonMinutes: 10,
    ...patch,
  }),
  kinds,
});

/** A minute where `anomalous` maps each anomalous signal to its score (value 1 against baseline 0, spread 1). */
function minute(
  m: number,
  anomalous: Partial<Record<SignalId, number>> = {},
  maintenance: MinuteEvidence['maintenance'] = { planned: false, retroactive: false },
): MinuteEvidence {
  const scores: SignalScore[] = SIGNAL_IDS.map((signal) => {
    const score = anomalous[signal];
    return {
      signal,
      minute: at(m),
      value: score ?? 0,
      count: 10,
      baseline: 0,
      spread: 1,
      baselineKind: 'recent',
      baselineSamples: 60,
      score: score ?? 0,
      anomalous: score !== undefined,
      reason: `${signal} at minute ${m}`,
    };
  });
  return { minute: at(m), scores, maintenance };
}

const quiet = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => minute(from + i));

describe('incident state machine', () => {
  it('opens when a network signal is anomalous: start is that minute, id = hash(service, region, start)', () => {
    const [incident, ...rest] = deriveIncidents(options(), [...quiet(0, 3), minute(3, { serviceability: 30 }), minute(4)]);
    expect(rest).toEqual([]);
    expect(incident).toMatchObject({
      id: incidentId('iptv', 'east', at(3)),
      status: 'open',
      start: at(3),
      openedAt: at(3),
      resolvedAt: null,
      trigger: 'network: serviceability anomalous',
      customersAffected: { count: null, reason: CUSTOMERS_NOT_AVAILABLE },
      version: at(4),
    });
    expect(incident?.id).toMatch(/^[0-9a-f]{16}$/);
  });

  it('one customer signal opens nothing; two in one minute do, and the start goes back to the first anomalous minute', () => {
    const incidents = deriveIncidents(options(), [
      ...quiet(0, 2),
      minute(2, { contact_volume: 5 }),
      minute(3),
      minute(4, { contact_volume: 6, asa_sec: 7 }),
    ]);
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({
      start: at(2),
      openedAt: at(4),
      trigger: 'customers: contact_volume, asa_sec anomalous in the same minute',
    });
    expect(incidents[0]?.signals.map((s) => [s.signal, s.lagMinutes, s.anomalousMinutes])).toEqual([
      ['contact_volume', 0, 2],
      ['asa_sec', 2, 1],
    ]);
    expect(deriveIncidents(options(), [...quiet(0, 2), minute(2, { contact_volume: 5 }), ...quiet(3, 9)])).toEqual([]);
  });

  it('groups the signals that follow, in order, with their lag from the start and their peak against baseline', () => {
    const [incident] = deriveIncidents(options(), [
      minute(0, { serviceability: 40 }),
      minute(1, { serviceability: 45, availability: 45 }),
      minute(3, { contact_volume: 5 }),
      minute(4, { contact_volume: 9, social_volume: 4 }),
      minute(5, { contact_volume: 7, social_negative_share: 3 }),
    ]);
    expect(
      incident?.signals.map((s) => [s.signal, s.kind, s.lagMinutes, s.anomalousMinutes, s.peak.score, s.peak.minute]),
    ).toEqual([
      ['serviceability', 'network', 0, 2, 45, at(1)],
      ['availability', 'network', 1, 1, 45, at(1)],
      ['contact_volume', 'customer', 3, 3, 9, at(4)],
      ['social_volume', 'customer', 4, 1, 4, at(4)],
      ['social_negative_share', 'customer', 5, 1, 3, at(5)],
    ]);
    expect(incident?.signals[2]?.peak).toEqual({
      minute: at(4),
      value: 9,
      baseline: 0,
      spread: 1,
      score: 9,
      reason: 'contact_volume at minute 4',
    });
  });

  it('does not group a signal that first turns anomalous past the horizon from the start', () => {
    const [incident] = deriveIncidents(options({ horizonMinutes: 2 }), [
      minute(0, { serviceability: 40 }),
      minute(2, { serviceability: 40 }),
      minute(3, { serviceability: 40, nps: 4 }),
    ]);
    expect(incident?.signals.map((s) => s.signal)).toEqual(['serviceability']);
  });

  it('resolves after resolveAfterMinutes minutes with no anomalous signal, at the minute after the last anomalous one', () => {
    const evidence = [minute(0, { availability: 20 }), minute(1, { availability: 20 }), minute(2), minute(3)];
    expect(deriveIncidents(options(), evidence)[0]?.status).toBe('open');
    const [incident] = deriveIncidents(options(), [...evidence, minute(4)]);
    expect(incident).toMatchObject({ status: 'resolved', resolvedAt: at(2), lastAnomalous: at(1), version: at(4) });
    // A new outage after resolution is a new incident with its own id.
    const both = deriveIncidents(options(), [...evidence, minute(4), minute(5, { availability: 20 })]);
    expect(both.map((i) => [i.status, i.start])).toEqual([
      ['resolved', at(0)],
      ['open', at(5)],
    ]);
    expect(both[1]?.id).toBe(incidentId('iptv', 'east', at(5)));
  });

  it('planned maintenance opens no incident, nor do customers reacting to it; after the aftermath they do', () => {
    const planned = { planned: true, retroactive: false };
    const incidents = deriveIncidents(options(), [
      minute(0, { serviceability: 40 }, planned),
      minute(1, { serviceability: 40 }, planned),
      minute(2),
      minute(5, { contact_volume: 6, social_volume: 5 }), // 4 minutes after the last planned minute: aftermath
      minute(6, { contact_volume: 6, social_volume: 5 }), // 5 minutes after: an incident of its own
    ]);
    // Minute 5 is explained by the planned work, so it does not move the start back either.
    expect(incidents.map((i) => [i.start, i.openedAt, i.maintenance.plannedInForce])).toEqual([[at(6), at(6), false]]);
    expect(incidents[0]?.signals.map((x) => [x.signal, x.anomalousMinutes])).toEqual([
      ['contact_volume', 1],
      ['social_volume', 1],
    ]);
    // Availability falling during planned work (results outside its cover failing) is still an incident.
    const [real] = deriveIncidents(options(), [minute(0, { serviceability: 40, availability: 30 }, planned)]);
    expect(real).toMatchObject({ trigger: 'network: availability anomalous', maintenance: { plannedInForce: true } });
  });

  it('maintenance declared after it started does not stop an incident: the incident is flagged retroactive with the ids', () => {
    const retro = { planned: false, retroactive: true, ids: ['sim-retro-1-iptv-east'] };
    const [incident] = deriveIncidents(options(), [
      minute(0, { serviceability: 40, availability: 40 }, retro),
      minute(1, {}, retro),
    ]);
    expect(incident?.maintenance).toEqual({ retroactive: true, plannedInForce: false, ids: ['sim-retro-1-iptv-east'] });
  });

  it('is restart-safe: the incidents rebuilt from the stored minutes, from any quiet point before, are the same', () => {
    const minutes = [
      ...quiet(0, 10),
      minute(10, { serviceability: 40 }),
      minute(11, { serviceability: 40, contact_volume: 5 }),
      minute(12, { contact_volume: 8 }),
      ...quiet(13, 20),
      minute(20, { availability: 9 }),
      minute(21),
    ];
    const whole = deriveIncidents(options(), minutes);
    expect(whole.map((i) => i.status)).toEqual(['resolved', 'open']);
    // A process that starts at minute 5 (or anywhere in the quiet stretch) derives the same incidents, ids included.
    for (const from of [0, 5, 9]) expect(deriveIncidents(options(), minutes.slice(from))).toEqual(whole);
    // Fed minute by minute or all at once: the same.
    expect(JSON.stringify(deriveIncidents(options(), minutes))).toBe(JSON.stringify(whole));
  });
});
