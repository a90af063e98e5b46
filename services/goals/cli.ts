import { writeFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError } from 'commander';
import { GoalsApiError, GoalsClient } from './client.ts';
import type { Overview } from './model.ts';

/**
 * `cxvitals goals …`: the planner's terminal, talking to a running instance over HTTP
 * (`--url`, `--token` or CXV_URL / CXV_TOKEN):
 *
 *   goals list       department (and organisation) goals you may read
 *   goals create     draft a department goal bound to a metric feed
 *   goals submit     send it to the up-line manager
 *   goals verify     verify it, or --reject it with a --comment
 *   goals action     record a measurable action against a goal
 *   goals overview   print a commitment session's overview (text, --json or --html)
 *   goals rules      write the generated Prometheus alert rules
 */

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: Record<string, string | undefined>;
  fetch?: typeof fetch;
}

const defaultIo: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
};

interface Goal {
  id: string;
  title: string;
  status: string;
  version: number;
  departmentId?: string;
  metric: {
    feed: { kind: string; name?: string; filters: Record<string, string> };
    comparator: string;
    target: number;
    period: { type: string; duration?: string; calendar?: string };
  };
}

const number = (name: string) => (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number`);
  return n;
};

function periodOf(text: string): { type: 'calendar'; calendar: string } | { type: 'rolling'; duration: string } {
  return text === 'quarter' || text === 'cycle' ? { type: 'calendar', calendar: text } : { type: 'rolling', duration: text };
}

function describeMetric(g: Goal): string {
  const f = g.metric.feed;
  const filters = Object.entries(f.filters ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const period = g.metric.period.type === 'rolling' ? g.metric.period.duration : g.metric.period.calendar;
  return `${f.kind}${f.name ? `:${f.name}` : ''}${filters ? `{${filters}}` : ''} ${g.metric.comparator} ${g.metric.target} (${period})`;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return `${rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

export function renderOverviewText(o: Overview, pending: string[]): string {
  const lines = [`Commitment overview — ${o.department.name}, cycle ${o.cycle.name} (manager ${o.manager.name})`, ''];
  for (const g of o.goals) {
    lines.push(`${g.id}  ${g.title}  [${g.status}]`);
    lines.push(
      `  metric   ${g.metric.feed} ${g.metric.comparator} ${g.metric.target} (warning ${g.metric.warning}, ${g.metric.period})`,
    );
    lines.push(`  baseline ${g.baseline ?? '—'}   latest ${g.latest ? `${g.latest.value ?? '—'} ${g.latest.status}` : '—'}`);
    for (const a of g.actions)
      lines.push(
        `  - ${a.title} (${a.owner.name}, due ${a.dueDate}, ${a.status}; before ${a.before ?? '—'}, after ${a.after ?? '—'})`,
      );
  }
  lines.push(
    '',
    `Staff: ${o.staff.map((s) => s.name).join(', ') || '—'}`,
    `Not yet acknowledged: ${pending.join(', ') || 'nobody'}`,
  );
  return `${lines.join('\n')}\n`;
}

export function registerGoalsCommands(program: Command, io: CliIo = defaultIo): Command {
  const goals = program
    .command('goals')
    .description('Plan and follow goals on a running cxvitals (the action-planning cycle).')
    .option('--url <url>', 'cxvitals base URL (env CXV_URL)', io.env.CXV_URL ?? 'http://localhost:8080')
    .option('--token <token>', 'bearer token (env CXV_TOKEN)');

  // Every subcommand runs through here: one place turns API errors into a clear message and exit code 1.
  const run =
    <A extends unknown[]>(work: (client: GoalsClient, ...args: A) => Promise<void>) =>
    async (...args: A) => {
      const opts = goals.opts<{ url: string; token?: string }>();
      const client = new GoalsClient({
        url: opts.url,
        token: opts.token ?? io.env.CXV_TOKEN,
        ...(io.fetch ? { fetch: io.fetch } : {}),
      });
      try {
        await work(client, ...args);
      } catch (err) {
        if (!(err instanceof GoalsApiError)) throw err;
        io.err(`error ${err.code}: ${err.message}\n${err.errors.map((e) => `  ${e.field}: ${e.message}\n`).join('')}`);
        process.exitCode = 1;
      }
    };

  goals
    .command('list')
    .description('List the goals you may read')
    .option('--cycle <id>', 'only this cycle')
    .option('--department <id>', 'only this department')
    .option('--status <status>', 'only this lifecycle status')
    .option('--json', 'print JSON')
    .action(
      run(async (client, o: { cycle?: string; department?: string; status?: string; json?: boolean }) => {
        const q = new URLSearchParams();
        if (o.cycle) q.set('cycleId', o.cycle);
        if (o.department) q.set('departmentId', o.department);
        if (o.status) q.set('status', o.status);
        const dept = await client.request<{ items: Goal[] }>('GET', `/api/v1/department-goals?${q}`);
        const org = o.department
          ? { items: [] }
          : await client.request<{ items: Goal[] }>(
              'GET',
              `/api/v1/org-goals${o.cycle ? `?cycleId=${encodeURIComponent(o.cycle)}` : ''}`,
            );
        const orgItems = o.status ? org.items.filter((g) => g.status === o.status) : org.items;
        if (o.json) return io.out(`${JSON.stringify({ orgGoals: orgItems, departmentGoals: dept.items }, null, 2)}\n`);
        const rows = [['ID', 'DEPARTMENT', 'STATUS', 'V', 'TITLE', 'METRIC']];
        for (const g of orgItems) rows.push([g.id, '(organisation)', g.status, String(g.version), g.title, describeMetric(g)]);
        for (const g of dept.items)
          rows.push([g.id, g.departmentId ?? '', g.status, String(g.version), g.title, describeMetric(g)]);
        io.out(table(rows));
      }),
    );

  goals
    .command('create')
    .description('Draft a department goal bound to a metric feed')
    .requiredOption('--org-goal <id>', 'the organisation goal it serves')
    .requiredOption('--department <id>', 'the department')
    .requiredOption('--title <text>', 'what the goal is')
    .requiredOption('--feed <kind[:name]>', 'availability, serviceability, kpi:<name>, kqi:<name> or csi[:<name>]')
    .requiredOption('--target <number>', 'target value', number('--target'))
    .requiredOption('--warning <number>', 'early-warning threshold (on the good side of the target)', number('--warning'))
    .option('--comparator <op>', '>=, >, <= or <', '>=')
    .option('--period <period>', 'rolling duration (7d, P30D) or calendar: quarter | cycle', 'quarter')
    .option('--service <name>')
    .option('--region <name>')
    .option('--segment <name>')
    .option('--product <name>')
    .option('--owner <id>', 'owner (default: you)')
    .option('--description <text>')
    .action(
      run(async (client, o: Record<string, string | number | undefined>) => {
        const [kind, name] = String(o.feed).split(':');
        const filters = Object.fromEntries(
          ['service', 'region', 'segment', 'product'].filter((k) => o[k] !== undefined).map((k) => [k, String(o[k])]),
        );
        const goal = await client.request<Goal>('POST', '/api/v1/department-goals', {
          orgGoalId: o.orgGoal,
          departmentId: o.department,
          title: o.title,
          ...(o.description ? { description: o.description } : {}),
          ...(o.owner ? { ownerId: o.owner } : {}),
          metric: {
            feed: { kind, ...(name ? { name } : {}), filters },
            comparator: o.comparator,
            target: o.target,
            warning: o.warning,
            period: periodOf(String(o.period)),
          },
        });
        io.out(`created ${goal.id} (${goal.status}, version ${goal.version})\n`);
      }),
    );

  goals
    .command('submit <goalId>')
    .description('Send a draft or rejected goal to the up-line manager')
    .action(
      run(async (client, goalId: string) => {
        const goal = await client.request<Goal>('POST', `/api/v1/department-goals/${encodeURIComponent(goalId)}/submit`, {});
        io.out(`${goal.id} ${goal.status} (version ${goal.version})\n`);
      }),
    );

  goals
    .command('verify <goalId>')
    .description('Verify a submitted goal, or reject it with --reject --comment')
    .option('--reject', 'reject instead of verify')
    .option('--comment <text>', 'why (required to reject)')
    .action(
      run(async (client, goalId: string, o: { reject?: boolean; comment?: string }) => {
        const path = `/api/v1/department-goals/${encodeURIComponent(goalId)}/${o.reject ? 'reject' : 'verify'}`;
        const goal = await client.request<Goal>('POST', path, o.comment ? { comment: o.comment } : {});
        io.out(`${goal.id} ${goal.status} (version ${goal.version})\n`);
      }),
    );

  goals
    .command('action <goalId>')
    .description('Record a measurable action against a verified or active goal')
    .requiredOption('--title <text>', 'what will be done')
    .requiredOption('--owner <id>', 'who does it')
    .requiredOption('--due <date>', 'due date, YYYY-MM-DD')
    .option('--status <status>', 'planned, in_progress, done or cancelled', 'planned')
    .action(
      run(async (client, goalId: string, o: { title: string; owner: string; due: string; status: string }) => {
        const action = await client.request<{ id: string; metricBefore: { value: number | null } }>(
          'POST',
          `/api/v1/department-goals/${encodeURIComponent(goalId)}/actions`,
          { title: o.title, ownerId: o.owner, dueDate: o.due, status: o.status },
        );
        io.out(`recorded ${action.id} (metric before: ${action.metricBefore.value ?? 'no data'})\n`);
      }),
    );

  goals
    .command('overview <sessionId>')
    .description("Print a commitment session's overview")
    .option('--json', 'print the JSON document')
    .option('--html', 'print the printable HTML page')
    .action(
      run(async (client, sessionId: string, o: { json?: boolean; html?: boolean }) => {
        const path = `/api/v1/commitment-sessions/${encodeURIComponent(sessionId)}/overview`;
        if (o.html) return io.out(await client.requestText('GET', `${path}.html`));
        const doc = await client.request<{ overview: Overview; pending: string[] }>('GET', path);
        io.out(o.json ? `${JSON.stringify(doc, null, 2)}\n` : renderOverviewText(doc.overview, doc.pending));
      }),
    );

  goals
    .command('rules')
    .description('Write the Prometheus alert rules generated for every evaluated goal')
    .option('--out <file>', 'write to this file instead of stdout')
    .action(
      run(async (client, o: { out?: string }) => {
        const yaml = await client.requestText('GET', '/api/v1/goals/alert-rules');
        if (!o.out) return io.out(yaml);
        await writeFile(o.out, yaml);
        io.out(`wrote ${o.out}\n`);
      }),
    );

  return goals;
}
