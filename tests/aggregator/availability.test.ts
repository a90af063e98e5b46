import { describe, expect, it } from 'vitest';
import { MaintenanceRegistry } from '../../services/aggregator/maintenance-registry.ts';
import { classify, type ProbeWindowState, probeFamily, probeKey } from '../../services/families/probe/binding.ts';
import type { ProbeRecord } from '../../services/families/probe/source.ts';
import {
  availability,
  isRetroactive,
  type MaintenanceWindow,
  maintenanceCover,
  serviceability,
} from '../../services/shared/kpi/availability.ts';

const T = Date.UTC(2026, 10, 23, 10, 0, 0); // a window [T, T+60s)
const sec = (s: number) => T + s * 1000;

function probe(tsMs: number, attempts: number, successes: number): ProbeRecord {
  return {
    eventId: `e-${tsMs}-${attempts}-${successes}`,
    ts: tsMs,
    receivedAt: tsMs,
    service: 'broadband',
    region: 'north',
    segment: null,
    origin: 'network',
    probeId: 'p1',
    probeType: 'active',
    attempts,
    successes,
    latencyMs: null,
    jitterMs: null,
    packetLossPct: null,
    packetsSent: null,
    throughputKbps: null,
    mos: null,
  };
}

function windowOf(events: ProbeRecord[]): ProbeWindowState {
  const state = probeFamily.create(probeKey('broadband', 'north'), T);
  for (const e of events) probeFamily.add(state, e);
  return state;
}

function registryWith(...windows: MaintenanceWindow[]): MaintenanceRegistry {
  const r = new MaintenanceRegistry();
  for (const w of windows) r.upsert(w);
  return r;
}

const planned = (startS: number, endS: number, region: string | null = 'north'): MaintenanceWindow => ({
  maintenanceId: `m-${startS}-${endS}`,
  service: 'broadband',
  region,
  startMs: sec(startS),
  endMs: sec(endS),
  declaredAtMs: sec(startS) - 3_600_000,
});

