import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { alertRulesYaml } from '../../services/goals/alerts.ts';
import { hasCommand, requireSystem } from '../support/system.ts';
import { GOAL_FIXTURE_FILE, GOAL_FIXTURES } from './goal-fixtures.ts';

/**
 * The alert rules of deploy/prometheus/: valid for promtool, every alert with a runbook
 * line, and every alert of rules/cxvitals.rules.yml fired AND resolved by a promtool unit
 * test (deploy/prometheus/tests/), which must all pass.
 */

const DEPLOY = fileURLToPath(new URL('../../deploy/prometheus/', import.meta.url));
const RULES_FILE = path.join(DEPLOY, 'rules/cxvitals.rules.yml');
const TEST_DIR = path.join(DEPLOY, 'tests');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: Array<{ name: string; rules: Rule[] }>;
}
interface UnitTestFile {
  rule_files: string[];
  tests: Array<{ name: string; alert_rule_test?: Array<{ eval_time: string; alertname: string; exp_alerts: unknown[] }> }>;
}

const ruleFiles = (dir: string) =>
  readdirSync(path.join(DEPLOY, dir))
    .filter((f) => f.endsWith('.yml'))
    .map((f) => path.join(DEPLOY, dir, f));
const testFiles = () =>
  readdirSync(TEST_DIR)
    .filter((f) => f.endsWith('.test.yml'))
    .map((f) => path.join(TEST_DIR, f));
const alerts = (): Rule[] => (parse(readFileSync(RULES_FILE, 'utf8')) as RuleFile).groups.flatMap((g) => g.rules);
const minutes = (d: string): number => {
  const m = /^(\d+)([smh])$/.exec(d);
  if (!m) throw new Error(`unexpected duration ${d}`);
  return (Number(m[1]) * { s: 1 / 60, m: 1, h: 60 }[m[2] as 's' | 'm' | 'h']) as number;
};
const promtool = () =>
  requireSystem('promtool', hasCommand('promtool'), 'install the Debian package "prometheus" (apt-get install prometheus)');

describe('alert rules (deploy/prometheus)', () => {
  it('give every alert a severity, a summary and a runbook line naming its docs/alerts.md section', () => {
    const list = alerts();
    expect(list.length).toBeGreaterThanOrEqual(10);
    for (const rule of list) {
      expect(rule.alert, `rule ${rule.expr}`).toMatch(/^Cxv[A-Z]\w+$/);
      expect(['page', 'ticket']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, `${rule.alert} summary`).toBeTruthy();
      expect(rule.annotations?.runbook, `${rule.alert} runbook`).toContain(`docs/alerts.md#${rule.alert?.toLowerCase()}`);
    }
    const docs = readFileSync(new URL('../../docs/alerts.md', import.meta.url), 'utf8');
    for (const rule of list) expect(docs, `docs/alerts.md section for ${rule.alert}`).toContain(`### ${rule.alert}`);
  });

  it('cover the required conditions: CSI floor, Serviceability target, social surge, goal at risk, stalled pipeline, lag, DLQ', () => {
    const names = alerts().map((r) => r.alert);
    for (const required of [
      'CxvCsiBelowFloor',
      'CxvServiceabilityBelowTarget',
      'CxvSocialSurge',
      'CxvGoalAtRisk',
      'CxvPipelineStalled',
      'CxvConsumerLagHigh',
      'CxvDeadLetterRate',
    ]) {
      expect(names).toContain(required);
    }
    // Burn-rate and off-track alerts are the goals service's generated rules, not repeated here.
    expect(names).not.toContain('CxvGoalErrorBudgetBurn');
    expect(names).not.toContain('CxvGoalOffTrack');
  });

  it('have a promtool unit test that fires each alert and a later evaluation where it has resolved', () => {
    const covered = new Map<string, { fired: number[]; quiet: number[] }>();
    for (const file of testFiles()) {
      for (const t of (parse(readFileSync(file, 'utf8')) as UnitTestFile).tests) {
        for (const a of t.alert_rule_test ?? []) {
          const c = covered.get(a.alertname) ?? { fired: [], quiet: [] };
          (a.exp_alerts.length > 0 ? c.fired : c.quiet).push(minutes(a.eval_time));
          covered.set(a.alertname, c);
        }
      }
    }
    for (const rule of alerts()) {
      const c = covered.get(rule.alert ?? '');
      expect(c?.fired.length, `${rule.alert} is never fired by a unit test`).toBeGreaterThan(0);
      const firstFire = Math.min(...(c?.fired ?? []));
      expect(
        c?.quiet.some((t) => t > firstFire),
        `${rule.alert} never resolves in a unit test`,
      ).toBe(true);
    }
  });

  it('keep the goal-rules fixture identical to what the goals service generates', () => {
    expect(readFileSync(GOAL_FIXTURE_FILE, 'utf8')).toBe(alertRulesYaml(GOAL_FIXTURES));
  });

  it('pass promtool check rules and check config', () => {
    if (!promtool()) return;
    const files = [...ruleFiles('rules'), ...ruleFiles('goals')];
    const out = execFileSync('promtool', ['check', 'rules', ...files], { encoding: 'utf8' });
    expect(out.match(/SUCCESS/g)?.length).toBe(files.length);
    const config = execFileSync('promtool', ['check', 'config', path.join(DEPLOY, 'prometheus.yml')], { encoding: 'utf8' });
    expect(config).toContain('is valid prometheus config file syntax');
  });

  it('pass every promtool unit test in deploy/prometheus/tests', () => {
    if (!promtool()) return;
    const files = testFiles();
    expect(files.map((f) => path.basename(f)).sort()).toEqual(['cxvitals.test.yml', 'goals.test.yml']);
    let out: string;
    try {
      out = execFileSync('promtool', ['test', 'rules', ...files], { encoding: 'utf8', cwd: TEST_DIR, stdio: 'pipe' });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      throw new Error(`promtool test rules failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
    expect(out.match(/SUCCESS/g)?.length).toBe(files.length);
    expect(out).not.toContain('FAILED');
  });
});
