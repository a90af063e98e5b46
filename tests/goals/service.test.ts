import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkAdminToken, GoalsConfigError } from '../../services/goals/auth.ts';
import type { EvaluationRecord } from '../../services/goals/evaluator.ts';
import type { MetricFeedReader } from '../../services/goals/feeds.ts';
import { GoalsMetrics } from '../../services/goals/metrics.ts';
import { GoalsService, issueDemoToken } from '../../services/goals/routes.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { DAY, type Harness, metricSample, seedOrganisation, seedProbeMinutes, startHarness } from './harness.ts';

/** The service around the evaluation: feeds, bootstrap tokens, gauges, alert-rule files, start/stop. */

const T0 = Date.UTC(2026, 0, 15);
let h: Harness;
let tokens: Record<string, string>;
let rulesDir: string;
let sessionId: string;
const ids: Record<string, string> = {};

async function activeGoal(
  title: string,
  feed: Record<string, unknown>,
  comparator = '>=',
  target = 0.99,
  warning = 0.995,
): Promise<string> {
  const goal = await h.call<{ id: string }>('POST', '/api/v1/department-goals', tokens.nocmgr, {
    orgGoalId: ids.org,
    departmentId: 'noc',
    title,
    metric: { feed, comparator, target, warning, period: { type: 'rolling', duration: '7d' } },
  });
  expect(goal.status).toBe(201);
  await h.call('POST', `/api/v1/department-goals/${goal.body.id}/submit`, tokens.nocmgr, {});
  await h.call('POST', `/api/v1/department-goals/${goal.body.id}/verify`, tokens.cto, {});
  await h.call('POST', `/api/v1/department-goals/${goal.body.id}/activate`, tokens.nocmgr, {});
  return goal.body.id;
}

beforeAll(async () => {
  rulesDir = await mkdtemp(path.join(os.tmpdir(), 'cxv-goal-rules-'));
  h = await startHarness(T0, { alertRulesPath: path.join(rulesDir, 'goals.rules.yml') });
  tokens = await seedOrganisation(h);
  // Seven days of north broadband: 1000 attempts a day, 999 successes.
  await seedProbeMinutes(
    h.store,
    Array.from({ length: 7 }, (_, i) => ({
      service: 'broadband',
      region: 'north',
      t: T0 - (i + 1) * DAY,
      attempts: 1000,
      successes: 999,
    })),
  );
  const cycle = await h.call<{ id: string }>('POST', '/api/v1/cycles', tokens.planner, {
    name: 'Q1',
    startsAt: '2026-01-01T00:00:00Z',
    endsAt: '2026-04-01T00:00:00Z',
  });
  const session = await h.call<{ id: string }>('POST', '/api/v1/strategy-sessions', tokens.planner, {
    cycleId: cycle.body.id,
    participantIds: ['ceo'],
  });
  sessionId = session.body.id;
  const org = await h.call<{ id: string }>('POST', '/api/v1/org-goals', tokens.planner, {
    strategySessionId: sessionId,
    title: 'Broadband',
    ownerId: 'ceo',
    metric: {
      feed: { kind: 'availability', filters: { service: 'broadband' } },
      comparator: '>=',
      target: 0.99,
      warning: 0.995,
      period: { type: 'rolling', duration: '7d' },
    },
  });
  ids.org = org.body.id;
  ids.kqi = await activeGoal(
    'Care responsiveness',
    { kind: 'kqi', name: 'care_responsiveness', filters: { service: 'broadband' } },
    '>=',
    80,
    85,
  );
  ids.north = await activeGoal('North availability', {
    kind: 'availability',
    filters: { service: 'broadband', region: 'north' },
  });
}, 120_000);

afterAll(async () => {
  await h?.close();
  await rm(rulesDir, { recursive: true, force: true });
});

describe('feeds', () => {
  it('a KQI goal reads the KQI through the read model: no contact data in the window is no_data, not an error', async () => {
    const r = await h.call<EvaluationRecord>('POST', `/api/v1/goals/${ids.kqi}/evaluate`, tokens.nocmgr);
    expect([r.body.status, r.body.value, r.body.noData]).toEqual(['no_data', null, null]);
    await h.goals.runOnce();
    const text = await h.metrics.registry.metrics();
    expect(metricSample(text, 'cxv_goal_status', { goal_id: ids.kqi ?? '', status: 'no_data' })).toBe(1);
  });

  it('a filter the feed does not have is refused when the goal is created, with the filters it has', async () => {
    const r = await h.call<{ code: string; message: string }>('POST', '/api/v1/department-goals', tokens.nocmgr, {
      orgGoalId: ids.org,
      departmentId: 'noc',
      title: 'VIP availability',
      metric: {
        feed: { kind: 'availability', filters: { service: 'broadband', segment: 'vip' } },
        comparator: '>=',
        target: 0.99,
        warning: 0.995,
        period: { type: 'rolling', duration: '7d' },
      },
    });
    expect([r.status, r.body.code]).toEqual([400, 'FILTER_NOT_SUPPORTED']);
    expect(r.body.message).toContain('service, region, product');
  });

  it('the feed reader is a port; a non-ratio goal takes the feed’s value for the window, not a mean of its points', async () => {
    const kqi: MetricFeedReader = {
      validate: () => ({ ok: true }),
      read: async (_feed, from, to) => ({
        ratio: false,
        // A score over the window's summed KPIs, which the mean of the daily scores (86) is not.
        value: 84,
        points: [
          { t: from, value: 82 },
          { t: to - DAY, value: 90 },
        ],
        stepMs: DAY,
      }),
    };
    const later = new GoalsService({ store: h.store, log: silentLogger, registry: new Registry(), clock: () => T0, feeds: kqi });
    const goal = (await later.ctx.entities.require('department_goal', ids.kqi ?? '')).value;
    const cycle = (await later.ctx.entities.require('cycle', goal.cycleId)).value;
    const { record } = await later.evaluator.evaluate('department', goal, cycle);
    // 84 ≥ 80 but < 85 (the mean, 86, would be on track).
    expect([record.status, record.value, record.dataPoints, record.noData]).toEqual(['at_risk', 84, 2, null]);
  });
});

