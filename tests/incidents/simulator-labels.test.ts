import { describe, expect, it } from 'vitest';
import type { Logger } from '../../services/shared/log.ts';
import { Simulator } from '../../services/simulator/simulator.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);
const silent = { info() {}, warn() {}, error() {}, debug() {}, child: () => silent } as unknown as Logger;

describe('simulator ground truth', () => {
  it('labels every outage and maintenance window it injects, with its kind and whether it was planned', async () => {
    let clock = T0;
    const maintenance: Array<{ start: number; declaredAt: number }> = [];
    const sim = new Simulator({
      log: silent,
      now: () => clock,
      submit: async (source, events) => {
        if (source === 'maintenance') maintenance.push(...(events as Array<{ start: number; declaredAt: number }>));
      },
    });
    for (; clock < T0 + 15 * MIN; clock += 5000) await sim.step();
    // One cycle: planned work at +2..+5 declared at +0, an outage at +7..+9 declared at +8, an unplanned one at +11..+12:30.
    expect(sim.injected.map((l) => [l.kind, l.planned, (l.onset - T0) / MIN, (l.end - T0) / MIN])).toEqual([
      ['planned-maintenance', true, 2, 5],
      ['retroactive-maintenance', false, 7, 9],
      ['unplanned-outage', false, 11, 12.5],
    ]);
    // The late declaration arrived and did not add a second label.
    expect(maintenance.map((m) => [(m.start - T0) / MIN, (m.declaredAt - T0) / MIN])).toEqual([
      [2, 0],
      [7, 8],
    ]);
    await sim.stop();
  });

  it('schedules nothing with scheduleOutages: false (quiet traffic with the daily curve)', async () => {
    let clock = T0;
    const sim = new Simulator({ log: silent, now: () => clock, scheduleOutages: false, submit: async () => {} });
    for (; clock < T0 + 30 * MIN; clock += 5000) await sim.step();
    expect(sim.injected).toEqual([]);
    await sim.stop();
  });
});
