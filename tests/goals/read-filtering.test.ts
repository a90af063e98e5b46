import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ADMIN_TOKEN, type Harness, metricSample, seedOrganisation, startHarness } from './harness.ts';

/**
 * Issue 15 #7: what a goal's page refuses, no other route gives away. A Customer Care
 * staff member gets 403 on a NOC goal, so the generated alert rules they read hold no
 * NOC goal either (its title and target are in the annotations); and people's emails are
 * contact data for admins, planners, their own department and its managers.
 *
 *   company (ceo) ─┬─ network (cto) ─┬─ noc (nocmgr; staff noc1, noc2)
 *                  │                 └─ access (accmgr)
 *                  └─ care (cco; staff care1)
 */

const T0 = Date.UTC(2026, 0, 5);
let h: Harness;
let tokens: Record<string, string>;
let nocGoalId: string;
let orgGoalId: string;

interface Reply {
  id: string;
  status: string;
  code: string;
  items: Array<{ id: string; email: string | null }>;
}

const metric = {
  feed: { kind: 'availability', filters: { service: 'broadband', region: 'north' } },
  comparator: '>=',
  target: 0.9973,
  warning: 0.998,
  period: { type: 'calendar', calendar: 'quarter' },
};

beforeAll(async () => {
  h = await startHarness(T0);
  tokens = await seedOrganisation(h);
  const care1 = await h.call('POST', '/api/v1/people', ADMIN_TOKEN, {
    id: 'care1',
    name: 'Care Agent',
    role: 'staff',
    departmentId: 'care',
    email: 'care1@example.test',
  });
  expect(care1.status).toBe(201);
  tokens.care1 = (await h.call<{ token: string }>('POST', '/api/v1/people/care1/tokens', ADMIN_TOKEN, {})).body.token;
  await h.call('POST', '/api/v1/people', ADMIN_TOKEN, {
    id: 'noc3',
    name: 'NOC Engineer Three',
    role: 'staff',
    departmentId: 'noc',
    email: 'noc3@example.test',
  });
  const cycle = await h.call<Reply>('POST', '/api/v1/cycles', tokens.planner, {
    name: '2026-Q1',
    startsAt: '2026-01-01T00:00:00Z',
    endsAt: '2026-04-01T00:00:00Z',
  });
  const session = await h.call<Reply>('POST', '/api/v1/strategy-sessions', tokens.planner, {
    cycleId: cycle.body.id,
    participantIds: ['ceo'],
  });
  const org = await h.call<Reply>('POST', '/api/v1/org-goals', tokens.planner, {
    strategySessionId: session.body.id,
    title: 'Available network',
    ownerId: 'ceo',
    metric: { ...metric, target: 0.99, warning: 0.995 },
  });
  orgGoalId = org.body.id;
  const goal = await h.call<Reply>('POST', '/api/v1/department-goals', tokens.nocmgr, {
    orgGoalId,
    departmentId: 'noc',
    title: 'Secret NOC plan: north broadband',
    metric,
  });
  nocGoalId = goal.body.id;
  await h.call('POST', `/api/v1/department-goals/${nocGoalId}/submit`, tokens.nocmgr, {});
  expect((await h.call<Reply>('POST', `/api/v1/department-goals/${nocGoalId}/verify`, tokens.cto, {})).body.status).toBe(
    'verified',
  );
  await h.goals.runOnce();
}, 120_000);

afterAll(async () => {
  await h?.close();
});

const alertGoalIds = async (token: string | undefined): Promise<string[]> => {
  const res = await h.call('GET', '/api/v1/goals/alert-rules', token);
  expect(res.status).toBe(200);
  const file = parse(res.text) as { groups: Array<{ name: string }> };
  return file.groups.filter((g) => !g.name.includes('-sli-')).map((g) => g.name.replace('cxvitals-goal-', ''));
};

describe('alert rules are filtered to the goals the caller may read', () => {
  it('a care staff member gets 403 on the NOC goal, and the rules they read hold only the organisation goal', async () => {
    expect((await h.call<Reply>('GET', `/api/v1/goals/${nocGoalId}`, tokens.care1)).body.code).toBe('FORBIDDEN_READ');
    const res = await h.call('GET', '/api/v1/goals/alert-rules', tokens.care1);
    expect(res.text).not.toContain('Secret NOC plan');
    expect(res.text).not.toContain('0.9973');
    expect(await alertGoalIds(tokens.care1)).toEqual([orgGoalId]);
  });

  it('the NOC staff, the up-line manager and a planner read both', async () => {
    for (const who of ['noc1', 'cto', 'planner']) {
      expect((await alertGoalIds(tokens[who])).sort(), who).toEqual([nocGoalId, orgGoalId].sort());
    }
  });
});

