import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerGoalsCommands } from '../../services/goals/cli.ts';
import { DAY, type Harness, seedOrganisation, seedProbeMinutes, startHarness } from './harness.ts';

/** The planner's CLI against a running instance over HTTP: the same steps as the API, from a terminal. */

const T0 = Date.UTC(2026, 0, 5);
let h: Harness;
let url: string;
let tokens: Record<string, string>;
let orgGoalId: string;
let cycleId: string;

async function cli(token: string | undefined, ...args: string[]): Promise<{ out: string; err: string; exitCode: number }> {
  let out = '';
  let err = '';
  const program = new Command().exitOverride();
  registerGoalsCommands(program, {
    out: (t) => (out += t),
    err: (t) => (err += t),
    env: { CXV_URL: url, ...(token ? { CXV_TOKEN: token } : {}) },
  });
  const before = process.exitCode;
  process.exitCode = 0;
  await program.parseAsync(['node', 'cxvitals', 'goals', ...args]);
  const exitCode = Number(process.exitCode ?? 0);
  process.exitCode = before;
  return { out, err, exitCode };
}

beforeAll(async () => {
  h = await startHarness(T0, { listen: true });
  const address = h.app.server.address();
  url = typeof address === 'object' && address ? `http://127.0.0.1:${address.port}` : '';
  tokens = await seedOrganisation(h);
  await seedProbeMinutes(
    h.store,
    Array.from({ length: 7 }, (_, i) => ({
      service: 'voice',
      region: 'east',
      t: T0 - (i + 1) * DAY,
      attempts: 100,
      successes: 98,
    })),
  );
  const cycle = await h.call<{ id: string }>('POST', '/api/v1/cycles', tokens.planner, {
    name: '2026-Q1',
    startsAt: '2026-01-01T00:00:00Z',
    endsAt: '2026-04-01T00:00:00Z',
  });
  cycleId = cycle.body.id;
  const session = await h.call<{ id: string }>('POST', '/api/v1/strategy-sessions', tokens.planner, {
    cycleId,
    participantIds: ['ceo'],
  });
  const org = await h.call<{ id: string }>('POST', '/api/v1/org-goals', tokens.planner, {
    strategySessionId: session.body.id,
    title: 'Voice works',
    ownerId: 'ceo',
    metric: {
      feed: { kind: 'serviceability', filters: { service: 'voice' } },
      comparator: '>=',
      target: 0.97,
      warning: 0.98,
      period: { type: 'rolling', duration: '7d' },
    },
  });
  orgGoalId = org.body.id;
}, 120_000);

afterAll(async () => {
  await h?.close();
});