describe('Serviceability and Availability on hand-computed windows', () => {
  it('a window with no maintenance: both are successes / attempts', () => {
    // 4 single tests (3 ok) + a counter sample of 10 attempts with 7 successes = 10 / 14.
    const state = windowOf([
      probe(sec(1), 1, 1),
      probe(sec(2), 1, 1),
      probe(sec(3), 1, 0),
      probe(sec(4), 1, 1),
      probe(sec(5), 10, 7),
    ]);
    const c = classify(state, registryWith());
    expect(c).toEqual({
      attempts: 14,
      successes: 10,
      plannedAttempts: 0,
      plannedSuccesses: 0,
      retroAttempts: 0,
      retroSuccesses: 0,
    });
    expect(serviceability(c)).toBe(10 / 14);
    expect(availability(c, { excuseRetroactive: false })).toBe(10 / 14);
  });

  it('a window entirely inside planned maintenance: Availability has no value, Serviceability counts it', () => {
    const state = windowOf([probe(sec(0), 1, 0), probe(sec(30), 20, 2), probe(sec(59.999), 1, 0)]);
    const c = classify(state, registryWith(planned(-600, 600)));
    expect(c.attempts).toBe(22);
    expect(c.plannedAttempts).toBe(22);
    expect(serviceability(c)).toBe(2 / 22);
    expect(availability(c, { excuseRetroactive: false })).toBeNull();
  });

  it('a partially planned window: only results inside [start, end) are excused', () => {
    // Maintenance [T+20s, T+40s). Outside: t=5 (10 att, 10 ok), t=45 (10 att, 9 ok), t=40 (1, ok: end is exclusive).
    // Inside: t=20 (10 att, 0 ok), t=39.999 (1, fail).
    const state = windowOf([
      probe(sec(5), 10, 10),
      probe(sec(20), 10, 0),
      probe(sec(39.999), 1, 0),
      probe(sec(40), 1, 1),
      probe(sec(45), 10, 9),
    ]);
    const c = classify(state, registryWith(planned(20, 40)));
    expect(c).toEqual({
      attempts: 32,
      successes: 20,
      plannedAttempts: 11,
      plannedSuccesses: 0,
      retroAttempts: 0,
      retroSuccesses: 0,
    });
    expect(serviceability(c)).toBe(20 / 32);
    expect(availability(c, { excuseRetroactive: false })).toBe(20 / 21);
  });

  it('a retroactive declaration is reported but does not excuse downtime by default', () => {
    const retro: MaintenanceWindow = { ...planned(0, 60), declaredAtMs: sec(30) };
    expect(isRetroactive(retro)).toBe(true);
    const state = windowOf([probe(sec(10), 10, 2), probe(sec(50), 10, 4)]);
    const c = classify(state, registryWith(retro));
    expect(c).toEqual({
      attempts: 20,
      successes: 6,
      plannedAttempts: 0,
      plannedSuccesses: 0,
      retroAttempts: 20,
      retroSuccesses: 6,
    });
    expect(availability(c, { excuseRetroactive: false })).toBe(6 / 20);
    expect(serviceability(c)).toBe(6 / 20);
    // Configured to excuse it: the whole window is excused.
    expect(availability(c, { excuseRetroactive: true })).toBeNull();
  });

  it('counter samples mixed with single tests, half the window planned', () => {
    // Planned [T, T+30s). Inside: single ok, single fail, counter 50/25. Outside: counter 100/99, single ok.
    const state = windowOf([
      probe(sec(1), 1, 1),
      probe(sec(2), 1, 0),
      probe(sec(10), 50, 25),
      probe(sec(31), 100, 99),
      probe(sec(59), 1, 1),
    ]);
    const c = classify(state, registryWith(planned(0, 30)));
    expect(c.attempts).toBe(153);
    expect(c.successes).toBe(126);
    expect(c.plannedAttempts).toBe(52);
    expect(c.plannedSuccesses).toBe(26);
    expect(serviceability(c)).toBe(126 / 153);
    expect(availability(c, { excuseRetroactive: false })).toBe(100 / 101);
  });

  it('maintenance for every region (region null) covers any region; another service does not', () => {
    const all = planned(0, 60, null);
    expect(maintenanceCover(sec(10), 'broadband', 'south', [all])).toBe('planned');
    expect(maintenanceCover(sec(10), 'voice', 'south', [all])).toBe('none');
    expect(maintenanceCover(sec(10), 'broadband', 'south', [planned(0, 60, 'north')])).toBe('none');
  });

  it('an advance declaration wins over an overlapping retroactive one', () => {
    const retro: MaintenanceWindow = { ...planned(0, 60), maintenanceId: 'r', declaredAtMs: sec(30) };
    expect(maintenanceCover(sec(10), 'broadband', 'north', [retro, planned(0, 20)])).toBe('planned');
    expect(maintenanceCover(sec(25), 'broadband', 'north', [retro, planned(0, 20)])).toBe('retroactive');
  });

  it('a window with no attempts has neither ratio', () => {
    const c = classify(windowOf([]), registryWith());
    expect(serviceability(c)).toBeNull();
    expect(availability(c, { excuseRetroactive: false })).toBeNull();
  });

  it('a corrected declaration of the same id replaces the earlier one; an older one is ignored', () => {
    const r = new MaintenanceRegistry();
    r.upsert({ ...planned(0, 60), maintenanceId: 'x', declaredAtMs: sec(-100) });
    const newer = r.upsert({ ...planned(0, 30), maintenanceId: 'x', declaredAtMs: sec(-50) });
    expect(newer.changed).toBe(true);
    const older = r.upsert({ ...planned(0, 60), maintenanceId: 'x', declaredAtMs: sec(-200) });
    expect(older.changed).toBe(false);
    expect([...r.forService('broadband')].map((m) => m.endMs)).toEqual([sec(30)]);
  });
});
