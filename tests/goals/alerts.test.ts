import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type AlertGoal, alertRulesYaml, burnFactor, goalRecordingRules, goalRules } from '../../services/goals/alerts.ts';
import { newlyComplete } from '../../services/goals/metrics.ts';
import { hasCommand, requireSystem } from '../support/system.ts';

/**
 * Generated alert rules: the shape Prometheus expects, burn-rate factors derived from
 * each goal's own period (rolling or calendar), and — where promtool is installed (CI
 * installs the Debian package `prometheus`) — `promtool check rules` on the file.
 */

const DAY = 86_400_000;
const goals: AlertGoal[] = [
  {
    id: 'dg-0000000001',
    kind: 'department',
    title: 'North availability {{ not a template }}',
    ratio: true,
    comparator: '>=',
    target: 0.995,
    periodLengthMs: 90 * DAY,
    calendar: true,
  },
  {
    id: 'dg-0000000002',
    kind: 'department',
    title: 'South serviceability "quoted"',
    ratio: true,
    comparator: '>=',
    target: 0.98,
    periodLengthMs: 7 * DAY,
    calendar: false,
  },
  {
    id: 'og-0000000003',
    kind: 'org',
    title: 'Care speed',
    ratio: false,
    comparator: '<=',
    target: 30,
    periodLengthMs: 30 * DAY,
    calendar: false,
  },
];

interface RuleFile {
  groups: Array<{
    name: string;
    rules: Array<{
      alert: string;
      expr: string;
      for?: string;
      labels: Record<string, string>;
      annotations: Record<string, string>;
    }>;
  }>;
}

