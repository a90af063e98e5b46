import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type Harness, seedOrganisation, startHarness } from './harness.ts';

/**
 * The authorization matrix over the hierarchy (harness.ts):
 *
 *   company (ceo) ─┬─ network (cto) ─┬─ noc (nocmgr; staff noc1, noc2)
 *                  │                 └─ access (accmgr)
 *                  └─ care (cco)
 *
 * A NOC goal written by nocmgr: its up-line manager is cto; ceo is above.
 */

const T0 = Date.UTC(2026, 0, 5);
let h: Harness;
let tokens: Record<string, string>;
let orgGoalId: string;

interface Reply {
  code: string;
  message: string;
  id: string;
  status: string;
  version: number;
}

const metric = {
  feed: { kind: 'availability', filters: { service: 'broadband', region: 'north' } },
  comparator: '>=',
  target: 0.995,
  warning: 0.998,
  period: { type: 'calendar', calendar: 'quarter' },
};

async function submittedNocGoal(title: string): Promise<string> {
  const created = await h.call<Reply>('POST', '/api/v1/department-goals', tokens.nocmgr, {
    orgGoalId,
    departmentId: 'noc',
    title,
    metric,
  });
  expect(created.status).toBe(201);
  const submitted = await h.call<Reply>('POST', `/api/v1/department-goals/${created.body.id}/submit`, tokens.nocmgr, {});
  expect(submitted.body.status).toBe('submitted');
  return created.body.id;
}

beforeAll(async () => {
  h = await startHarness(T0);
  tokens = await seedOrganisation(h);
  const cycle = await h.call<Reply>('POST', '/api/v1/cycles', tokens.planner, {
    name: '2026-Q1',
    startsAt: '2026-01-01T00:00:00Z',
    endsAt: '2026-04-01T00:00:00Z',
  });
  const session = await h.call<Reply>('POST', '/api/v1/strategy-sessions', tokens.planner, {
    cycleId: cycle.body.id,
    participantIds: ['ceo', 'cto'],
  });
  const org = await h.call<Reply>('POST', '/api/v1/org-goals', tokens.planner, {
    strategySessionId: session.body.id,
    title: 'Available network',
    ownerId: 'ceo',
    metric,
  });
  orgGoalId = org.body.id;
}, 120_000);

afterAll(async () => {
  await h?.close();
});

describe('verifying a department goal', () => {
  it.each([
    ['the wrong manager (care, another branch)', 'cco', 'NOT_UPLINE_MANAGER'],
    ['a peer (the manager of the sibling department)', 'accmgr', 'NOT_UPLINE_MANAGER'],
    ['a staff member of the department', 'noc1', 'NOT_UPLINE_MANAGER'],
    ['the author', 'nocmgr', 'SELF_VERIFICATION'],
    ['a planner outside the line', 'planner', 'NOT_UPLINE_MANAGER'],
  ])('%s gets 403 %s and the goal stays submitted', async (_who, person, code) => {
    const id = await submittedNocGoal(`Goal verified by ${person}`);
    for (const transition of ['verify', 'reject']) {
      const r = await h.call<Reply>('POST', `/api/v1/department-goals/${id}/${transition}`, tokens[person], { comment: 'no' });
      expect(r.status).toBe(403);
      expect(r.body.code).toBe(code);
    }
    const goal = await h.call<Reply>('GET', `/api/v1/department-goals/${id}`, tokens.nocmgr);
    expect(goal.body.status).toBe('submitted');
    expect(goal.body.version).toBe(2);
  });

  it('the message names who may verify', async () => {
    const id = await submittedNocGoal('Message check');
    const r = await h.call<Reply>('POST', `/api/v1/department-goals/${id}/verify`, tokens.cco, {});
    expect(r.body.message).toBe(
      'Only the up-line manager of department "noc" (cto) or a manager above them may verify this goal; cco is not.',
    );
    const own = await h.call<Reply>('POST', `/api/v1/department-goals/${id}/verify`, tokens.nocmgr, {});
    expect(own.body.message).toBe('nocmgr wrote this goal; nobody verifies their own goal. Ask the up-line manager (cto).');
  });

  it('the up-line manager verifies', async () => {
    const id = await submittedNocGoal('Verified by the up-line');
    const r = await h.call<Reply>('POST', `/api/v1/department-goals/${id}/verify`, tokens.cto, {});
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('verified');
  });

  it('someone above the up-line manager verifies', async () => {
    const id = await submittedNocGoal('Verified from above');
    const r = await h.call<Reply & { verifications: Array<{ uplineManagerId: string; decidedBy: string }> }>(
      'POST',
      `/api/v1/department-goals/${id}/verify`,
      tokens.ceo,
      {},
    );
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('verified');
    expect(r.body.verifications[0]?.uplineManagerId).toBe('cto');
    expect(r.body.verifications[0]?.decidedBy).toBe('ceo');
  });

  it('the owner may not verify either, even as a manager above the department', async () => {
    const created = await h.call<Reply>('POST', '/api/v1/department-goals', tokens.nocmgr, {
      orgGoalId,
      departmentId: 'noc',
      title: 'Owned by the CTO',
      ownerId: 'cto',
      metric,
    });
    await h.call('POST', `/api/v1/department-goals/${created.body.id}/submit`, tokens.nocmgr, {});
    const r = await h.call<Reply>('POST', `/api/v1/department-goals/${created.body.id}/verify`, tokens.cto, {});
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('SELF_VERIFICATION');
    expect((await h.call<Reply>('POST', `/api/v1/department-goals/${created.body.id}/verify`, tokens.ceo, {})).status).toBe(200);
  });

  it('an unauthenticated caller gets 401 before anything else, even with a bad body', async () => {
    const id = await submittedNocGoal('Unauthenticated');
    for (const [token, body] of [
      [undefined, {}],
      ['not-a-token', {}],
      [undefined, { version: 'not a number' }],
    ] as const) {
      const r = await h.call<Reply>('POST', `/api/v1/department-goals/${id}/verify`, token, body);
      expect(r.status).toBe(401);
      expect(r.body.code).toBe('UNAUTHENTICATED');
    }
    expect((await h.call('GET', '/api/v1/department-goals', undefined)).status).toBe(401);
  });
});

