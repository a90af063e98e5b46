import { stringify } from 'yaml';
import { type BurnWindow, type Comparator, higherIsBetter } from './evaluate.ts';

/**
 * Prometheus alert rules generated per goal from the gauges in metrics.ts.
 *
 * Ratio metrics get multi-window, multi-burn-rate alerts (the SRE workbook's scheme): an
 * alert fires when both a long and a short window burn the error budget faster than a
 * factor, the short window making it stop soon after the burning stops. The factor is
 * derived from the goal's own period, so calendar quarters work as well as 30 days:
 *
 *   factor = share of the period budget spent × period length / long window
 *
 * e.g. 2 % of a 30-day budget in 1 h → 0.02 × 720 h / 1 h = 14.4. Pairs whose factor is
 * not above 1 (the window is a large part of the period) are left out: a burn rate of 1
 * is the budget itself, which the "budget exhausted" rule already watches.
 * Every goal also gets status rules (off track, missed, no data).
 */

export interface AlertGoal {
  id: string;
  kind: 'org' | 'department';
  title: string;
  ratio: boolean;
  comparator: Comparator;
  target: number;
  /** Length of the period the error budget belongs to (rolling duration or calendar period). */
  periodLengthMs: number;
  calendar: boolean;
}

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RecordingRule {
  record: string;
  expr: string;
  labels: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

export interface RecordingGroup {
  name: string;
  rules: RecordingRule[];
}

interface BurnPair {
  long: BurnWindow;
  short: BurnWindow;
  budgetShare: number;
  severity: 'page' | 'ticket';
  for: string;
}

export const BURN_PAIRS: readonly BurnPair[] = [
  { long: '1h', short: '5m', budgetShare: 0.02, severity: 'page', for: '2m' },
  { long: '6h', short: '30m', budgetShare: 0.05, severity: 'page', for: '15m' },
  { long: '1d', short: '2h', budgetShare: 0.1, severity: 'ticket', for: '1h' },
  { long: '3d', short: '6h', budgetShare: 0.1, severity: 'ticket', for: '3h' },
];

const WINDOW_MS: Record<BurnWindow, number> = {
  '5m': 300_000,
  '30m': 1_800_000,
  '1h': 3_600_000,
  '2h': 7_200_000,
  '6h': 21_600_000,
  '1d': 86_400_000,
  '3d': 259_200_000,
};

/** PromQL string literal content. */
const q = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
/**
 * Annotations are Go templates that Prometheus runs (with `query` among their functions), so
 * goal text is escaped, never filtered: every single brace becomes a template action that
 * prints it (`{{"{"}}`). No brace of the text is left outside such an action, so no
 * sequence of them, however built (`{}}{`, `{{{{`), can open a template; the rendered
 * annotation reads exactly as the title was typed (whitespace folded).
 */
export const templateText = (v: string): string =>
  v
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[{}]/g, (brace) => `{{"${brace}"}}`);

export function burnFactor(pair: Pick<BurnPair, 'long' | 'budgetShare'>, periodLengthMs: number): number {
  return Math.round(((pair.budgetShare * periodLengthMs) / WINDOW_MS[pair.long]) * 1000) / 1000;
}

export function goalRules(goal: AlertGoal): RuleGroup {
  const sel = `goal_id="${q(goal.id)}"`;
  const labels = (severity: string) => ({ severity, goal_id: goal.id, goal_kind: goal.kind });
  const title = templateText(goal.title);
  const rules: AlertRule[] = [
    {
      alert: 'CxvGoalOffTrack',
      expr: `cxv_goal_status{${sel},status="off_track"} == 1`,
      for: '15m',
      labels: labels('ticket'),
      annotations: {
        summary: `Goal ${goal.id} is off track: ${title}`,
        description: `The success metric does not meet ${goal.comparator} ${goal.target} over its evaluation window. See /api/v1/goals/${goal.id}.`,
      },
    },
    {
      alert: 'CxvGoalMissed',
      expr: `cxv_goal_status{${sel},status="missed"} == 1`,
      labels: labels('ticket'),
      annotations: {
        summary: `Goal ${goal.id} was missed: ${title}`,
        description: `The period ended without meeting ${goal.comparator} ${goal.target}.`,
      },
    },
    {
      alert: 'CxvGoalNoData',
      expr: `cxv_goal_status{${sel},status="no_data"} == 1`,
      for: '30m',
      labels: labels('ticket'),
      annotations: {
        summary: `Goal ${goal.id} has no data: ${title}`,
        description: 'The bound metric feed returns nothing for the evaluation window; check the feed and its filters.',
      },
    },
  ];
  if (goal.ratio) {
    for (const pair of BURN_PAIRS) {
      const factor = burnFactor(pair, goal.periodLengthMs);
      if (factor <= 1 || WINDOW_MS[pair.long] >= goal.periodLengthMs) continue;
      rules.push({
        alert: 'CxvGoalErrorBudgetBurn',
        expr:
          `cxv_goal_error_budget_burn_rate{${sel},window="${pair.long}"} > ${factor}` +
          ` and ignoring(window) cxv_goal_error_budget_burn_rate{${sel},window="${pair.short}"} > ${factor}`,
        for: pair.for,
        labels: { ...labels(pair.severity), long_window: pair.long, short_window: pair.short },
        annotations: {
          summary: `Goal ${goal.id} burns its error budget ${factor}× too fast: ${title}`,
          description: `At this rate ${Math.round(pair.budgetShare * 100)}% of the ${goal.calendar ? 'calendar period' : 'rolling window'}'s error budget is spent within ${pair.long} (target ${goal.comparator} ${goal.target}).`,
        },
      });
    }
    rules.push({
      alert: 'CxvGoalErrorBudgetExhausted',
      expr: `cxv_goal_error_budget_remaining{${sel}} <= 0`,
      for: '5m',
      labels: labels(goal.calendar ? 'page' : 'ticket'),
      annotations: {
        summary: `Goal ${goal.id} has spent its whole error budget: ${title}`,
        description: goal.calendar
          ? `The ${higherIsBetter(goal.comparator) ? 'failures' : 'events'} so far exceed what the whole calendar period allows: the goal will be missed.`
          : 'The rolling window holds more bad events than the target allows.',
      },
    });
  }
  return { name: `cxvitals-goal-${goal.id}`, rules };
}

