import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type AlertGoal, alertRulesYaml, goalRules, templateText } from '../../services/goals/alerts.ts';
import { hasCommand, requireSystem } from '../support/system.ts';

/**
 * Issue 15 #5: a goal's title reaches Prometheus annotations, which are Go templates that
 * can run PromQL (`query`). Every brace of the title is escaped, so whatever a title is
 * built from, Prometheus prints it as typed and runs nothing. Checked by promtool itself:
 * the alert's rendered summary must equal the title, character for character, while a
 * series `up` exists that an injected `query "up"` would have printed.
 */

const ADVERSARIAL = [
  '{}}{ range query "up" }}{{ . }}{}}{ end }}',
  '{{ range query "up" }}{{ .Labels.job }}{{ end }}',
  '{{{{ "x" }}}}',
  '}{{ printf "%s" "injected" }}{',
  '{{- /* trim */ -}} {{$labels.job}} {{ $value }}',
  '{ { query "up" } }',
  'plain title, 99.9% {not a template}',
];

const goal = (i: number, title: string): AlertGoal => ({
  id: `og-inject-${i}`,
  kind: 'org',
  title,
  ratio: false,
  comparator: '>=',
  target: 0.9,
  periodLengthMs: 7 * 86_400_000,
  calendar: false,
});

/** The text left once every escaping action is taken out: the braces a template engine would see. */
const unescaped = (v: string): string => v.replaceAll('{{"{"}}', '').replaceAll('{{"}"}}', '');

describe('goal text in generated alert rules', () => {
  it('leaves no brace of the title outside an action that prints it', () => {
    for (const title of ADVERSARIAL) {
      const rendered = templateText(title);
      expect(unescaped(rendered), title).not.toMatch(/[{}]/);
      // Undoing the escapes gives the title back: escaped, not filtered.
      expect(rendered.replaceAll('{{"{"}}', '{').replaceAll('{{"}"}}', '}')).toBe(title.replace(/\s+/g, ' ').trim());
    }
  });

  it('escapes `{}}{` (which a one-pass removal of `{{`/`}}` turned into `{{`)', () => {
    expect(templateText('{}}{')).toBe('{{"{"}}{{"}"}}{{"}"}}{{"{"}}');
    for (const rule of goalRules(goal(0, '{}}{ query "up" }}')).rules) {
      expect(unescaped(rule.annotations.summary ?? '')).not.toMatch(/[{}]/);
    }
  });

  it('render exactly as typed under promtool test rules, running no query', async () => {
    if (
      !requireSystem('promtool', hasCommand('promtool'), 'install the Debian package "prometheus" (apt-get install prometheus)')
    )
      return;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cxv-inject-'));
    try {
      const goals = ADVERSARIAL.map((t, i) => goal(i, t));
      await writeFile(path.join(dir, 'goals.rules.yml'), alertRulesYaml(goals));
      const tests = {
        rule_files: ['goals.rules.yml'],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: [
              { series: 'up{job="secret-target"}', values: '1x30' },
              ...goals.map((g) => ({
                series: `cxv_goal_status{goal_id="${g.id}",kind="org",status="off_track"}`,
                values: '1x30',
              })),
            ],
            alert_rule_test: [
              {
                eval_time: '20m',
                alertname: 'CxvGoalOffTrack',
                exp_alerts: goals.map((g) => ({
                  exp_labels: { severity: 'ticket', goal_id: g.id, goal_kind: 'org', kind: 'org', status: 'off_track' },
                  exp_annotations: {
                    summary: `Goal ${g.id} is off track: ${g.title.replace(/\s+/g, ' ').trim()}`,
                    description: `The success metric does not meet >= 0.9 over its evaluation window. See /api/v1/goals/${g.id}.`,
                  },
                })),
              },
            ],
          },
        ],
      };
      await writeFile(path.join(dir, 'inject.test.yml'), stringify(tests, { lineWidth: 0 }));
      let out: string;
      try {
        out = execFileSync('promtool', ['test', 'rules', 'inject.test.yml'], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string };
        throw new Error(`promtool test rules failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
      }
      expect(out).toContain('SUCCESS');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