describe('bootstrap tokens', () => {
  it('the demo token authenticates as the demo planner (an admin)', async () => {
    const { token, personId } = await h.goals.issueDemoToken();
    expect(personId).toBe('demo-planner');
    const me = await h.call<{ id: string; role: string; canPlan: boolean }>('GET', '/api/v1/me', token);
    expect([me.status, me.body.id, me.body.role, me.body.canPlan]).toEqual([200, 'demo-planner', 'admin', true]);
    // A restart issues a new one and retires the old.
    const next = await issueDemoToken(h.goals);
    expect((await h.call('GET', '/api/v1/me', next.token)).status).toBe(200);
    expect((await h.call('GET', '/api/v1/me', token)).status).toBe(401);
  });

  it('an admin token that is too short is refused at start with a clear message', () => {
    expect(() => checkAdminToken('short')).toThrow(GoalsConfigError);
    expect(() => checkAdminToken('short')).toThrow('CXV_GOALS_ADMIN_TOKEN must be at least 24 characters without spaces');
    expect(checkAdminToken(undefined)).toBeUndefined();
  });
});

describe('evaluator', () => {
  it('writes the generated alert rules when they change', async () => {
    await h.goals.runOnce();
    const file = parse(await readFile(path.join(rulesDir, 'goals.rules.yml'), 'utf8')) as { groups: Array<{ name: string }> };
    const names = file.groups.map((g) => g.name);
    expect(names.filter((n) => !n.includes('-sli-')).sort()).toEqual(
      [ids.kqi, ids.north, ids.org].map((id) => `cxvitals-goal-${id}`).sort(),
    );
    // Ratio goals (Availability, Serviceability) also get their SLI recorded; the KQI score is no ratio.
    expect(names.filter((n) => n.includes('-sli-')).sort()).toEqual(
      [ids.north, ids.org].map((id) => `cxvitals-goal-sli-${id}`).sort(),
    );
  });

  it('start() runs a pass at once and stop() waits for it', async () => {
    const before = metricSample(await h.metrics.registry.metrics(), 'cxv_goals_evaluation_runs_total', { outcome: 'ok' }) ?? 0;
    h.goals.start();
    // runOnce() joins the pass start() began, or runs one: either way one more completed pass.
    const summary = await h.goals.runOnce();
    await h.goals.stop();
    expect(summary.evaluated).toBe(3);
    const after = metricSample(await h.metrics.registry.metrics(), 'cxv_goals_evaluation_runs_total', { outcome: 'ok' }) ?? 0;
    expect(after).toBeGreaterThan(before);
  });
});

describe('gauge cardinality', () => {
  it('exports at most maxExportedGoals goals per goal, lowest ids first, and counts the rest', async () => {
    const registry = new Registry();
    const metrics = new GoalsMetrics(registry, 2);
    const record = (goalId: string, status: EvaluationRecord['status']) =>
      ({
        goalId,
        goalKind: 'department',
        status,
        target: 1,
        value: 1,
        attainment: 1,
        errorBudget: null,
        burnRates: {},
      }) as unknown as EvaluationRecord;
    metrics.update([record('dg-c', 'on_track'), record('dg-a', 'off_track'), record('dg-b', 'on_track')], T0);
    const text = await registry.metrics();
    expect(metricSample(text, 'cxv_goal_status', { goal_id: 'dg-a', status: 'off_track' })).toBe(1);
    expect(metricSample(text, 'cxv_goal_status', { goal_id: 'dg-b', status: 'on_track' })).toBe(1);
    expect(metricSample(text, 'cxv_goal_status', { goal_id: 'dg-c', status: 'on_track' })).toBeUndefined();
    expect(text).toContain('cxv_goals_unexported 1');
    expect(metricSample(text, 'cxv_goals_by_status', { status: 'on_track' })).toBe(2);
  });
});

describe('OpenAPI', () => {
  it('documents the goals routes from the same zod schemas', async () => {
    const doc = await h.call<{ paths: Record<string, Record<string, { summary?: string }>> }>('GET', '/api/v1/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.paths['/api/v1/department-goals/{id}/verify']?.post?.summary).toBe(
      'Verify a submitted goal (the up-line manager or someone above; never the author or owner)',
    );
    expect(Object.keys(doc.body.paths).filter((p) => p.startsWith('/api/v1/')).length).toBeGreaterThan(30);
  });
});