/** Windows of the recorded SLI and burn rates: those of the exported burn-rate gauges. */
export const RECORDED_WINDOWS = Object.keys(WINDOW_MS) as BurnWindow[];

/**
 * Recording rules that make Prometheus hold a ratio goal's SLI and burn rates itself, as
 * Sloth and Pyrra do: from the counters cxv_goal_sli_{numerator,denominator}_total
 * (complete 5-minute buckets, metrics.ts), per window w:
 *
 *   cxv_goal:sli:ratio_rate<w>         Σnumerator / Σdenominator over w (the goal's own value)
 *   cxv_goal:sli_error:ratio_rate<w>   the bad share: 1 − sli when higher is better, else sli
 *   cxv_goal:error_budget:ratio        the bad share the target allows
 *   cxv_goal:burn_rate:ratio_rate<w>   sli_error / error_budget (1 = exactly on budget)
 *
 * A rule may use the records above it: Prometheus evaluates a group's rules in order.
 */
export function goalRecordingRules(goal: AlertGoal): RecordingGroup | undefined {
  if (!goal.ratio) return undefined;
  const allowed = higherIsBetter(goal.comparator) ? 1 - goal.target : goal.target;
  if (!(allowed > 0 && allowed < 1)) return undefined;
  const sel = `goal_id="${q(goal.id)}"`;
  // A fresh object per rule: a shared one would be written as a YAML anchor and aliases.
  const labels = () => ({ goal_id: goal.id, goal_kind: goal.kind });
  const rules: RecordingRule[] = [
    {
      record: 'cxv_goal:error_budget:ratio',
      expr: `vector(${Math.round(allowed * 1e12) / 1e12})`,
      labels: labels(),
    },
  ];
  for (const w of RECORDED_WINDOWS) {
    rules.push(
      {
        record: `cxv_goal:sli:ratio_rate${w}`,
        expr: `sum by (goal_id) (rate(cxv_goal_sli_numerator_total{${sel}}[${w}])) / sum by (goal_id) (rate(cxv_goal_sli_denominator_total{${sel}}[${w}]))`,
        labels: labels(),
      },
      {
        record: `cxv_goal:sli_error:ratio_rate${w}`,
        expr: higherIsBetter(goal.comparator) ? `1 - cxv_goal:sli:ratio_rate${w}{${sel}}` : `cxv_goal:sli:ratio_rate${w}{${sel}}`,
        labels: labels(),
      },
      {
        record: `cxv_goal:burn_rate:ratio_rate${w}`,
        expr: `cxv_goal:sli_error:ratio_rate${w}{${sel}} / on (goal_id) cxv_goal:error_budget:ratio{${sel}}`,
        labels: labels(),
      },
    );
  }
  return { name: `cxvitals-goal-sli-${goal.id}`, rules };
}

export function alertRules(goals: readonly AlertGoal[]): { groups: Array<RuleGroup | RecordingGroup> } {
  const sorted = [...goals].sort((a, b) => (a.id < b.id ? -1 : 1));
  return {
    groups: sorted.flatMap((g) => {
      const recording = goalRecordingRules(g);
      return recording ? [goalRules(g), recording] : [goalRules(g)];
    }),
  };
}

export function alertRulesYaml(goals: readonly AlertGoal[]): string {
  const header = [
    '# Generated by the cxvitals goals service (services/goals/alerts.ts): an alert group per evaluated goal, and for',
    "# ratio goals a recording group holding the goal's SLI and burn rates in Prometheus.",
    '# Do not edit: regenerate with `cxvitals goals rules --out <file>` or set the alert rules path.',
  ].join('\n');
  return `${header}\n${stringify(alertRules(goals), { lineWidth: 0 })}`;
}
