import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pipeline } from '../../services/app.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { Simulator } from '../../services/simulator/simulator.ts';
import { allConsumed, eventually, getJson, startTestPipeline } from '../support/pipeline.ts';

/**
 * Issue 14's end-to-end cycle on the embedded pipeline (Kafka mock, aggregator, chDB,
 * API, goals) with simulator data: an hour of simulated history lands, and a cycle over
 * the last whole half-hour of it runs from the strategy session to the next cycle —
 *
 *   org goal        broadband CSI ≥ 50
 *   Network Ops     broadband/north Availability ≥ 0.9 (rejected, edited, resubmitted, verified by the up-line manager)
 *   Customer Care   abandonment_rate ≤ 0.5 and nps ≥ −100 (verified by the CEO, their up-line)
 *   an action with its own metric (broadband/north Serviceability), a commitment session
 *   with an acknowledgement, the evaluation, and the next cycle.
 *
 * Every value a goal, a baseline or an action shows is compared with what the read API
 * (/api/v1/csi, /kpis, /availability) gives for the same window. The evaluator's timer is
 * stopped so that the test, not the clock, decides when goals are judged.
 */

const MIN = 60_000;
const HALF_HOUR = 30 * MIN;
let p: Pipeline;
let admin: string;
let A: number; // the cycle is [A, A + 30 min), a whole half-hour so the API's 30m bucket is the same window
const tokens: Record<string, string> = {};
const ids: Record<string, string> = {};

interface Reply {
  id: string;
  status: string;
  version: number;
  code?: string;
  baseline: { value: number | null };
  token: string;
}

async function call<T = Reply>(
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${p.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as T };
}