describe('reading and writing follow the hierarchy', () => {
  let id: string;
  beforeAll(async () => {
    id = await submittedNocGoal('Read and write matrix');
  });

  it.each([
    ['a staff member of the department', 'noc1', 200],
    ['the up-line manager', 'cto', 200],
    ['someone above', 'ceo', 200],
    ['a planner', 'planner', 200],
    ['a peer department manager', 'accmgr', 403],
    ['the wrong manager', 'cco', 403],
  ])('%s reading the goal: %i', async (_who, person, status) => {
    const r = await h.call<Reply>('GET', `/api/v1/department-goals/${id}`, tokens[person]);
    expect(r.status).toBe(status);
    if (status === 403) expect(r.body.code).toBe('FORBIDDEN_READ');
  });

  it('lists only what each person may read', async () => {
    const peer = await h.call<{ items: Reply[] }>('GET', '/api/v1/department-goals', tokens.accmgr);
    expect(peer.body.items).toEqual([]);
    const staff = await h.call<{ items: Reply[] }>('GET', '/api/v1/department-goals?departmentId=noc', tokens.noc1);
    expect(staff.body.items.map((g) => g.id)).toContain(id);
  });

  it('a peer cannot draft or edit goals of another department; a staff member can draft their own', async () => {
    const peerDraft = await h.call<Reply>('POST', '/api/v1/department-goals', tokens.accmgr, {
      orgGoalId,
      departmentId: 'noc',
      title: 'Not mine',
      metric,
    });
    expect(peerDraft.status).toBe(403);
    expect(peerDraft.body.code).toBe('FORBIDDEN_WRITE');
    const staffDraft = await h.call<Reply>('POST', '/api/v1/department-goals', tokens.noc1, {
      orgGoalId,
      departmentId: 'noc',
      title: 'Mine',
      metric,
    });
    expect(staffDraft.status).toBe(201);
    const peerEdit = await h.call<Reply>('PATCH', `/api/v1/department-goals/${staffDraft.body.id}`, tokens.accmgr, {
      version: 1,
      title: 'Hijacked',
    });
    expect(peerEdit.status).toBe(403);
  });

  it('only planners set organisation goals; only admins manage people; only department managers or above activate', async () => {
    const byManager = await h.call<Reply>('POST', '/api/v1/cycles', tokens.cto, {
      name: 'Rogue',
      startsAt: '2026-01-01T00:00:00Z',
      endsAt: '2026-02-01T00:00:00Z',
    });
    expect(byManager.status).toBe(403);
    expect(byManager.body.code).toBe('PLANNER_ONLY');
    const person = await h.call<Reply>('POST', '/api/v1/people', tokens.planner, { name: 'Intruder', role: 'admin' });
    expect(person.body.code).toBe('ADMIN_ONLY');
    const goalId = await submittedNocGoal('Activation');
    await h.call('POST', `/api/v1/department-goals/${goalId}/verify`, tokens.cto, {});
    const staff = await h.call<Reply>('POST', `/api/v1/department-goals/${goalId}/activate`, tokens.noc1, {});
    expect(staff.status).toBe(403);
    expect(staff.body.code).toBe('FORBIDDEN_ACTIVATE');
    const manager = await h.call<Reply>('POST', `/api/v1/department-goals/${goalId}/activate`, tokens.nocmgr, {});
    expect(manager.body.status).toBe('active');
  });

  it('a revoked token stops working', async () => {
    const issued = await h.call<{ token: string; tokenId: string }>('POST', '/api/v1/people/noc2/tokens', ADMIN_TOKEN, {
      label: 'laptop',
    });
    expect((await h.call('GET', '/api/v1/me', issued.body.token)).status).toBe(200);
    expect((await h.call('POST', `/api/v1/tokens/${issued.body.tokenId}/revoke`, issued.body.token)).status).toBe(200);
    const after = await h.call<Reply>('GET', '/api/v1/me', issued.body.token);
    expect(after.status).toBe(401);
  });

  it('tokens are stored as SHA-256 hashes only', async () => {
    const rows = await h.store.query<{ n: string }>(
      `SELECT count() AS n FROM ${h.store.table('goals_changes')} WHERE positionCaseInsensitive(after, {token:String}) > 0 OR positionCaseInsensitive(before, {token:String}) > 0`,
      { token: tokens.noc1 },
    );
    expect(Number(rows[0]?.n)).toBe(0);
  });
});