describe('people: everyone sees the chart, emails only where they belong', () => {
  const emails = async (token: string | undefined) =>
    Object.fromEntries(
      (await h.call<Reply>('GET', '/api/v1/people', token)).body.items
        .filter((p) => p.id === 'care1' || p.id === 'noc3')
        .map((p) => [p.id, p.email]),
    );

  it('a NOC engineer reads their colleague’s email but not Customer Care’s', async () => {
    expect(await emails(tokens.noc1)).toEqual({ care1: null, noc3: 'noc3@example.test' });
    expect((await h.call<{ email: string | null }>('GET', '/api/v1/people/care1', tokens.noc1)).body.email).toBeNull();
  });

  it('a care agent reads their own email and no NOC email', async () => {
    expect(await emails(tokens.care1)).toEqual({ care1: 'care1@example.test', noc3: null });
  });

  it('the manager above a department reads its emails; planners and admins read all', async () => {
    expect(await emails(tokens.cto)).toEqual({ care1: null, noc3: 'noc3@example.test' });
    expect(await emails(tokens.planner)).toEqual({ care1: 'care1@example.test', noc3: 'noc3@example.test' });
    expect(await emails(ADMIN_TOKEN)).toEqual({ care1: 'care1@example.test', noc3: 'noc3@example.test' });
  });
});

describe('printable pages in a browser', () => {
  it('sign-in keeps the person token in an HttpOnly SameSite=Strict cookie and goes on to the page', async () => {
    const next = `/api/v1/goals/${nocGoalId}/trend.html`;
    const signIn = await h.app.inject({
      method: 'GET',
      url: `/api/v1/goals/sign-in?token=${encodeURIComponent(tokens.noc1 ?? '')}&next=${encodeURIComponent(next)}`,
    });
    expect([signIn.statusCode, signIn.headers.location]).toEqual([303, next]);
    const cookie = String(signIn.headers['set-cookie']);
    expect(cookie).toMatch(/^cxv_goals_session=[^;]+; Path=\/api\/v1; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    const page = await h.app.inject({ method: 'GET', url: next, headers: { cookie: cookie.split(';')[0] ?? '' } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<h1>Secret NOC plan: north broadband</h1>');
    // The cookie reads; it never writes (a change needs the bearer header).
    const write = await h.app.inject({
      method: 'POST',
      url: `/api/v1/goals/${nocGoalId}/evaluate`,
      headers: { cookie: cookie.split(';')[0] ?? '' },
    });
    expect(write.statusCode).toBe(401);
  });

  it('refuses an unknown token and a next page outside the API', async () => {
    const bad = await h.call<{ code: string }>('GET', '/api/v1/goals/sign-in?token=not-a-token');
    expect([bad.status, bad.body.code]).toEqual([401, 'UNAUTHENTICATED']);
    const away = await h.call('GET', `/api/v1/goals/sign-in?token=${tokens.noc1}&next=https://evil.example/`);
    expect(away.status).toBe(400);
  });
});

describe("the dashboard's goal strip", () => {
  interface Strip {
    items: Array<{
      id: string;
      title: string;
      status: string | null;
      lifecycle: string;
      valueText: string;
      targetText: string;
      page: string;
    }>;
  }

  it('lists the open cycle’s goals the reader may read, with titles, status and page — goals without data too', async () => {
    const noc = await h.call<Strip>('GET', '/api/v1/goals/strip', tokens.noc1);
    expect(noc.body.items.map((g) => [g.id, g.title, g.lifecycle, g.status, g.valueText, g.targetText, g.page]).sort()).toEqual(
      [
        [orgGoalId, 'Available network', 'active', 'no_data', '—', '>= 99.00 %', `/api/v1/goals/${orgGoalId}/trend.html`],
        [
          nocGoalId,
          'Secret NOC plan: north broadband',
          'verified',
          'no_data',
          '—',
          '>= 99.73 %',
          `/api/v1/goals/${nocGoalId}/trend.html`,
        ],
      ].sort(),
    );
    const care = await h.call<Strip>('GET', '/api/v1/goals/strip', tokens.care1);
    expect(care.body.items.map((g) => g.id)).toEqual([orgGoalId]);
  });

  it('answers a browser not signed in to the goals with no goals, not a 401 (the dashboard then shows counts)', async () => {
    // No token at all, then a token that is not a person's (a dashboard carries a read token), twice.
    for (const token of [undefined, 'cxr_not-a-person-token', 'cxr_not-a-person-token']) {
      const r = await h.call<Strip & { signedIn: boolean }>('GET', '/api/v1/goals/strip', token);
      expect([r.status, r.body.signedIn, r.body.items]).toEqual([200, false, []]);
    }
    const noc = await h.call<Strip & { signedIn: boolean }>('GET', '/api/v1/goals/strip', tokens.noc1);
    expect([noc.status, noc.body.signedIn]).toEqual([200, true]);
    // Every other goals read still needs a person.
    expect((await h.call('GET', `/api/v1/goals/${orgGoalId}`, undefined)).status).toBe(401);
  });

  it('agrees with /metrics: each listed status is the one cxv_goal_status exports', async () => {
    const text = await h.metrics.registry.metrics();
    for (const g of (await h.call<Strip>('GET', '/api/v1/goals/strip', tokens.planner)).body.items) {
      expect(metricSample(text, 'cxv_goal_status', { goal_id: g.id, status: g.status ?? '' }), g.id).toBe(1);
    }
  });
});
