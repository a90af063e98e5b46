import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY, type Harness, type ProbeMinute, seedOrganisation, seedProbeMinutes, startHarness } from './harness.ts';

/**
 * Issue 14 parts 3 and 4, through the API:
 *
 * - a goal whose feed has no data when its period ends is not_measured, never missed, and
 *   the next cycle's results say so;
 * - the id of the next cycle, when given, is the id it gets (or 409 when taken);
 * - an action has a due date inside its cycle and an owner from its department (or one
 *   allowed explicitly), may carry its own metric, and is measured over two windows of
 *   the same stated length: before it started, after it was done — the after reading
 *   waits until its window is over.
 *
 * Data: one probe_kpi_1m row per day at noon for broadband, 1000 attempts:
 *   north  Dec 20 – Jan 9: 990 successes;  Jan 10 – Jan 20: 998
 *   south  Dec 20 – Jan 20: 900 successes (Serviceability 0.9 throughout)
 *   east   nothing at all
 */

const T0 = Date.UTC(2026, 0, 10);
const Q1 = { startsAt: '2026-01-01T00:00:00Z', endsAt: '2026-04-01T00:00:00Z' };
let h: Harness;
let t: Record<string, string>;
const ids: Record<string, string> = {};

interface Reply {
  id: string;
  status: string;
  code: string;
  message: string;
  errors?: Array<{ field: string }>;
  version: number;
}
interface ActionReply extends Reply {
  ownerOutsideDepartment: boolean;
  metricBefore: { from: string; to: string; value: number | null; numerator: number | null; denominator: number | null };
  metricAfter: { from: string; to: string; value: number | null; numerator: number | null; denominator: number | null } | null;
}

function days(region: string, from: number, to: number, successes: (t: number) => number): ProbeMinute[] {
  const rows: ProbeMinute[] = [];
  for (let d = from; d < to; d += DAY)
    rows.push({ service: 'broadband', region, t: d + 12 * 3_600_000, attempts: 1000, successes: successes(d) });
  return rows;
}

const availability = (region: string, target = 0.99) => ({
  feed: { kind: 'availability', filters: { service: 'broadband', region } },
  comparator: '>=',
  target,
  warning: target,
  period: { type: 'calendar', calendar: 'quarter' },
});

async function activeNocGoal(title: string, metric: ReturnType<typeof availability>): Promise<string> {
  const created = await h.call<Reply>('POST', '/api/v1/department-goals', t.nocmgr, {
    orgGoalId: ids.org,
    departmentId: 'noc',
    title,
    metric,
  });
  expect(created.status, created.text).toBe(201);
  await h.call('POST', `/api/v1/department-goals/${created.body.id}/submit`, t.nocmgr, {});
  await h.call('POST', `/api/v1/department-goals/${created.body.id}/verify`, t.cto, {});
  const active = await h.call<Reply>('POST', `/api/v1/department-goals/${created.body.id}/activate`, t.nocmgr, {});
  expect(active.body.status).toBe('active');
  return created.body.id;
}

beforeAll(async () => {
  h = await startHarness(T0);
  t = await seedOrganisation(h);
  const start = Date.UTC(2025, 11, 20);
  const end = Date.UTC(2026, 0, 21);
  await seedProbeMinutes(h.store, [
    ...days('north', start, end, (d) => (d < T0 ? 990 : 998)),
    ...days('south', start, end, () => 900),
  ]);
  ids.cycle = (await h.call<Reply>('POST', '/api/v1/cycles', t.planner, { id: 'q1-2026', name: '2026-Q1', ...Q1 })).body.id;
  const session = await h.call<Reply>('POST', '/api/v1/strategy-sessions', t.planner, {
    cycleId: ids.cycle,
    participantIds: ['ceo'],
  });
  ids.org = (
    await h.call<Reply>('POST', '/api/v1/org-goals', t.planner, {
      strategySessionId: session.body.id,
      title: 'Available broadband',
      ownerId: 'ceo',
      metric: availability('north'),
    })
  ).body.id;
  ids.north = await activeNocGoal('North available', availability('north'));
  ids.east = await activeNocGoal('East available (no probes yet)', availability('east'));
}, 120_000);

afterAll(async () => {
  await h?.close();
});

