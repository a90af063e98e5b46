import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  DAY,
  type Harness,
  metricSample,
  type ProbeMinute,
  seedOrganisation,
  seedProbeMinutes,
  startHarness,
} from './harness.ts';

/**
 * A whole action-planning cycle through the API, against a hand-made metric history that
 * lands in three phases as the clock moves (one probe_kpi_1m row per region per day, at
 * noon, 1000 attempts each):
 *
 *   Dec 29 – Jan 4   north 990, south 990 successes     (the baseline: 0.99 everywhere)
 *   Jan 5 – Mar 31   north 999, south 995
 *     Jan 10 north   900 successes; 100 attempts (all failed) inside planned maintenance
 *     Jan 12 south   950 successes
 *     Mar 28 south   800 successes
 *
 * Availability leaves planned maintenance out (Jan 10 north: 900/900); Serviceability
 * counts every attempt (900/1000). Each expected value is worked out beside its check.
 */

const T0 = Date.UTC(2026, 0, 5); // strategy session, goals set
const T1 = Date.UTC(2026, 0, 15); // mid-quarter: actions done, commitment session, evaluation
const T2 = Date.UTC(2026, 3, 1); // the quarter (and the cycle) is over

function history(fromDay: number, toDayExclusive: number): ProbeMinute[] {
  const rows: ProbeMinute[] = [];
  for (let t = fromDay; t < toDayExclusive; t += DAY) {
    const noon = t + 12 * 3_600_000;
    const d = new Date(t);
    const is = (month: number, day: number) => d.getUTCMonth() === month && d.getUTCDate() === day;
    const baseline = t < T0;
    const north: ProbeMinute = {
      service: 'broadband',
      region: 'north',
      t: noon,
      attempts: 1000,
      successes: baseline ? 990 : 999,
    };
    if (is(0, 10)) Object.assign(north, { successes: 900, plannedAttempts: 100, plannedSuccesses: 0 });
    const southSuccesses = baseline ? 990 : is(0, 12) ? 950 : is(2, 28) ? 800 : 995;
    rows.push(north, { service: 'broadband', region: 'south', t: noon, attempts: 1000, successes: southSuccesses });
  }
  return rows;
}

interface Goal {
  id: string;
  version: number;
  status: string;
  cycleId: string;
  orgGoalId: string;
  carriedFromId: string | null;
  baseline: { value: number | null; numerator: number | null; denominator: number | null; from: string; to: string };
  verifications: Array<{
    uplineManagerId: string | null;
    decision: string | null;
    decidedBy: string | null;
    comment: string | null;
  }>;
}
interface Evaluation {
  goalId: string;
  status: string;
  value: number | null;
  numerator: number | null;
  denominator: number | null;
  attainment: number | null;
  errorBudget: { badEvents: number; burnRate: number; consumed: number; remaining: number } | null;
  burnRates: Record<string, number | null>;
  window: { from: string; to: string; final: boolean };
}
type Reply = Record<string, unknown> & { code?: string; message?: string };

const serviceability = (filters: Record<string, string>) => ({ kind: 'serviceability', filters });
const availability = (filters: Record<string, string>) => ({ kind: 'availability', filters });

let h: Harness;
let t: Record<string, string>;
const ids: Record<string, string> = {};

beforeAll(async () => {
  h = await startHarness(T0);
  t = await seedOrganisation(h);
  await seedProbeMinutes(h.store, history(Date.UTC(2025, 11, 29), T0));
}, 120_000);

afterAll(async () => {
  await h?.close();
});

