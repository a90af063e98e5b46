import { writeFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError } from 'commander';
import { GoalsApiError, GoalsClient } from './client.ts';
import type { FeedRef } from './feeds.ts';
import { formatFeedValue } from './format.ts';
import type { Overview } from './model.ts';

/**
 * `cxvitals goals …`: the planner's terminal, talking to a running instance over HTTP
 * (`--url`, `--token` or CXV_URL / CXV_TOKEN):
 *
 *   goals cycles         planning cycles;  goals cycle-open  open one
 *   goals session        record a strategy session with its data baselines
 *   goals org-goal       set an organisation goal from a session
 *   goals list           department and organisation goals you may read, with their evaluation
 *   goals create         draft a department goal bound to a metric feed
 *   goals edit           change a draft or rejected goal
 *   goals submit         send it to the up-line manager
 *   goals verify         verify it, or --reject it with a --comment
 *   goals activate       activate a verified goal
 *   goals action         record a measurable action against a goal (own metric, window)
 *   goals done           mark an action done (its after-window starts then)
 *   goals commitment     hold a commitment session;  goals ack  acknowledge one
 *   goals overview       print a commitment session's overview (text, --json or --html)
 *   goals next           close a cycle and start the next from its results
 *   goals rules          write the generated Prometheus rules (alerts and recordings)
 *
 * Values are printed for people: shares in percent, durations in seconds, scores with one
 * decimal (format.ts).
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
  return `${f.kind}${f.name ? `:${f.name}` : ''}${filters ? `{${filters}}` : ''} ${g.metric.comparator} ${formatFeedValue(g.metric.target, g.metric.feed as FeedRef)} (${period})`;
}

const FILTERS = ['service', 'region', 'segment', 'product', 'origin'] as const;

/** `--feed kind[:name]` and the filter options as a feed reference. */
function feedOf(o: Record<string, unknown>, feedOption = 'feed'): FeedRef {
  const [kind, name] = String(o[feedOption]).split(':');
  const filters = Object.fromEntries(FILTERS.filter((k) => o[k] !== undefined).map((k) => [k, String(o[k])]));
  return { kind: kind as FeedRef['kind'], ...(name ? { name } : {}), filters };
}

const list = (v: string): string[] =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