describe('generated alert rules', () => {
  it('scale the burn-rate factor to the period: 2 % of a 30-day budget in 1 h is 14.4', () => {
    expect(burnFactor({ long: '1h', budgetShare: 0.02 }, 30 * DAY)).toBe(14.4);
    expect(burnFactor({ long: '1h', budgetShare: 0.02 }, 90 * DAY)).toBe(43.2);
    expect(burnFactor({ long: '6h', budgetShare: 0.05 }, 7 * DAY)).toBe(1.4);
    expect(burnFactor({ long: '3d', budgetShare: 0.1 }, 7 * DAY)).toBe(0.233);
  });

  it('have the shape of a Prometheus rule file: an alert group per goal, a recording group per ratio goal', () => {
    const file = parse(alertRulesYaml(goals)) as RuleFile;
    expect(file.groups.map((g) => g.name)).toEqual([
      'cxvitals-goal-dg-0000000001',
      'cxvitals-goal-sli-dg-0000000001',
      'cxvitals-goal-dg-0000000002',
      'cxvitals-goal-sli-dg-0000000002',
      'cxvitals-goal-og-0000000003',
    ]);
    for (const group of file.groups.filter((g) => !g.name.includes('-sli-'))) {
      for (const rule of group.rules) {
        expect(Object.keys(rule).every((k) => ['alert', 'expr', 'for', 'labels', 'annotations'].includes(k))).toBe(true);
        expect(rule.alert).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
        expect(rule.expr.length).toBeGreaterThan(0);
        if (rule.for !== undefined) expect(rule.for).toMatch(/^\d+[smhd]$/);
        expect(['page', 'ticket', 'info']).toContain(rule.labels.severity);
        // Every brace of goal text is inside an action that prints it (template-injection.test.ts).
        expect((rule.annotations.summary ?? '').replaceAll('{{"{"}}', '').replaceAll('{{"}"}}', '')).not.toMatch(/[{}]/);
      }
    }
  });

  it('a calendar quarter gets every burn pair, with factors for 90 days, and pages when the budget is gone', () => {
    const rules = goalRules(goals[0] as AlertGoal).rules;
    const burns = rules.filter((r) => r.alert === 'CxvGoalErrorBudgetBurn');
    expect(burns.map((r) => r.expr)).toEqual([
      'cxv_goal_error_budget_burn_rate{goal_id="dg-0000000001",window="1h"} > 43.2 and ignoring(window) cxv_goal_error_budget_burn_rate{goal_id="dg-0000000001",window="5m"} > 43.2',
      'cxv_goal_error_budget_burn_rate{goal_id="dg-0000000001",window="6h"} > 18 and ignoring(window) cxv_goal_error_budget_burn_rate{goal_id="dg-0000000001",window="30m"} > 18',
      'cxv_goal_error_budget_burn_rate{goal_id="dg-0000000001",window="1d"} > 9 and ignoring(window) cxv_goal_error_budget_burn_rate{goal_id="dg-0000000001",window="2h"} > 9',
      'cxv_goal_error_budget_burn_rate{goal_id="dg-0000000001",window="3d"} > 3 and ignoring(window) cxv_goal_error_budget_burn_rate{goal_id="dg-0000000001",window="6h"} > 3',
    ]);
    expect(burns.map((r) => r.labels.severity)).toEqual(['page', 'page', 'ticket', 'ticket']);
    const exhausted = rules.find((r) => r.alert === 'CxvGoalErrorBudgetExhausted');
    expect(exhausted?.expr).toBe('cxv_goal_error_budget_remaining{goal_id="dg-0000000001"} <= 0');
    expect(exhausted?.labels.severity).toBe('page');
  });

  it('a 7-day rolling window leaves out pairs whose factor is not above 1', () => {
    const burns = goalRules(goals[1] as AlertGoal).rules.filter((r) => r.alert === 'CxvGoalErrorBudgetBurn');
    // 1h: 0.02 × 168 = 3.36; 6h: 0.05 × 28 = 1.4; 1d: 0.1 × 7 = 0.7 (left out); 3d: 0.233 (left out).
    expect(burns.map((r) => [r.labels.long_window, r.expr.match(/> ([\d.]+)/)?.[1]])).toEqual([
      ['1h', '3.36'],
      ['6h', '1.4'],
    ]);
  });

  it('record a ratio goal’s SLI, bad share and burn rate per window from its counters, with its budget', () => {
    const recording = goalRecordingRules(goals[0] as AlertGoal);
    expect(recording?.rules.length).toBe(22);
    const byRecord = new Map(recording?.rules.map((r) => [r.record, r]));
    expect(byRecord.get('cxv_goal:error_budget:ratio')?.expr).toBe('vector(0.005)');
    expect(byRecord.get('cxv_goal:sli:ratio_rate1h')?.expr).toBe(
      'sum by (goal_id) (rate(cxv_goal_sli_numerator_total{goal_id="dg-0000000001"}[1h])) / sum by (goal_id) (rate(cxv_goal_sli_denominator_total{goal_id="dg-0000000001"}[1h]))',
    );
    expect(byRecord.get('cxv_goal:sli_error:ratio_rate1h')?.expr).toBe('1 - cxv_goal:sli:ratio_rate1h{goal_id="dg-0000000001"}');
    expect(byRecord.get('cxv_goal:burn_rate:ratio_rate3d')?.expr).toBe(
      'cxv_goal:sli_error:ratio_rate3d{goal_id="dg-0000000001"} / on (goal_id) cxv_goal:error_budget:ratio{goal_id="dg-0000000001"}',
    );
    expect(byRecord.get('cxv_goal:burn_rate:ratio_rate3d')?.labels).toEqual({
      goal_id: 'dg-0000000001',
      goal_kind: 'department',
    });
    // Lower is better (e.g. abandonment ≤ 0.3): the bad share is the metric itself, the budget the target.
    const lower = goalRecordingRules({ ...(goals[0] as AlertGoal), comparator: '<=', target: 0.3 });
    expect(lower?.rules.find((r) => r.record === 'cxv_goal:sli_error:ratio_rate5m')?.expr).toBe(
      'cxv_goal:sli:ratio_rate5m{goal_id="dg-0000000001"}',
    );
    expect(lower?.rules[0]?.expr).toBe('vector(0.3)');
    expect(goalRecordingRules(goals[2] as AlertGoal)).toBeUndefined();
  });

  it('count each complete 5-minute bucket into the SLI counters once, two minutes after it ends', () => {
    const step = 300_000;
    const points = [0, 1, 2, 3].map((i) => ({ t: i * step, value: 0.9, numerator: 9 * (i + 1), denominator: 10 * (i + 1) }));
    // First run at 12 min: nothing counted, counting starts at the last settled bucket end (10 min).
    expect(newlyComplete(points, step, undefined, 12 * 60_000)).toEqual({ numerator: 0, denominator: 0, upTo: 2 * step });
    // At 17 min the bucket [10, 15) has settled: 27 / 30. At 18 min nothing new.
    expect(newlyComplete(points, step, 2 * step, 17 * 60_000)).toEqual({ numerator: 27, denominator: 30, upTo: 3 * step });
    expect(newlyComplete(points, step, 3 * step, 18 * 60_000)).toEqual({ numerator: 0, denominator: 0, upTo: 3 * step });
  });

  it('a metric that is not a ratio gets status rules only', () => {
    expect(goalRules(goals[2] as AlertGoal).rules.map((r) => r.alert)).toEqual([
      'CxvGoalOffTrack',
      'CxvGoalMissed',
      'CxvGoalNoData',
    ]);
  });

  it('pass promtool check rules (generated and static files)', async () => {
    if (
      !requireSystem('promtool', hasCommand('promtool'), 'install the Debian package "prometheus" (apt-get install prometheus)')
    )
      return;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cxv-rules-'));
    try {
      const generated = path.join(dir, 'goals.rules.yml');
      await writeFile(generated, alertRulesYaml(goals));
      const staticRules = path.join(dir, 'goals-service.rules.yml');
      await writeFile(
        staticRules,
        await readFile(new URL('../../deploy/prometheus/goals/goals-service.rules.yml', import.meta.url), 'utf8'),
      );
      const out = execFileSync('promtool', ['check', 'rules', generated, staticRules], { encoding: 'utf8' });
      // 17 alerts, and 22 records for each of the two ratio goals (a budget, then SLI, bad share, burn rate × 7 windows).
      expect(out).toContain('SUCCESS: 61 rules found');
      expect(out).toContain('SUCCESS: 3 rules found');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