describe('measurable actions', () => {
  it('refuse a due date outside the cycle, naming the cycle’s dates', async () => {
    const res = await h.call<Reply>('POST', `/api/v1/department-goals/${ids.north}/actions`, t.nocmgr, {
      title: 'Swap optics',
      ownerId: 'noc1',
      dueDate: '2026-04-01',
    });
    expect([res.status, res.body.code, res.body.errors?.[0]?.field]).toEqual([400, 'DUE_OUTSIDE_CYCLE', 'body.dueDate']);
    expect(res.body.message).toContain('2026-01-01 to 2026-03-31');
  });

  it('take owners from the goal’s department, or from outside only when allowed explicitly', async () => {
    const body = { title: 'Ask care to call affected customers', ownerId: 'cco', dueDate: '2026-02-01' };
    const refused = await h.call<Reply>('POST', `/api/v1/department-goals/${ids.north}/actions`, t.nocmgr, body);
    expect([refused.status, refused.body.code]).toEqual([400, 'OWNER_NOT_ALLOWED']);
    const allowed = await h.call<ActionReply>('POST', `/api/v1/department-goals/${ids.north}/actions`, t.nocmgr, {
      ...body,
      ownerOutsideDepartment: true,
    });
    expect([allowed.status, allowed.body.ownerOutsideDepartment]).toEqual([201, true]);
  });

  it('refuse an own metric on a feed that does not exist, with 400', async () => {
    const res = await h.call<Reply>('POST', `/api/v1/department-goals/${ids.north}/actions`, t.nocmgr, {
      title: 'Tune the queue',
      ownerId: 'noc1',
      dueDate: '2026-02-01',
      metric: { feed: { kind: 'kpi', name: 'no_such_kpi', filters: {} }, comparator: '<=', target: 1 },
    });
    expect([res.status, res.body.code]).toEqual([400, 'UNKNOWN_FEED']);
  });

  it('measure their own metric before the start and after the end over equal windows; the after waits for its window', async () => {
    // Own metric: south Serviceability; window 5 days; started Jan 3.
    const created = await h.call<ActionReply>('POST', `/api/v1/department-goals/${ids.north}/actions`, t.noc1, {
      title: 'Re-route south traffic',
      ownerId: 'noc1',
      dueDate: '2026-01-31',
      status: 'in_progress',
      window: '5d',
      startedAt: '2026-01-03T00:00:00Z',
      metric: {
        feed: { kind: 'serviceability', filters: { service: 'broadband', region: 'south' } },
        comparator: '>=',
        target: 0.95,
      },
    });
    expect(created.status, created.text).toBe(201);
    // Dec 29 – Jan 2 south: 5 × 900 / 5 × 1000.
    const b = created.body.metricBefore;
    expect([b.from, b.to, b.value, b.numerator, b.denominator]).toEqual([
      '2025-12-29T00:00:00.000Z',
      '2026-01-03T00:00:00.000Z',
      0.9,
      4500,
      5000,
    ]);
    // Done Jan 8: the window Jan 8 – 13 is still filling on Jan 10, so there is no "after" yet.
    const done = await h.call<ActionReply>('PATCH', `/api/v1/actions/${created.body.id}`, t.noc1, {
      version: created.body.version,
      status: 'done',
      doneAt: '2026-01-08T00:00:00Z',
    });
    expect([done.status, done.body.metricAfter]).toEqual([200, null]);
    await h.goals.runOnce();
    const pending = await h.call<{ items: ActionReply[] }>('GET', `/api/v1/department-goals/${ids.north}/actions`, t.noc1);
    expect(pending.body.items.find((a) => a.id === created.body.id)?.metricAfter).toBeNull();
    // On Jan 13 the window is over: the evaluator reads Jan 8 – 12 south, 5 × 900 / 5 × 1000.
    h.clock.now = Date.UTC(2026, 0, 13);
    await h.goals.runOnce();
    const list = await h.call<{ items: ActionReply[] }>('GET', `/api/v1/department-goals/${ids.north}/actions`, t.noc1);
    const after = list.body.items.find((a) => a.id === created.body.id)?.metricAfter;
    expect([after?.from, after?.to, after?.value, after?.numerator, after?.denominator]).toEqual([
      '2026-01-08T00:00:00.000Z',
      '2026-01-13T00:00:00.000Z',
      0.9,
      4500,
      5000,
    ]);
  });

  it('without an own metric, are measured on the goal’s feed (north Availability)', async () => {
    const created = await h.call<ActionReply>('POST', `/api/v1/department-goals/${ids.north}/actions`, t.noc1, {
      title: 'Replace the north switch',
      ownerId: 'noc1',
      dueDate: '2026-01-31',
      status: 'done',
      window: '2d',
      startedAt: '2026-01-08T00:00:00Z',
      doneAt: '2026-01-10T00:00:00Z',
    });
    // Before Jan 6 – 7: 2 × 990; after Jan 10 – 11: 2 × 998 (over by Jan 13).
    expect([created.body.metricBefore.numerator, created.body.metricBefore.denominator]).toEqual([1980, 2000]);
    expect([created.body.metricAfter?.numerator, created.body.metricAfter?.denominator]).toEqual([1996, 2000]);
  });
});

describe('judging at the end of the cycle', () => {
  it('a goal with no data at all is not_measured, never missed; the next cycle takes the id it is given', async () => {
    h.clock.now = Date.UTC(2026, 3, 1);
    const taken = await h.call<Reply>('POST', `/api/v1/cycles/${ids.cycle}/next`, t.planner, { id: 'q1-2026', name: 'Q2' });
    expect([taken.status, taken.body.code]).toEqual([409, 'ALREADY_EXISTS']);
    const next = await h.call<{
      cycle: { id: string };
      results: Array<{ goalId: string; statusAfter: string; evaluation: { status: string; value: number | null } }>;
      summary: Record<string, number>;
    }>('POST', `/api/v1/cycles/${ids.cycle}/next`, t.planner, { id: 'q2-2026', name: '2026-Q2' });
    expect(next.status, next.text).toBe(201);
    expect(next.body.cycle.id).toBe('q2-2026');
    const east = next.body.results.find((r) => r.goalId === ids.east);
    expect([east?.statusAfter, east?.evaluation.status, east?.evaluation.value]).toEqual(['not_measured', 'not_measured', null]);
    // North: Jan 1 – 9 at 990 and Jan 10 – 20 at 998 → (9 × 990 + 11 × 998) / 20 000 = 19888 / 20000 ≥ 0.99.
    const north = next.body.results.find((r) => r.goalId === ids.north);
    expect([north?.statusAfter, north?.evaluation.value]).toEqual(['achieved', 19888 / 20000]);
    expect(next.body.summary.notMeasured).toBe(1);
    expect(next.body.summary.missed).toBe(0);
  });
});