describe('cxvitals goals', () => {
  let goalId: string;

  it('create drafts a goal; list shows it with its metric', async () => {
    const created = await cli(
      tokens.nocmgr,
      'create',
      '--org-goal',
      orgGoalId,
      '--department',
      'noc',
      '--title',
      'East voice serviceability',
      '--feed',
      'serviceability',
      '--service',
      'voice',
      '--region',
      'east',
      '--target',
      '0.97',
      '--warning',
      '0.985',
      '--period',
      '7d',
    );
    expect(created.err).toBe('');
    const match = /^created (dg-[0-9a-f]+) \(draft, version 1\)\n$/.exec(created.out);
    expect(match).not.toBeNull();
    goalId = match?.[1] ?? '';
    const listed = await cli(tokens.nocmgr, 'list', '--department', 'noc');
    expect(listed.out.split('\n')[0]).toBe(
      'ID             DEPARTMENT  STATUS  V  EVALUATION  VALUE  TITLE                      METRIC',
    );
    expect(listed.out.split('\n')[1]).toBe(
      `${goalId}  noc         draft   1  —           —      East voice serviceability  serviceability{service=voice,region=east} >= 97.0 % (7d)`,
    );
  });

  it('submit, a refused verification (clear code, exit 1), then verify', async () => {
    expect((await cli(tokens.nocmgr, 'submit', goalId)).out).toBe(`${goalId} submitted (version 2)\n`);
    const own = await cli(tokens.nocmgr, 'verify', goalId);
    expect(own.exitCode).toBe(1);
    expect(own.err).toBe(
      'error SELF_VERIFICATION: nocmgr wrote this goal; nobody verifies their own goal. Ask the up-line manager (cto).\n',
    );
    const noComment = await cli(tokens.cto, 'verify', goalId, '--reject');
    expect(noComment.err).toContain('error COMMENT_REQUIRED');
    expect((await cli(tokens.cto, 'verify', goalId)).out).toBe(`${goalId} verified (version 3)\n`);
  });

  it('action records an action with the metric before (7 days of 98/100)', async () => {
    const r = await cli(
      tokens.nocmgr,
      'action',
      goalId,
      '--title',
      'Re-home the east trunk',
      '--owner',
      'noc1',
      '--due',
      '2026-02-01',
    );
    // The 7 days before now (Jan 5): 7 × 98 / 7 × 100, shown as a percentage.
    expect(r.out).toMatch(
      /^recorded act-[0-9a-f]+ \(metric before, 2025-12-29T00:00:00.000Z – 2026-01-05T00:00:00.000Z: 98.0 %\)\n$/,
    );
  });

  it('overview prints the commitment overview as text, JSON or HTML', async () => {
    const session = await h.call<{ id: string }>('POST', '/api/v1/commitment-sessions', tokens.nocmgr, {
      cycleId,
      departmentId: 'noc',
    });
    const text = await cli(tokens.noc1, 'overview', session.body.id);
    expect(text.out).toContain(`${goalId}  East voice serviceability  [verified]`);
    expect(text.out).toContain('  - Re-home the east trunk (NOC Engineer One, due 2026-02-01, planned; before 98.0 %, after —)');
    expect(text.out).toContain('Not yet acknowledged: noc1, noc2');
    const json = JSON.parse((await cli(tokens.noc1, 'overview', session.body.id, '--json')).out) as { pending: string[] };
    expect(json.pending).toEqual(['noc1', 'noc2']);
    expect((await cli(tokens.noc1, 'overview', session.body.id, '--html')).out).toContain(
      '<h1>Commitment session: Network Operations Centre</h1>',
    );
  });

  it('runs the rest of the cycle: activate, an action with its own metric done, commitment, acknowledgement, next cycle', async () => {
    expect((await cli(tokens.nocmgr, 'activate', goalId)).out).toBe(`${goalId} active (version 4)\n`);
    const action = await cli(
      tokens.noc1,
      'action',
      goalId,
      '--title',
      'Fix the east voice gateway',
      '--owner',
      'noc1',
      '--due',
      '2026-01-31',
      '--metric',
      'serviceability',
      '--service',
      'voice',
      '--target',
      '0.99',
      '--window',
      '3d',
    );
    // Own metric, 3 days before Jan 5: 3 × 98 / 3 × 100.
    expect(action.out).toMatch(
      /^recorded (act-[0-9a-f]+) \(metric before, 2026-01-02T00:00:00.000Z – 2026-01-05T00:00:00.000Z: 98.0 %\)\n$/,
    );
    const actionId = /recorded (act-[0-9a-f]+)/.exec(action.out)?.[1] ?? '';
    const done = await cli(tokens.noc1, 'done', actionId);
    expect(done.out).toBe(`${actionId} done at 2026-01-05T00:00:00.000Z; metric after read when 3d have passed\n`);
    const held = await cli(tokens.nocmgr, 'commitment', '--cycle', cycleId, '--department', 'noc');
    const sessionId = /^held (cs-[0-9a-f]+); to acknowledge: noc1, noc2\n$/.exec(held.out)?.[1] ?? '';
    expect(sessionId).not.toBe('');
    expect((await cli(tokens.noc2, 'ack', sessionId, '--comment', 'agreed')).out).toBe(`acknowledged ${sessionId}\n`);
    expect((await cli(tokens.noc1, 'overview', sessionId)).out).toContain('Not yet acknowledged: noc1');
    await h.goals.runOnce();
    const listed = await cli(tokens.nocmgr, 'list', '--department', 'noc');
    // 7 days to Jan 5 of east voice: 98.0 %, below the 98.5 % warning → at risk.
    expect(listed.out.split('\n')[1]).toContain('active  4  at_risk     98.0 %');
    const next = await cli(tokens.planner, 'next', cycleId, '--name', '2026-Q2', '--id', 'q2-cli');
    expect(next.err).toBe('');
    expect(next.out.split('\n')[0]).toBe(
      'started q2-cli: 2 achieved, 0 missed, 0 not measured, 0 goals and 0 actions carried forward',
    );
    const cycles = await cli(tokens.noc1, 'cycles');
    expect(cycles.out).toContain('q2-cli');
  });

  it('without a token it says how to get one', async () => {
    const r = await cli(undefined, 'list');
    expect(r.exitCode).toBe(1);
    expect(r.err).toBe(
      'error NO_TOKEN: No token: pass --token or set CXV_TOKEN (an admin issues tokens with POST /api/v1/people/{id}/tokens).\n',
    );
  });
});
