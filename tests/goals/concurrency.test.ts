import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, seedOrganisation, startHarness } from './harness.ts';

/**
 * Optimistic concurrency: edits name the version they read. Concurrent edits of the same
 * version — exactly one wins, the others get 409 STALE_VERSION, and the audit trail holds
 * every accepted change with its before and after.
 */

const T0 = Date.UTC(2026, 0, 5);
let h: Harness;
let tokens: Record<string, string>;
let goalId: string;

interface Goal {
  id: string;
  version: number;
  title: string;
  status: string;
  description: string;
}
interface Change {
  version: number;
  action: string;
  actorId: string;
  before: Goal | null;
  after: Goal;
  changedFields: string[];
}

const metric = {
  feed: { kind: 'serviceability', filters: { service: 'broadband' } },
  comparator: '>=',
  target: 0.99,
  warning: 0.995,
  period: { type: 'rolling', duration: '7d' },
};

beforeAll(async () => {
  h = await startHarness(T0);
  tokens = await seedOrganisation(h);
  const cycle = await h.call<{ id: string }>('POST', '/api/v1/cycles', tokens.planner, {
    name: '2026-Q1',
    startsAt: '2026-01-01T00:00:00Z',
    endsAt: '2026-04-01T00:00:00Z',
  });
  const session = await h.call<{ id: string }>('POST', '/api/v1/strategy-sessions', tokens.planner, {
    cycleId: cycle.body.id,
    participantIds: ['ceo'],
  });
  const org = await h.call<{ id: string }>('POST', '/api/v1/org-goals', tokens.planner, {
    strategySessionId: session.body.id,
    title: 'Reliable broadband',
    ownerId: 'ceo',
    metric,
  });
  const goal = await h.call<Goal>('POST', '/api/v1/department-goals', tokens.nocmgr, {
    orgGoalId: org.body.id,
    departmentId: 'noc',
    title: 'Original title',
    metric,
  });
  expect(goal.status).toBe(201);
  goalId = goal.body.id;
}, 120_000);

afterAll(async () => {
  await h?.close();
});

describe('two edits with the same version', () => {
  it('exactly one wins, the other gets 409 STALE_VERSION, and nothing is lost from the audit trail', async () => {
    const [a, b] = await Promise.all([
      h.call<Goal>('PATCH', `/api/v1/department-goals/${goalId}`, tokens.nocmgr, { version: 1, title: 'Edit by the manager' }),
      h.call<{ code: string; message: string }>('PATCH', `/api/v1/department-goals/${goalId}`, tokens.noc1, {
        version: 1,
        title: 'Edit by the engineer',
      }),
    ]);
    const statuses = [a.status, b.status].sort();
    expect(statuses).toEqual([200, 409]);
    const winner =
      a.status === 200 ? { title: 'Edit by the manager', actor: 'nocmgr' } : { title: 'Edit by the engineer', actor: 'noc1' };
    const loser = a.status === 200 ? b : a;
    expect((loser.body as { code: string }).code).toBe('STALE_VERSION');
    expect((loser.body as { message: string }).message).toContain('is at version 2, not 1');

    const now = await h.call<Goal>('GET', `/api/v1/department-goals/${goalId}`, tokens.nocmgr);
    expect(now.body.version).toBe(2);
    expect(now.body.title).toBe(winner.title);

    const audit = await h.call<{ items: Change[] }>('GET', `/api/v1/goals/${goalId}/audit`, tokens.nocmgr);
    expect(audit.body.items.map((c) => [c.version, c.action, c.actorId])).toEqual([
      [1, 'department_goal.create', 'nocmgr'],
      [2, 'department_goal.update', winner.actor],
    ]);
    expect(audit.body.items[1]?.before?.title).toBe('Original title');
    expect(audit.body.items[1]?.after.title).toBe(winner.title);
    expect(audit.body.items[1]?.changedFields).toEqual(['title']);
  });

  it('the loser re-reads, re-applies and wins with the current version; the trail keeps both edits', async () => {
    const retry = await h.call<Goal>('PATCH', `/api/v1/department-goals/${goalId}`, tokens.noc1, {
      version: 2,
      description: 'Re-applied after 409',
    });
    expect(retry.status).toBe(200);
    expect(retry.body.version).toBe(3);
    const audit = await h.call<{ items: Change[] }>('GET', `/api/v1/goals/${goalId}/audit`, tokens.nocmgr);
    expect(audit.body.items.map((c) => c.version)).toEqual([1, 2, 3]);
    expect(audit.body.items[2]?.before?.description).toBe('');
    expect(audit.body.items[2]?.after.description).toBe('Re-applied after 409');
  });

  it('ten concurrent edits of one version: one 200 and nine 409, one new version', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        h.call('PATCH', `/api/v1/department-goals/${goalId}`, tokens.nocmgr, { version: 3, title: `Racer ${i}` }),
      ),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409 && (r.body as { code: string }).code === 'STALE_VERSION')).toHaveLength(9);
    const audit = await h.call<{ items: Change[] }>('GET', `/api/v1/goals/${goalId}/audit`, tokens.nocmgr);
    expect(audit.body.items.map((c) => c.version)).toEqual([1, 2, 3, 4]);
  });

  it('two concurrent submits without a version: the second finds the goal submitted (409 INVALID_TRANSITION)', async () => {
    const results = await Promise.all([
      h.call('POST', `/api/v1/department-goals/${goalId}/submit`, tokens.nocmgr, {}),
      h.call('POST', `/api/v1/department-goals/${goalId}/submit`, tokens.noc1, {}),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    const refused = results.find((r) => r.status === 409)?.body as { code: string; message: string } | undefined;
    expect(refused?.code).toBe('INVALID_TRANSITION');
    expect(refused?.message).toBe('Cannot submit a goal that is submitted: submit is allowed only from draft or rejected.');
    const goal = await h.call<Goal & { verifications: unknown[] }>('GET', `/api/v1/department-goals/${goalId}`, tokens.nocmgr);
    expect(goal.body.version).toBe(5);
    expect(goal.body.verifications).toHaveLength(1);
  });

  it('a transition with a stale version is refused too', async () => {
    const r = await h.call<{ code: string }>('POST', `/api/v1/department-goals/${goalId}/verify`, tokens.cto, { version: 4 });
    expect(r.status).toBe(409);
    expect(r.body.code).toBe('STALE_VERSION');
  });
});