interface Evaluation {
  status: string;
  value: number | null;
  reason: string;
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
    // The overview names its feed as text (kind[:name]{filters}): enough to know its unit.
    const [kind, name] = (g.metric.feed.split('{')[0] ?? '').split(':');
    const f = (v: number | null | undefined) => formatFeedValue(v, { kind: kind as FeedRef['kind'], name });
    lines.push(`${g.id}  ${g.title}  [${g.status}]`);
    lines.push(
      `  metric   ${g.metric.feed} ${g.metric.comparator} ${f(g.metric.target)} (warning ${f(g.metric.warning)}, ${g.metric.period})`,
    );
    lines.push(`  baseline ${f(g.baseline)}   latest ${g.latest ? `${f(g.latest.value)} ${g.latest.status}` : '—'}`);
    for (const a of g.actions)
      lines.push(`  - ${a.title} (${a.owner.name}, due ${a.dueDate}, ${a.status}; before ${f(a.before)}, after ${f(a.after)})`);
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
        // The latest stored evaluation of each goal: what the evaluator judged, not a fresh read.
        const latest = async (g: Goal): Promise<string[]> => {
          const e = (
            await client.request<{ items: Evaluation[] }>('GET', `/api/v1/goals/${encodeURIComponent(g.id)}/evaluations?limit=1`)
          ).items[0];
          return e ? [e.status, formatFeedValue(e.value, g.metric.feed as FeedRef)] : ['—', '—'];
        };
        const rows = [['ID', 'DEPARTMENT', 'STATUS', 'V', 'EVALUATION', 'VALUE', 'TITLE', 'METRIC']];
        for (const g of orgItems)
          rows.push([g.id, '(organisation)', g.status, String(g.version), ...(await latest(g)), g.title, describeMetric(g)]);
        for (const g of dept.items)
          rows.push([g.id, g.departmentId ?? '', g.status, String(g.version), ...(await latest(g)), g.title, describeMetric(g)]);
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
    .option('--origin <origin>', 'who supplied the data: customer, network, partner, manager or employee')
    .option('--owner <id>', 'owner (default: you)')
    .option('--description <text>')
    .action(
      run(async (client, o: Record<string, string | number | undefined>) => {
        const goal = await client.request<Goal>('POST', '/api/v1/department-goals', {
          orgGoalId: o.orgGoal,
          departmentId: o.department,
          title: o.title,
          ...(o.description ? { description: o.description } : {}),
          ...(o.owner ? { ownerId: o.owner } : {}),
          metric: {
            feed: feedOf(o),
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
    .option('--outside-owner', "allow an owner from outside the goal's department")
    .option('--metric <kind[:name]>', "the action's own metric feed (default: the goal's)")
    .option('--target <number>', "target of the action's own metric", number('--target'))
    .option('--comparator <op>', "comparator of the action's own metric", '>=')
    .option('--service <name>')
    .option('--region <name>')
    .option('--segment <name>')
    .option('--product <name>')
    .option('--origin <origin>', 'who supplied the data: customer, network, partner, manager or employee')
    .option('--window <duration>', 'length of the before and after windows', '7d')
    .option('--started <time>', 'when the action began (ISO-8601; default now)')
    .action(
      run(async (client, goalId: string, o: Record<string, string | number | boolean | undefined>) => {
        const metric =
          o.metric === undefined ? undefined : { feed: feedOf(o, 'metric'), comparator: o.comparator, target: o.target ?? 0 };
        const action = await client.request<{
          id: string;
          metric: { feed: FeedRef } | null;
          metricBefore: { value: number | null; from: string; to: string };
        }>('POST', `/api/v1/department-goals/${encodeURIComponent(goalId)}/actions`, {
          title: o.title,
          ownerId: o.owner,
          dueDate: o.due,
          status: o.status,
          window: o.window,
          ...(o.outsideOwner ? { ownerOutsideDepartment: true } : {}),
          ...(metric ? { metric } : {}),
          ...(o.started ? { startedAt: o.started } : {}),
        });
        const feed =
          action.metric?.feed ??
          ((await client.request<Goal>('GET', `/api/v1/department-goals/${encodeURIComponent(goalId)}`)).metric.feed as FeedRef);
        const before = formatFeedValue(action.metricBefore.value, feed);
        io.out(`recorded ${action.id} (metric before, ${action.metricBefore.from} – ${action.metricBefore.to}: ${before})\n`);
      }),
    );

  goals
    .command('done <actionId>')
    .description('Mark an action done; its metric after is read once the after-window is over')
    .option('--at <time>', 'when it was done (ISO-8601; default now)')
    .action(
      run(async (client, actionId: string, o: { at?: string }) => {
        const path = `/api/v1/actions/${encodeURIComponent(actionId)}`;
        const current = await client.request<{ version: number }>('GET', path);
        const action = await client.request<{ id: string; doneAt: string; window: string; metricAfter: unknown }>('PATCH', path, {
          version: current.version,
          status: 'done',
          ...(o.at ? { doneAt: o.at } : {}),
        });
        io.out(
          `${action.id} done at ${action.doneAt}; ${action.metricAfter ? 'metric after read' : `metric after read when ${action.window} have passed`}\n`,
        );
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
    .command('cycles')
    .description('List planning cycles')
    .action(
      run(async (client) => {
        const cycles = await client.request<{
          items: Array<{ id: string; name: string; startsAt: string; endsAt: string; status: string }>;
        }>('GET', '/api/v1/cycles');
        const rows = [['ID', 'NAME', 'STARTS', 'ENDS', 'STATUS']];
        for (const c of cycles.items) rows.push([c.id, c.name, c.startsAt.slice(0, 10), c.endsAt.slice(0, 10), c.status]);
        io.out(table(rows));
      }),
    );

  goals
    .command('cycle-open')
    .description('Open a planning cycle (planner)')
    .requiredOption('--name <text>')
    .requiredOption('--starts <time>', 'ISO-8601')
    .requiredOption('--ends <time>', 'ISO-8601')
    .option('--id <id>', 'its id (default: generated)')
    .action(
      run(async (client, o: { name: string; starts: string; ends: string; id?: string }) => {
        const cycle = await client.request<{ id: string }>('POST', '/api/v1/cycles', {
          name: o.name,
          startsAt: o.starts,
          endsAt: o.ends,
          ...(o.id ? { id: o.id } : {}),
        });
        io.out(`opened ${cycle.id}\n`);
      }),
    );

  goals
    .command('session')
    .description('Record a strategy session (planner) with the baselines it looked at')
    .requiredOption('--cycle <id>')
    .requiredOption('--participants <ids>', 'comma-separated person ids')
    .option('--notes <text>')
    .option(
      '--baseline <label=feed@lookback>',
      'a baseline read now, e.g. "North=availability{service=broadband,region=north}@30d" (repeatable)',
      (v: string, all: string[] = []) => [...all, v],
    )
    .action(
      run(async (client, o: { cycle: string; participants: string; notes?: string; baseline?: string[] }) => {
        const baseline = (o.baseline ?? []).map((text) => {
          const m = /^(.+?)=([a-z_]+)(?::([\w.-]+))?(?:\{([^}]*)\})?@(\S+)$/.exec(text);
          if (!m) throw new InvalidArgumentError(`--baseline "${text}": write label=kind[:name][{k=v,…}]@lookback`);
          const filters = Object.fromEntries(list(m[4] ?? '').map((kv) => kv.split('=') as [string, string]));
          return { label: m[1], feed: { kind: m[2], ...(m[3] ? { name: m[3] } : {}), filters }, lookback: m[5] };
        });
        const session = await client.request<{
          id: string;
          baseline: Array<{ label: string; feed: FeedRef; reading: { value: number | null } }>;
        }>('POST', '/api/v1/strategy-sessions', {
          cycleId: o.cycle,
          participantIds: list(o.participants),
          ...(o.notes ? { notes: o.notes } : {}),
          baseline,
        });
        io.out(`recorded ${session.id}\n`);
        for (const b of session.baseline) io.out(`  ${b.label}: ${formatFeedValue(b.reading.value, b.feed)}\n`);
      }),
    );

  goals
    .command('org-goal')
    .description('Set an organisation goal from a strategy session (planner)')
    .requiredOption('--session <id>')
    .requiredOption('--title <text>')
    .requiredOption('--owner <id>')
    .requiredOption('--feed <kind[:name]>', 'availability, serviceability, kpi:<name>, kqi:<name> or csi[:value_weighted]')
    .requiredOption('--target <number>', 'target value', number('--target'))
    .requiredOption('--warning <number>', 'early-warning threshold', number('--warning'))
    .option('--comparator <op>', '>=, >, <= or <', '>=')
    .option('--period <period>', 'rolling duration or quarter | cycle', 'quarter')
    .option('--service <name>')
    .option('--region <name>')
    .option('--segment <name>')
    .option('--product <name>')
    .option('--origin <origin>', 'who supplied the data: customer, network, partner, manager or employee')
    .action(
      run(async (client, o: Record<string, string | number | undefined>) => {
        const goal = await client.request<Goal & { baseline: { value: number | null } }>('POST', '/api/v1/org-goals', {
          strategySessionId: o.session,
          title: o.title,
          ownerId: o.owner,
          metric: {
            feed: feedOf(o),
            comparator: o.comparator,
            target: o.target,
            warning: o.warning,
            period: periodOf(String(o.period)),
          },
        });
        io.out(`created ${goal.id} (baseline ${formatFeedValue(goal.baseline.value, goal.metric.feed as FeedRef)})\n`);
      }),
    );

  goals
    .command('edit <goalId>')
    .description('Change a draft or rejected department goal (the version is read first)')
    .option('--title <text>')
    .option('--description <text>')
    .option('--owner <id>')
    .option('--target <number>', 'new target', number('--target'))
    .option('--warning <number>', 'new early-warning threshold', number('--warning'))
    .action(
      run(
        async (
          client,
          goalId: string,
          o: { title?: string; description?: string; owner?: string; target?: number; warning?: number },
        ) => {
          const path = `/api/v1/department-goals/${encodeURIComponent(goalId)}`;
          const current = await client.request<Goal & { metric: Goal['metric'] & { warning: number } }>('GET', path);
          const metric =
            o.target === undefined && o.warning === undefined
              ? undefined
              : { ...current.metric, target: o.target ?? current.metric.target, warning: o.warning ?? current.metric.warning };
          const goal = await client.request<Goal>('PATCH', path, {
            version: current.version,
            ...(o.title ? { title: o.title } : {}),
            ...(o.description ? { description: o.description } : {}),
            ...(o.owner ? { ownerId: o.owner } : {}),
            ...(metric ? { metric } : {}),
          });
          io.out(`${goal.id} ${goal.status} (version ${goal.version}): ${describeMetric(goal)}\n`);
        },
      ),
    );

  goals
    .command('activate <goalId>')
    .description('Activate a verified goal (department manager or above)')
    .action(
      run(async (client, goalId: string) => {
        const goal = await client.request<Goal>('POST', `/api/v1/department-goals/${encodeURIComponent(goalId)}/activate`, {});
        io.out(`${goal.id} ${goal.status} (version ${goal.version})\n`);
      }),
    );

  goals
    .command('commitment')
    .description("Hold a commitment session for a department's goals")
    .requiredOption('--cycle <id>')
    .requiredOption('--department <id>')
    .option('--staff <ids>', 'comma-separated (default: the department)')
    .action(
      run(async (client, o: { cycle: string; department: string; staff?: string }) => {
        const session = await client.request<{ id: string; staffIds: string[] }>('POST', '/api/v1/commitment-sessions', {
          cycleId: o.cycle,
          departmentId: o.department,
          ...(o.staff ? { staffIds: list(o.staff) } : {}),
        });
        io.out(`held ${session.id}; to acknowledge: ${session.staffIds.join(', ') || 'nobody'}\n`);
      }),
    );

  goals
    .command('ack <sessionId>')
    .description('Acknowledge a commitment session (its staff)')
    .option('--comment <text>')
    .action(
      run(async (client, sessionId: string, o: { comment?: string }) => {
        await client.request('POST', `/api/v1/commitment-sessions/${encodeURIComponent(sessionId)}/acknowledgements`, {
          ...(o.comment ? { comment: o.comment } : {}),
        });
        io.out(`acknowledged ${sessionId}\n`);
      }),
    );

  goals
    .command('next <cycleId>')
    .description('Close a cycle and start the next from its results (planner)')
    .requiredOption('--name <text>')
    .option('--id <id>', 'id of the new cycle (used as given, or refused when taken)')
    .option('--starts <time>')
    .option('--ends <time>')
    .action(
      run(async (client, cycleId: string, o: { name: string; id?: string; starts?: string; ends?: string }) => {
        const result = await client.request<{
          cycle: { id: string };
          results: Array<{
            goalId: string;
            title: string;
            statusAfter: string;
            evaluation: { value: number | null };
            carriedForwardAs: string | null;
          }>;
          summary: Record<string, number>;
        }>('POST', `/api/v1/cycles/${encodeURIComponent(cycleId)}/next`, {
          name: o.name,
          ...(o.id ? { id: o.id } : {}),
          ...(o.starts ? { startsAt: o.starts } : {}),
          ...(o.ends ? { endsAt: o.ends } : {}),
        });
        const s = result.summary;
        io.out(
          `started ${result.cycle.id}: ${s.achieved} achieved, ${s.missed} missed, ${s.notMeasured} not measured, ${s.carriedForward} goals and ${s.carriedActions} actions carried forward\n`,
        );
        const rows = [['GOAL', 'RESULT', 'CARRIED AS', 'TITLE']];
        for (const r of result.results) rows.push([r.goalId, r.statusAfter, r.carriedForwardAs ?? '—', r.title]);
        io.out(table(rows));
      }),
    );

  goals
    .command('rules')
    .description('Write the Prometheus rules generated for every evaluated goal you may read (alerts and SLI recordings)')
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