async function ok<T = Reply>(method: string, path: string, token: string, body?: unknown): Promise<T> {
  const res = await call<T>(method, path, token, body);
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

const range = (from: number, to: number) => `from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`;

/** What the read API gives over [from, to) for each feed the cycle uses. */
async function api(from: number, to: number) {
  const step = `step=${(to - from) / MIN}m`;
  const csi = await getJson<{ buckets: Array<{ csi: number | null }> }>(
    `${p.url}/api/v1/csi?service=broadband&${range(from, to)}&${step}`,
  );
  const kpis = await getJson<{ buckets: Array<{ kpis: Record<string, number | null> }> }>(
    `${p.url}/api/v1/kpis?${range(from, to)}&${step}`,
  );
  const north = await getJson<{ total: { availability: number | null; serviceability: number | null; attempts: number } }>(
    `${p.url}/api/v1/availability?service=broadband&region=north&${range(from, to)}&${step}`,
  );
  return {
    csi: csi.body.buckets[0]?.csi ?? null,
    abandonment: kpis.body.buckets[0]?.kpis.abandonment_rate ?? null,
    nps: kpis.body.buckets[0]?.kpis.nps ?? null,
    availability: north.body.total.availability,
    serviceability: north.body.total.serviceability,
    attempts: north.body.total.attempts,
  };
}

const metric = (feed: object, comparator: string, target: number, warning: number) => ({
  feed,
  comparator,
  target,
  warning,
  period: { type: 'calendar', calendar: 'cycle' },
});

beforeAll(async () => {
  p = await startTestPipeline();
  await p.goals?.stop();
  admin = p.goalsDemoToken ?? '';
  const now = Math.floor(Date.now() / MIN) * MIN;
  const sim = new Simulator({
    log: silentLogger,
    historyMinutes: 60,
    seed: 14,
    now: () => now,
    submit: async (source, events) => {
      await p.ingest.ingest(
        source,
        { items: events.map((value, index) => ({ index, value })), errors: [], count: events.length },
        { mayBackdate: true },
      );
    },
  });
  await sim.start({ seedHistory: true });
  await sim.stop();
  A = Math.ceil((now - 60 * MIN) / HALF_HOUR) * HALF_HOUR;
  // The history has landed when the aggregator has every message the simulator produced
  // (its posts land apart, over several partitions)...
  await allConsumed(p.url, 120_000);
  // ...and, their flush done, the cycle's feeds read and the counts stop moving.
  let last = -1;
  await eventually(
    'the simulated half-hour to land',
    async () => {
      const v = await api(A, A + HALF_HOUR);
      const settled = v.attempts > 0 && v.attempts === last && v.abandonment !== null && v.nps !== null && v.csi !== null;
      last = v.attempts;
      return settled ? v : undefined;
    },
    120_000,
  );

  for (const d of [
    { id: 'company', name: 'Company', parentId: null },
    { id: 'network', name: 'Network', parentId: 'company' },
    { id: 'noc', name: 'Network Operations', parentId: 'network' },
    { id: 'care', name: 'Customer Care', parentId: 'company' },
  ])
    await ok('POST', '/api/v1/departments', admin, { ...d, managerId: null });
  const people = [
    { id: 'ceo', role: 'manager', departmentId: 'company', manages: 'company' },
    { id: 'cto', role: 'manager', departmentId: 'network', manages: 'network' },
    { id: 'nocmgr', role: 'manager', departmentId: 'noc', manages: 'noc' },
    { id: 'noc1', role: 'staff', departmentId: 'noc' },
    { id: 'caremgr', role: 'manager', departmentId: 'care', manages: 'care' },
    { id: 'planner', role: 'planner', departmentId: 'company' },
  ];
  for (const { manages, ...person } of people) {
    await ok('POST', '/api/v1/people', admin, { ...person, name: person.id });
    tokens[person.id] = (await ok('POST', `/api/v1/people/${person.id}/tokens`, admin, { label: 'e2e' })).token;
    if (manages) {
      const dep = await ok('GET', `/api/v1/departments/${manages}`, admin);
      await ok('PATCH', `/api/v1/departments/${manages}`, admin, { managerId: person.id, version: dep.version });
    }
  }
}, 240_000);

afterAll(async () => {
  await p?.stop();
});

describe('a whole cycle on simulated data, every value equal to the read API', () => {
  it('strategy session, goals, rejection and resubmission, verification, actions, commitment, evaluation, next cycle', async () => {
    const truth = await api(A, A + HALF_HOUR);
    const t = tokens as Record<string, string>;
    ids.cycle = (
      await ok('POST', '/api/v1/cycles', t.planner ?? '', {
        id: 'e2e-1',
        name: 'E2E half-hour',
        startsAt: new Date(A).toISOString(),
        endsAt: new Date(A + HALF_HOUR).toISOString(),
      })
    ).id;
    const session = await ok<Reply & { baseline: Array<{ reading: { value: number | null } }> }>(
      'POST',
      '/api/v1/strategy-sessions',
      t.planner ?? '',
      {
        cycleId: ids.cycle,
        heldAt: new Date(A + HALF_HOUR).toISOString(),
        participantIds: ['ceo', 'cto', 'caremgr'],
        baseline: [{ label: 'Broadband CSI', feed: { kind: 'csi', filters: { service: 'broadband' } }, lookback: '30m' }],
      },
    );
    expect(session.baseline[0]?.reading.value).toBe(truth.csi);
    ids.org = (
      await ok('POST', '/api/v1/org-goals', t.planner ?? '', {
        strategySessionId: session.id,
        title: 'Broadband customers are satisfied',
        ownerId: 'ceo',
        metric: metric({ kind: 'csi', filters: { service: 'broadband' } }, '>=', 50, 55),
      })
    ).id;

    // Network Operations: rejected by the up-line manager, edited, resubmitted, verified.
    const noc = await ok('POST', '/api/v1/department-goals', t.nocmgr ?? '', {
      orgGoalId: ids.org,
      departmentId: 'noc',
      title: 'North broadband up',
      metric: metric({ kind: 'availability', filters: { service: 'broadband', region: 'north' } }, '>=', 0.9, 0.95),
    });
    ids.noc = noc.id;
    await ok('POST', `/api/v1/department-goals/${ids.noc}/submit`, t.nocmgr ?? '', {});
    expect(
      (await ok('POST', `/api/v1/department-goals/${ids.noc}/reject`, t.cto ?? '', { comment: 'name the service' })).status,
    ).toBe('rejected');
    const rejected = await ok('GET', `/api/v1/department-goals/${ids.noc}`, t.nocmgr ?? '');
    await ok('PATCH', `/api/v1/department-goals/${ids.noc}`, t.nocmgr ?? '', {
      version: rejected.version,
      title: 'North broadband Availability at least 90 %',
    });
    await ok('POST', `/api/v1/department-goals/${ids.noc}/submit`, t.nocmgr ?? '', {});
    expect((await ok('POST', `/api/v1/department-goals/${ids.noc}/verify`, t.cto ?? '', {})).status).toBe('verified');

    // Customer Care, verified by the CEO (the manager above care).
    for (const [key, feed, comparator, target, warning] of [
      ['abandonment', { kind: 'kpi', name: 'abandonment_rate', filters: {} }, '<=', 0.5, 0.4],
      ['nps', { kind: 'kpi', name: 'nps', filters: {} }, '>=', -100, -50],
    ] as const) {
      const g = await ok('POST', '/api/v1/department-goals', t.caremgr ?? '', {
        orgGoalId: ids.org,
        departmentId: 'care',
        title: `Care ${key}`,
        metric: metric(feed, comparator, target, warning),
      });
      ids[key] = g.id;
      await ok('POST', `/api/v1/department-goals/${g.id}/submit`, t.caremgr ?? '', {});
      expect((await call('POST', `/api/v1/department-goals/${g.id}/verify`, t.cto ?? '', {})).body.code).toBe(
        'NOT_UPLINE_MANAGER',
      );
      expect((await ok('POST', `/api/v1/department-goals/${g.id}/verify`, t.ceo ?? '', {})).status).toBe('verified');
    }
    for (const [key, token] of [
      ['noc', t.nocmgr],
      ['abandonment', t.caremgr],
      ['nps', t.caremgr],
    ] as const)
      expect((await ok('POST', `/api/v1/department-goals/${ids[key]}/activate`, token ?? '', {})).status).toBe('active');

    // An action with its own metric: north Serviceability 10 min before it started, 10 min after it was done.
    const action = await ok<{
      metricBefore: { value: number | null };
      metricAfter: { value: number | null } | null;
    }>('POST', `/api/v1/department-goals/${ids.noc}/actions`, t.noc1 ?? '', {
      title: 'Re-route north traffic',
      ownerId: 'noc1',
      dueDate: new Date(A).toISOString().slice(0, 10),
      status: 'done',
      window: '10m',
      startedAt: new Date(A + 10 * MIN).toISOString(),
      doneAt: new Date(A + 15 * MIN).toISOString(),
      metric: {
        feed: { kind: 'serviceability', filters: { service: 'broadband', region: 'north' } },
        comparator: '>=',
        target: 0.95,
      },
    });
    expect(typeof action.metricBefore.value).toBe('number');
    expect(action.metricBefore.value).toBe((await api(A, A + 10 * MIN)).serviceability);
    expect(action.metricAfter?.value).toBe((await api(A + 15 * MIN, A + 25 * MIN)).serviceability);

    // Commitment session and an acknowledgement.
    const commitment = await ok<Reply & { staffIds: string[] }>('POST', '/api/v1/commitment-sessions', t.nocmgr ?? '', {
      cycleId: ids.cycle,
      departmentId: 'noc',
    });
    expect(commitment.staffIds).toContain('noc1');
    await ok('POST', `/api/v1/commitment-sessions/${commitment.id}/acknowledgements`, t.noc1 ?? '', {});

    // Evaluation: the period is over, each value exactly the API's for the cycle's half-hour.
    const expected: Record<string, number | null> = {
      org: truth.csi,
      noc: truth.availability,
      abandonment: truth.abandonment,
      nps: truth.nps,
    };
    for (const key of ['org', 'noc', 'abandonment', 'nps']) {
      expect([key, typeof expected[key]]).toEqual([key, 'number']);
      const e = await ok<{ value: number | null; status: string; window: { final: boolean } }>(
        'POST',
        `/api/v1/goals/${ids[key]}/evaluate`,
        t.planner ?? '',
      );
      expect([key, e.value, e.window.final], e.status).toEqual([key, expected[key], true]);
      expect(['achieved', 'missed']).toContain(e.status);
    }

    // The next cycle: judged on the same values, with the id asked for.
    const next = await ok<{
      cycle: { id: string };
      results: Array<{ goalId: string; statusAfter: string; evaluation: { value: number | null } }>;
    }>('POST', `/api/v1/cycles/${ids.cycle}/next`, t.planner ?? '', { id: 'e2e-2', name: 'E2E next' });
    expect(next.cycle.id).toBe('e2e-2');
    for (const key of ['org', 'noc', 'abandonment', 'nps']) {
      const r = next.results.find((x) => x.goalId === ids[key]);
      expect([key, r?.evaluation.value]).toEqual([key, expected[key]]);
      expect(['achieved', 'missed']).toContain(r?.statusAfter);
    }
  }, 180_000);
});