describe('one action-planning cycle, end to end', () => {
  it('1. a planner opens the cycle and records the strategy session with the baseline it saw', async () => {
    const cycle = await h.call<{ id: string; status: string }>('POST', '/api/v1/cycles', t.planner, {
      name: '2026-Q1',
      startsAt: '2026-01-01T00:00:00Z',
      endsAt: '2026-04-01T00:00:00Z',
    });
    expect(cycle.status).toBe(201);
    expect(cycle.body.status).toBe('open');
    ids.cycle = cycle.body.id;
    const session = await h.call<{
      id: string;
      heldAt: string;
      facilitatorId: string;
      baseline: Array<{ reading: Goal['baseline'] & { noData: { code: string } | null } }>;
    }>('POST', '/api/v1/strategy-sessions', t.planner, {
      cycleId: ids.cycle,
      participantIds: ['ceo', 'cto', 'cco'],
      notes: 'Broadband reliability is the theme of the quarter.',
      baseline: [
        { label: 'Broadband serviceability', feed: serviceability({ service: 'broadband' }), lookback: '7d' },
        { label: 'Care responsiveness', feed: { kind: 'kqi', name: 'care_responsiveness', filters: {} }, lookback: 'P7D' },
      ],
    });
    expect(session.status).toBe(201);
    ids.session = session.body.id;
    expect(session.body.heldAt).toBe('2026-01-05T00:00:00.000Z');
    expect(session.body.facilitatorId).toBe('planner');
    // Dec 29 – Jan 4, both regions: 7 × 2 × 990 / 7 × 2 × 1000.
    const [seen, kqi] = session.body.baseline;
    expect([seen?.reading.value, seen?.reading.numerator, seen?.reading.denominator]).toEqual([0.99, 13860, 14000]);
    expect([seen?.reading.from, seen?.reading.to]).toEqual(['2025-12-29T00:00:00.000Z', '2026-01-05T00:00:00.000Z']);
    // No contact data in the window: the KQI has no score, a clear no_data, not an error.
    expect(kqi?.reading.value).toBeNull();
    expect(kqi?.reading.noData?.code).toBe('NO_DATA');
  });

  it('2. the organisation goal is set from the session, its baseline read from the feed', async () => {
    const org = await h.call<Goal>('POST', '/api/v1/org-goals', t.planner, {
      strategySessionId: ids.session,
      title: 'Broadband customers can use the service',
      ownerId: 'ceo',
      metric: {
        feed: serviceability({ service: 'broadband' }),
        comparator: '>=',
        target: 0.995,
        warning: 0.997,
        period: { type: 'rolling', duration: '7d' },
      },
    });
    expect(org.status).toBe(201);
    expect(org.body.status).toBe('active');
    expect(org.body.baseline.value).toBe(0.99);
    ids.org = org.body.id;
  });

  it('3. two department goals are drafted, each tied to it with its own metric', async () => {
    const a = await h.call<Goal>('POST', '/api/v1/department-goals', t.nocmgr, {
      orgGoalId: ids.org,
      departmentId: 'noc',
      title: 'North broadband availability',
      metric: {
        feed: availability({ service: 'broadband', region: 'north' }),
        comparator: '>=',
        target: 0.999,
        warning: 0.9995,
        period: { type: 'calendar', calendar: 'quarter' },
      },
    });
    const b = await h.call<Goal>('POST', '/api/v1/department-goals', t.accmgr, {
      orgGoalId: ids.org,
      departmentId: 'access',
      title: 'South broadband serviceability',
      metric: {
        feed: serviceability({ service: 'broadband', region: 'south' }),
        comparator: '>=',
        target: 0.98,
        warning: 0.985,
        period: { type: 'rolling', duration: 'P7D' },
      },
    });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect([a.body.status, b.body.status]).toEqual(['draft', 'draft']);
    // A: one quarter (90 days) back from Jan 5 holds only Dec 29 – Jan 4 north: 6930/7000.
    expect([a.body.baseline.value, a.body.baseline.numerator, a.body.baseline.denominator]).toEqual([0.99, 6930, 7000]);
    expect(a.body.baseline.from).toBe('2025-10-07T00:00:00.000Z');
    expect(b.body.baseline.value).toBe(0.99);
    ids.a = a.body.id;
    ids.b = b.body.id;
  });

  it('4. goal A is rejected with a comment, edited, resubmitted and verified; B is verified', async () => {
    expect((await h.call<Goal>('POST', `/api/v1/department-goals/${ids.a}/submit`, t.nocmgr, { version: 1 })).body.status).toBe(
      'submitted',
    );
    const noComment = await h.call<Reply>('POST', `/api/v1/department-goals/${ids.a}/reject`, t.cto, {});
    expect([noComment.status, noComment.body.code]).toEqual([400, 'COMMENT_REQUIRED']);
    const comment = '99.9 % after a 99.0 % baseline is out of reach this quarter; propose 99.5 %.';
    const rejected = await h.call<Goal>('POST', `/api/v1/department-goals/${ids.a}/reject`, t.cto, { comment });
    expect(rejected.body.status).toBe('rejected');
    expect(rejected.body.verifications).toEqual([
      expect.objectContaining({ uplineManagerId: 'cto', decision: 'rejected', decidedBy: 'cto', comment }),
    ]);
    const verifyRejected = await h.call<Reply>('POST', `/api/v1/department-goals/${ids.a}/verify`, t.cto, {});
    expect([verifyRejected.status, verifyRejected.body.code]).toEqual([409, 'INVALID_TRANSITION']);

    const edited = await h.call<Goal>('PATCH', `/api/v1/department-goals/${ids.a}`, t.nocmgr, {
      version: 3,
      metric: {
        feed: availability({ service: 'broadband', region: 'north' }),
        comparator: '>=',
        target: 0.995,
        warning: 0.998,
        period: { type: 'calendar', calendar: 'quarter' },
      },
    });
    expect([edited.status, edited.body.version, edited.body.status]).toEqual([200, 4, 'rejected']);
    expect((await h.call<Goal>('POST', `/api/v1/department-goals/${ids.a}/submit`, t.nocmgr, { version: 4 })).body.status).toBe(
      'submitted',
    );
    const verified = await h.call<Goal>('POST', `/api/v1/department-goals/${ids.a}/verify`, t.cto, { comment: 'Agreed.' });
    expect(verified.body.status).toBe('verified');
    expect(verified.body.verifications.map((v) => v.decision)).toEqual(['rejected', 'verified']);
    expect((await h.call<Goal>('POST', `/api/v1/department-goals/${ids.a}/activate`, t.nocmgr, {})).body.status).toBe('active');

    await h.call('POST', `/api/v1/department-goals/${ids.b}/submit`, t.accmgr, {});
    expect((await h.call<Goal>('POST', `/api/v1/department-goals/${ids.b}/verify`, t.cto, {})).body.status).toBe('verified');
    expect((await h.call<Goal>('POST', `/api/v1/department-goals/${ids.b}/activate`, t.accmgr, {})).body.status).toBe('active');
    const audit = await h.call<{ items: Array<{ action: string }> }>('GET', `/api/v1/goals/${ids.a}/audit`, t.nocmgr);
    expect(audit.body.items.map((c) => c.action.replace('department_goal.', ''))).toEqual([
      'create',
      'submit',
      'reject',
      'update',
      'submit',
      'verify',
      'activate',
    ]);
  });

  it('5. the first evaluation on Jan 5 judges the quarter so far', async () => {
    expect(await h.goals.runOnce()).toEqual({ evaluated: 3, stored: 3, failed: 0, transitioned: 0 });
    const a = await h.call<{ items: Evaluation[] }>('GET', `/api/v1/goals/${ids.a}/evaluations`, t.nocmgr);
    // Jan 1 – 4 north: 3960/4000 = 0.99 < 0.995.
    expect(a.body.items.map((e) => [e.status, e.value])).toEqual([['off_track', 0.99]]);
  });

  it('6. actions are recorded with the metric before: the stated window that ends when the action starts', async () => {
    const action = await h.call<{ id: string; status: string; metricBefore: Goal['baseline']; metricAfter: unknown }>(
      'POST',
      `/api/v1/department-goals/${ids.a}/actions`,
      t.nocmgr,
      { title: 'Replace the north aggregation switch', ownerId: 'noc1', dueDate: '2026-01-20', window: '3d' },
    );
    expect(action.status).toBe(201);
    expect(action.body.status).toBe('planned');
    // Started Jan 5 (now): Jan 2 – 4 north, 3 × 990 / 3 × 1000.
    expect([
      action.body.metricBefore.from,
      action.body.metricBefore.to,
      action.body.metricBefore.value,
      action.body.metricBefore.numerator,
      action.body.metricBefore.denominator,
    ]).toEqual(['2026-01-02T00:00:00.000Z', '2026-01-05T00:00:00.000Z', 0.99, 2970, 3000]);
    expect(action.body.metricAfter).toBeNull();
    ids.action = action.body.id;
    const other = await h.call('POST', `/api/v1/department-goals/${ids.b}/actions`, t.accmgr, {
      title: 'Add a redundant south uplink',
      ownerId: 'accmgr',
      dueDate: '2026-02-15',
    });
    expect(other.status).toBe(201);
  });

  it('7. ten days of data later the action is reported done on Jan 11, with the metric over the 3 days after', async () => {
    await seedProbeMinutes(h.store, history(T0, T1));
    h.clock.now = T1;
    const done = await h.call<{ status: string; metricAfter: Goal['baseline'] }>(
      'PATCH',
      `/api/v1/actions/${ids.action}`,
      t.noc1,
      { version: 1, status: 'done', doneAt: '2026-01-11T00:00:00Z' },
    );
    expect(done.status).toBe(200);
    // Jan 11 – 13 north Availability: 3 × 999 / 3 × 1000, a window as long as the one before.
    expect([
      done.body.metricAfter.from,
      done.body.metricAfter.to,
      done.body.metricAfter.value,
      done.body.metricAfter.numerator,
      done.body.metricAfter.denominator,
    ]).toEqual(['2026-01-11T00:00:00.000Z', '2026-01-14T00:00:00.000Z', 0.999, 2997, 3000]);
  });

  it('8. the evaluation on Jan 15: at risk, on track, off track — with the error budget of each ratio', async () => {
    expect(await h.goals.runOnce()).toEqual({ evaluated: 3, stored: 3, failed: 0, transitioned: 0 });
    const [a] = (await h.call<{ items: Evaluation[] }>('GET', `/api/v1/goals/${ids.a}/evaluations?limit=1`, t.nocmgr)).body.items;
    // 13851/13900 = 0.99647… ≥ 0.995 but < 0.998. Bad 49; burn (49/13900)/0.005; 14 of 90 days elapsed.
    expect(a?.status).toBe('at_risk');
    expect(a?.value).toBe(13851 / 13900);
    expect(a?.attainment).toBeCloseTo(13851 / 13900 / 0.995, 12);
    expect(a?.errorBudget?.badEvents).toBe(49);
    expect(a?.errorBudget?.burnRate).toBeCloseTo(49 / 13900 / 0.005, 9);
    expect(a?.errorBudget?.consumed).toBeCloseTo(((49 / 13900 / 0.005) * 14) / 90, 9);
    // Last day and last three days north: 1 bad in 1000 → 0.001/0.005 = 0.2; nothing in the last 5 minutes.
    expect(a?.burnRates['1d']).toBeCloseTo(0.2, 9);
    expect(a?.burnRates['3d']).toBeCloseTo(0.2, 9);
    expect(a?.burnRates['5m']).toBeNull();
    const [b] = (await h.call<{ items: Evaluation[] }>('GET', `/api/v1/goals/${ids.b}/evaluations?limit=1`, t.accmgr)).body.items;
    // Jan 8 – 14 south: 6 × 995 + 950 = 6920 / 7000 ≥ 0.985.
    expect([b?.status, b?.value]).toEqual(['on_track', 6920 / 7000]);
    const [org] = (await h.call<{ items: Evaluation[] }>('GET', `/api/v1/goals/${ids.org}/evaluations?limit=1`, t.planner)).body
      .items;
    // Serviceability counts the maintenance failures: north 6 × 999 + 900 = 6894, south 6920 → 13814 / 14000.
    expect([org?.status, org?.value]).toEqual(['off_track', 13814 / 14000]);

    const text = await h.metrics.registry.metrics();
    expect(metricSample(text, 'cxv_goal_status', { goal_id: ids.a ?? '', status: 'at_risk' })).toBe(1);
    expect(metricSample(text, 'cxv_goal_status', { goal_id: ids.a ?? '', status: 'on_track' })).toBe(0);
    expect(metricSample(text, 'cxv_goal_attainment', { goal_id: ids.b ?? '' })).toBeCloseTo(6920 / 7000 / 0.98, 9);
    expect(metricSample(text, 'cxv_goal_error_budget_burn_rate', { goal_id: ids.a ?? '', window: '1d' })).toBeCloseTo(0.2, 9);
    expect(metricSample(text, 'cxv_goals_by_status', { status: 'off_track' })).toBe(1);
    const rules = await h.call('GET', '/api/v1/goals/alert-rules', t.planner);
    expect(rules.status).toBe(200);
    for (const id of [ids.a, ids.b, ids.org]) expect(rules.text).toContain(`name: cxvitals-goal-${id}`);
  });

  it("9. the goal's page shows the metric's trend against its target", async () => {
    const page = await h.call<{
      evaluation: Evaluation;
      trend: { points: Array<{ t: string; value: number }> };
      actions: unknown[];
    }>('GET', `/api/v1/goals/${ids.a}`, t.noc1);
    expect(page.body.evaluation.status).toBe('at_risk');
    expect(page.body.trend.points).toHaveLength(14);
    expect(page.body.trend.points[0]).toEqual({ t: '2026-01-01T12:00:00.000Z', value: 0.99 });
    expect(page.body.trend.points[9]).toEqual({ t: '2026-01-10T12:00:00.000Z', value: 1 });
    expect(page.body.actions).toHaveLength(1);
    const html = await h.call('GET', `/api/v1/goals/${ids.a}/trend.html`, t.noc1);
    expect(html.text).toContain('<polyline');
    expect(html.text).toContain('Status <b>at_risk</b>');
    // Target and warning lines labelled in the feed's unit; the time axis starts at the first bucket, not the quarter.
    expect(html.text).toContain('>target &gt;= 99.50 %</text>');
    expect(html.text).toContain('>warning 99.80 %</text>');
    expect(html.text).toContain('>2026-01-01 12:00</text>');
    // A y-axis with round ticks in percent around 0.99 … 1 (data), 0.995 and 0.998.
    expect(html.text).toContain('text-anchor="end">99.00 %</text>');
    expect(html.text).toContain('text-anchor="end">100.0 %</text>');
  });

  it('10. the commitment session gives the overview and collects each acknowledgement', async () => {
    const session = await h.call<{ id: string; staffIds: string[]; overview: { goals: Array<Record<string, unknown>> } }>(
      'POST',
      '/api/v1/commitment-sessions',
      t.nocmgr,
      {
        cycleId: ids.cycle,
        departmentId: 'noc',
      },
    );
    expect(session.status).toBe(201);
    expect(session.body.staffIds).toEqual(['noc1', 'noc2']);
    expect(session.body.overview.goals).toEqual([
      expect.objectContaining({
        id: ids.a,
        status: 'active',
        baseline: 0.99,
        latest: expect.objectContaining({ status: 'at_risk', value: 13851 / 13900 }),
        metric: {
          feed: 'availability{service=broadband,region=north}',
          comparator: '>=',
          target: 0.995,
          warning: 0.998,
          period: 'calendar quarter',
          unit: null,
        },
        actions: [
          expect.objectContaining({
            status: 'done',
            owner: { id: 'noc1', name: 'NOC Engineer One' },
            before: 0.99,
            after: 0.999,
          }),
        ],
      }),
    ]);
    ids.commitment = session.body.id;
    const url = `/api/v1/commitment-sessions/${ids.commitment}`;
    expect((await h.call('POST', `${url}/acknowledgements`, t.noc1, {})).status).toBe(201);
    expect(
      (await h.call('POST', `${url}/acknowledgements`, t.noc2, { comment: 'I own the switch swap follow-up.' })).status,
    ).toBe(201);
    const twice = await h.call<Reply>('POST', `${url}/acknowledgements`, t.noc1, {});
    expect([twice.status, twice.body.code]).toEqual([409, 'ALREADY_ACKNOWLEDGED']);
    const outsider = await h.call<Reply>('POST', `${url}/acknowledgements`, t.cto, {});
    expect([outsider.status, outsider.body.code]).toEqual([403, 'NOT_IN_SESSION']);
    const overview = await h.call<{ pending: string[]; acknowledgements: Array<{ personId: string; comment: string | null }> }>(
      'GET',
      `${url}/overview`,
      t.noc2,
    );
    expect(overview.body.pending).toEqual([]);
    expect(overview.body.acknowledgements.map((a) => [a.personId, a.comment])).toEqual([
      ['noc1', null],
      ['noc2', 'I own the switch swap follow-up.'],
    ]);
    const html = await h.call('GET', `${url}/overview.html`, t.nocmgr);
    expect(html.text).toContain('Replace the north aggregation switch');
    expect(html.text).toContain('I own the switch swap follow-up.');
  });

  it('11. at the end of the quarter the evaluator closes the active goals: achieved or missed', async () => {
    await seedProbeMinutes(h.store, history(T1, T2));
    h.clock.now = T2;
    expect(await h.goals.runOnce()).toEqual({ evaluated: 3, stored: 3, failed: 0, transitioned: 3 });
    const statusOf = async (id: string | undefined, token: string | undefined) =>
      (await h.call<Goal>('GET', id?.startsWith('og-') ? `/api/v1/org-goals/${id}` : `/api/v1/department-goals/${id}`, token))
        .body.status;
    expect(await statusOf(ids.a, t.nocmgr)).toBe('achieved');
    expect(await statusOf(ids.b, t.accmgr)).toBe('missed');
    expect(await statusOf(ids.org, t.planner)).toBe('missed');
    const evaluations = await h.call<{ items: Evaluation[] }>('GET', `/api/v1/goals/${ids.a}/evaluations`, t.nocmgr);
    // Quarter: 3960 + 900 + 85 × 999 = 89775 / 4000 + 900 + 85 000 = 89900.
    expect(evaluations.body.items.map((e) => [e.status, e.value])).toEqual([
      ['achieved', 89775 / 89900],
      ['at_risk', 13851 / 13900],
      ['off_track', 0.99],
    ]);
    const audit = await h.call<{ items: Array<{ action: string; actorId: string }> }>(
      'GET',
      `/api/v1/goals/${ids.b}/audit`,
      t.accmgr,
    );
    expect(audit.body.items.at(-1)).toEqual(
      expect.objectContaining({ action: 'department_goal.miss', actorId: 'system:evaluator' }),
    );
  });

  it('12. the next cycle starts from the results: compared with baselines, open goals carried forward', async () => {
    const next = await h.call<{
      cycle: { id: string; startsAt: string; endsAt: string; previousCycleId: string; status: string };
      previousCycle: { status: string; nextCycleId: string; results: unknown[] };
      results: Array<{
        goalId: string;
        statusAfter: string;
        evaluation: { value: number };
        baselineValue: number;
        change: number;
        carriedForwardAs: string | null;
      }>;
      summary: Record<string, number>;
    }>('POST', `/api/v1/cycles/${ids.cycle}/next`, t.planner, { name: '2026-Q2', endsAt: '2026-07-01T00:00:00Z' });
    expect(next.status).toBe(201);
    const { cycle, previousCycle, results, summary } = next.body;
    expect([cycle.startsAt, cycle.endsAt, cycle.previousCycleId, cycle.status]).toEqual([
      '2026-04-01T00:00:00.000Z',
      '2026-07-01T00:00:00.000Z',
      ids.cycle,
      'open',
    ]);
    expect([previousCycle.status, previousCycle.nextCycleId, previousCycle.results.length]).toEqual(['closed', cycle.id, 3]);
    expect(summary).toEqual({ achieved: 1, missed: 2, notMeasured: 0, notStarted: 0, carriedForward: 2, carriedActions: 1 });
    const byId = new Map(results.map((r) => [r.goalId, r]));
    const a = byId.get(ids.a ?? '');
    expect([a?.statusAfter, a?.evaluation.value, a?.carriedForwardAs]).toEqual(['achieved', 89775 / 89900, null]);
    expect(a?.change).toBeCloseTo(89775 / 89900 - 0.99, 12);
    // B, Mar 25 – 31 south: 6 × 995 + 800 = 6770 / 7000; org: north 6993 + south 6770 = 13763 / 14000.
    const b = byId.get(ids.b ?? '');
    expect([b?.statusAfter, b?.evaluation.value]).toEqual(['missed', 6770 / 7000]);
    expect(b?.change).toBeCloseTo(6770 / 7000 - 0.99, 12);
    const org = byId.get(ids.org ?? '');
    expect([org?.statusAfter, org?.evaluation.value]).toEqual(['missed', 13763 / 14000]);

    const orgGoals = await h.call<{ items: Goal[] }>('GET', `/api/v1/org-goals?cycleId=${cycle.id}`, t.planner);
    expect(orgGoals.body.items.map((g) => [g.id, g.status, g.carriedFromId, g.baseline.value])).toEqual([
      [org?.carriedForwardAs, 'active', ids.org, 13763 / 14000],
    ]);
    const deptGoals = await h.call<{ items: Goal[] }>('GET', `/api/v1/department-goals?cycleId=${cycle.id}`, ADMIN_TOKEN);
    expect(
      deptGoals.body.items.map((g) => [g.id, g.status, g.carriedFromId, g.orgGoalId, g.baseline.value, g.verifications.length]),
    ).toEqual([[b?.carriedForwardAs, 'draft', ids.b, org?.carriedForwardAs, 6770 / 7000, 0]]);

    // B's open action travels with it, due on the new cycle's last day (Feb 15 is before the cycle).
    const carried = await h.call<{ items: Array<{ title: string; dueDate: string; cycleId: string; status: string }> }>(
      'GET',
      `/api/v1/department-goals/${b?.carriedForwardAs}/actions`,
      t.accmgr,
    );
    expect(carried.body.items.map((x) => [x.title, x.dueDate, x.cycleId, x.status])).toEqual([
      ['Add a redundant south uplink', '2026-06-30', cycle.id, 'planned'],
    ]);
    // An action on a goal of the closed cycle: CYCLE_CLOSED, as documented (not "goal not committed").
    const closedAction = await h.call<Reply>('POST', `/api/v1/department-goals/${ids.a}/actions`, t.nocmgr, {
      title: 'Too late',
      ownerId: 'noc1',
      dueDate: '2026-03-30',
    });
    expect([closedAction.status, closedAction.body.code]).toEqual([409, 'CYCLE_CLOSED']);

    const again = await h.call<Reply>('POST', `/api/v1/cycles/${ids.cycle}/next`, t.planner, { name: 'Fork' });
    expect([again.status, again.body.code]).toEqual([409, 'CYCLE_ALREADY_CONTINUED']);
    const late = await h.call<Reply>('POST', '/api/v1/strategy-sessions', t.planner, {
      cycleId: ids.cycle,
      participantIds: ['ceo'],
    });
    expect([late.status, late.body.code]).toEqual([409, 'CYCLE_CLOSED']);
  });
});
