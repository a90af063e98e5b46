import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type AlertGoal, alertRulesYaml } from './alerts.ts';
import { Authenticator } from './auth.ts';
import { CommitmentService } from './commitment.ts';
import { deny, type GoalsContext, type GoalsDeps, iso, loadDirectory } from './context.ts';
import { DepartmentGoalService } from './department-goals.ts';
import { GoalsError } from './errors.ts';
import type { MetricPoint } from './evaluate.ts';
import { type EvaluationRecord, type GoalEvaluation, GoalEvaluator, type GoalKind } from './evaluator.ts';
import { createMetricFeedReader } from './feeds.ts';
import { formatFeedValue } from './format.ts';
import { readDenial } from './hierarchy.ts';
import { EVALUATED } from './lifecycle.ts';
import { GoalsMetrics } from './metrics.ts';
import type { Action, Cycle, DeptGoal, OrgGoal, Person } from './model.ts';
import { type NextCycleResult, startNextCycle } from './next-cycle.ts';
import { OrganisationService } from './organisation.ts';
import { PlanningService } from './planning.ts';
import { type ChangeRecord, EntityRepository, type Stored } from './repository.ts';

/**
 * The goals service: the planning model and its API operations, and the evaluator that
 * judges every bound success metric at least once a minute, keeps the history, moves
 * finished goals to achieved or missed, updates the Prometheus gauges and (optionally)
 * writes the generated alert rules.
 */

export interface RunSummary {
  evaluated: number;
  stored: number;
  failed: number;
  transitioned: number;
}

/** One goal of the open cycle as the dashboard's goal strip shows it. */
export interface StripGoal {
  id: string;
  kind: GoalKind;
  title: string;
  departmentId: string | null;
  cycleId: string;
  /** Lifecycle status (draft … active, achieved, missed, not_measured). */
  lifecycle: string;
  /** The latest stored evaluation's status (what cxv_goal_status exports); null if never evaluated. */
  status: string | null;
  value: number | null;
  /** Value and target as people read them (format.ts). */
  valueText: string;
  targetText: string;
  reason: string | null;
  page: string;
}

export interface GoalPage {
  kind: GoalKind;
  goal: (OrgGoal | DeptGoal) & { version: number; updatedAt: string; updatedBy: string };
  cycle: Cycle;
  evaluation: EvaluationRecord;
  trend: { stepMs: number; points: Array<{ t: string; value: number | null }> };
  actions: Array<Action & { version: number; updatedAt: string; updatedBy: string }>;
  departmentGoalIds: string[];
}

const flatten = <T>(s: Stored<T>): T & { version: number; updatedAt: string; updatedBy: string } => ({
  ...s.value,
  version: s.version,
  updatedAt: s.updatedAt,
  updatedBy: s.updatedBy,
});

const closingAction = { achieved: 'achieve', missed: 'miss', not_measured: 'not_measured' } as const;

export const goalKindOf = (id: string): GoalKind | undefined =>
  id.startsWith('og-') ? 'org' : id.startsWith('dg-') ? 'department' : undefined;

export class GoalsService {
  readonly ctx: GoalsContext;
  readonly auth: Authenticator;
  readonly organisation: OrganisationService;
  readonly planning: PlanningService;
  readonly departmentGoals: DepartmentGoalService;
  readonly commitments: CommitmentService;
  readonly evaluator: GoalEvaluator;
  readonly metrics: GoalsMetrics;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RunSummary> | undefined;
  private stopped = true;
  /** The evaluated goals of the last run, with the department whose readers may see each (null: an organisation goal). */
  private lastAlertGoals: Array<AlertGoal & { departmentId: string | null }> | undefined;
  private lastRulesWritten: string | undefined;

  constructor(private readonly deps: GoalsDeps) {
    const clock = deps.clock ?? Date.now;
    const entities = new EntityRepository(deps.store, clock);
    const feeds =
      deps.feeds ??
      createMetricFeedReader({
        store: deps.store,
        excuseRetroactive: deps.excuseRetroactiveMaintenance ?? false,
        model: deps.model,
      });
    this.ctx = { entities, feeds, clock, log: deps.log };
    this.auth = new Authenticator(this.ctx, deps.adminToken);
    this.organisation = new OrganisationService(this.ctx, this.auth);
    this.planning = new PlanningService(this.ctx);
    this.departmentGoals = new DepartmentGoalService(this.ctx);
    this.evaluator = new GoalEvaluator(this.ctx, deps.store);
    this.commitments = new CommitmentService(this.ctx, this.evaluator);
    this.metrics = new GoalsMetrics(deps.registry, deps.maxExportedGoals ?? 200);
  }

  get intervalMs(): number {
    return Math.min(this.deps.evaluationIntervalMs ?? 60_000, 60_000);
  }

  /** Starts the periodic evaluator (first run right away). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const tick = async () => {
      await this.runOnce().catch((err: unknown) => this.ctx.log.error({ err }, 'goals evaluation run failed'));
      if (!this.stopped) this.timer = setTimeout(() => void tick(), this.intervalMs);
    };
    this.timer = setTimeout(() => void tick(), 0);
  }

  /** Stops the evaluator and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** Embedded demo mode: a token for the `demo-planner` admin, for the caller to print. */
  issueDemoToken(): Promise<{ personId: string; token: string }> {
    return this.auth.issueDemoToken();
  }

  /** One evaluator pass; concurrent callers share the pass in progress. */
  runOnce(): Promise<RunSummary> {
    this.running ??= this.evaluateAll().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async evaluatedGoals(): Promise<Array<{ kind: GoalKind; goal: OrgGoal | DeptGoal; cycle: Cycle }>> {
    const cycles = new Map(
      (await this.ctx.entities.list('cycle')).filter((c) => c.value.status === 'open').map((c) => [c.value.id, c.value]),
    );
    const out: Array<{ kind: GoalKind; goal: OrgGoal | DeptGoal; cycle: Cycle }> = [];
    for (const { value: g } of await this.ctx.entities.list('org_goal')) {
      const cycle = cycles.get(g.cycleId);
      if (cycle && g.status === 'active') out.push({ kind: 'org', goal: g, cycle });
    }
    for (const { value: g } of await this.ctx.entities.list('department_goal')) {
      const cycle = cycles.get(g.cycleId);
      if (cycle && EVALUATED.includes(g.status)) out.push({ kind: 'department', goal: g, cycle });
    }
    return out;
  }

  private async evaluateAll(): Promise<RunSummary> {
    const now = this.ctx.clock();
    const summary: RunSummary = { evaluated: 0, stored: 0, failed: 0, transitioned: 0 };
    try {
      const evaluations: Array<{ kind: GoalKind; goal: OrgGoal | DeptGoal; result: GoalEvaluation }> = [];
      for (const { kind, goal, cycle } of await this.evaluatedGoals()) {
        try {
          evaluations.push({ kind, goal, result: await this.evaluator.evaluate(kind, goal, cycle, now) });
        } catch (err) {
          // One feed failing must not stop the others; the goal keeps its last stored status.
          summary.failed += 1;
          this.metrics.goalFailures.inc();
          this.ctx.log.warn({ err, goalId: goal.id }, 'goal evaluation failed');
        }
      }
      const records = evaluations.map((e) => e.result.record);
      summary.evaluated = records.length;
      summary.stored = await this.evaluator.record(records);
      for (const { kind, goal, result } of evaluations) {
        if (await this.closeFinished(kind, goal, result.record)) summary.transitioned += 1;
      }
      this.metrics.update(records, now);
      this.metrics.countSli(
        evaluations.map(({ kind, goal, result }) => ({ goalId: goal.id, kind, recent: result.recent })),
        now,
      );
      await this.departmentGoals.actions.measureDue(now);
      this.lastAlertGoals = evaluations.map(({ kind, goal, result }) => ({
        id: goal.id,
        kind,
        title: goal.title,
        ratio: result.ratio,
        comparator: goal.metric.comparator,
        target: goal.metric.target,
        periodLengthMs: result.periodLengthMs,
        calendar: goal.metric.period.type === 'calendar',
        departmentId: kind === 'department' ? (goal as DeptGoal).departmentId : null,
      }));
      await this.writeAlertRules(this.lastAlertGoals);
      this.metrics.runs.inc({ outcome: 'ok' });
      return summary;
    } catch (err) {
      this.metrics.runs.inc({ outcome: 'failed' });
      throw err;
    }
  }

  /** An active goal whose period is over becomes achieved, missed or (no data at all) not_measured. */
  private async closeFinished(kind: GoalKind, goal: OrgGoal | DeptGoal, record: EvaluationRecord): Promise<boolean> {
    const status = record.status;
    if (goal.status !== 'active' || (status !== 'achieved' && status !== 'missed' && status !== 'not_measured')) return false;
    const meta = {
      actorId: 'system:evaluator',
      action: `${kind === 'org' ? 'org_goal' : 'department_goal'}.${closingAction[status]}`,
      comment: record.reason,
    };
    // Someone may have closed it since it was listed (the next cycle starting): then leave it.
    const apply = <G extends { status: string }>(g: G): G => {
      if (g.status !== 'active') throw new GoalsError('CHANGED_MEANWHILE', `goal ${goal.id} is no longer active`);
      return { ...g, status };
    };
    try {
      if (kind === 'org') await this.ctx.entities.update('org_goal', goal.id, undefined, meta, (g) => apply(g));
      else await this.ctx.entities.update('department_goal', goal.id, undefined, meta, (g) => apply(g));
      return true;
    } catch (err) {
      if (err instanceof GoalsError && err.code === 'CHANGED_MEANWHILE') return false;
      throw err;
    }
  }

  private async writeAlertRules(goals: AlertGoal[]): Promise<void> {
    const file = this.deps.alertRulesPath;
    if (!file) return;
    const yaml = alertRulesYaml(goals);
    if (yaml === this.lastRulesWritten) return;
    if (this.lastRulesWritten === undefined && (await readFile(file, 'utf8').catch(() => undefined)) === yaml) {
      this.lastRulesWritten = yaml;
      return;
    }
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, yaml);
    this.lastRulesWritten = yaml;
    this.ctx.log.info({ file, goals: goals.length }, 'goal alert rules written');
  }

  /**
   * The alert rules of the evaluated goals the actor may read, as of the last evaluator run
   * (one runs now if none has): a department goal's title and target are shown to those who
   * may read that department's goals, as on the goal's own page. The file written to
   * `alertRulesPath` is the operator's and holds every goal.
   */
  async alertRulesYaml(actor: Person): Promise<string> {
    if (!this.lastAlertGoals) await this.runOnce();
    const dir = await loadDirectory(this.ctx);
    const readable = (this.lastAlertGoals ?? []).filter(
      (g) => g.departmentId === null || !readDenial(dir, actor, g.departmentId),
    );
    return alertRulesYaml(readable.map(({ departmentId: _, ...goal }) => goal));
  }

  async requireGoal(actor: Person, goalId: string): Promise<{ kind: GoalKind; stored: Stored<OrgGoal> | Stored<DeptGoal> }> {
    const kind = goalKindOf(goalId);
    if (kind === 'org') return { kind, stored: await this.ctx.entities.require('org_goal', goalId) };
    if (kind === 'department') return { kind, stored: await this.departmentGoals.get(actor, goalId) };
    throw new GoalsError('NOT_FOUND', `No goal "${goalId}": goal ids start with og- (organisation) or dg- (department).`);
  }

  /** Evaluates one goal now and stores the outcome (when it changed). */
  async evaluateNow(actor: Person, goalId: string): Promise<GoalEvaluation> {
    const { kind, stored } = await this.requireGoal(actor, goalId);
    const cycle = (await this.ctx.entities.require('cycle', stored.value.cycleId)).value;
    const result = await this.evaluator.evaluate(kind, stored.value, cycle);
    await this.evaluator.record([result.record]);
    return result;
  }

  /** A goal with its metric's trend against the target, its latest evaluation and its actions. */
  async goalPage(actor: Person, goalId: string): Promise<GoalPage> {
    const { kind, stored } = await this.requireGoal(actor, goalId);
    const cycle = (await this.ctx.entities.require('cycle', stored.value.cycleId)).value;
    const { record, trend } = await this.evaluator.evaluate(kind, stored.value, cycle);
    const actions =
      kind === 'department' ? (await this.ctx.entities.list('action')).filter((a) => a.value.goalId === goalId) : [];
    const departmentGoalIds =
      kind === 'org'
        ? (await this.departmentGoals.list(actor, { cycleId: cycle.id }))
            .filter((g) => g.value.orgGoalId === goalId)
            .map((g) => g.value.id)
        : [];
    const toPoint = (p: MetricPoint) => ({ t: iso(p.t), value: p.value });
    return {
      kind,
      goal: flatten<OrgGoal | DeptGoal>(stored as Stored<OrgGoal | DeptGoal>),
      cycle,
      evaluation: record,
      trend: { stepMs: trend.stepMs, points: trend.points.map(toPoint) },
      actions: actions.map(flatten),
      departmentGoalIds,
    };
  }

  async goalHistory(
    actor: Person,
    goalId: string,
    query: { from?: number | undefined; to?: number | undefined; limit: number },
  ): Promise<EvaluationRecord[]> {
    await this.requireGoal(actor, goalId);
    return this.evaluator.history(goalId, query);
  }

  async goalAudit(actor: Person, goalId: string): Promise<ChangeRecord[]> {
    const { kind } = await this.requireGoal(actor, goalId);
    return this.ctx.entities.history(kind === 'org' ? 'org_goal' : 'department_goal', goalId);
  }

  /** The audit trail of any entity: planners see all; others what they may read. */
  async audit(actor: Person, filter: Parameters<EntityRepository['changes']>[0]): Promise<ChangeRecord[]> {
    if (actor.role !== 'admin' && actor.role !== 'planner') {
      throw new GoalsError(
        'PLANNER_ONLY',
        'Only planners and admins read the whole audit trail; use /api/v1/goals/{id}/audit for a goal you can read.',
      );
    }
    return this.ctx.entities.changes(filter);
  }

  nextCycle(actor: Person, cycleId: string, input: Parameters<typeof startNextCycle>[4]): Promise<NextCycleResult> {
    return startNextCycle(this.ctx, this.evaluator, actor, cycleId, input);
  }

  /**
   * The goal strip: every goal of the open cycles the actor may read, with its title, its
   * latest stored evaluation (the status /metrics exports) and a link to its page. Goals
   * without data are listed like the others.
   */
  async strip(actor: Person): Promise<StripGoal[]> {
    const open = new Set((await this.ctx.entities.list('cycle')).filter((c) => c.value.status === 'open').map((c) => c.value.id));
    const dir = await loadDirectory(this.ctx);
    const goals: Array<{ kind: GoalKind; goal: OrgGoal | DeptGoal; departmentId: string | null }> = [
      ...(await this.ctx.entities.list('org_goal'))
        .filter((g) => open.has(g.value.cycleId))
        .map((g) => ({ kind: 'org' as const, goal: g.value as OrgGoal | DeptGoal, departmentId: null })),
      ...(await this.ctx.entities.list('department_goal'))
        .filter((g) => open.has(g.value.cycleId) && !readDenial(dir, actor, g.value.departmentId))
        .map((g) => ({ kind: 'department' as const, goal: g.value as OrgGoal | DeptGoal, departmentId: g.value.departmentId })),
    ];
    const latest = await this.evaluator.latest(goals.map((g) => g.goal.id));
    return goals
      .map(({ kind, goal, departmentId }) => {
        const e = latest.get(goal.id);
        return {
          id: goal.id,
          kind,
          title: goal.title,
          departmentId,
          cycleId: goal.cycleId,
          lifecycle: goal.status,
          status: e?.status ?? null,
          value: e?.value ?? null,
          valueText: formatFeedValue(e?.value ?? null, goal.metric.feed),
          targetText: `${goal.metric.comparator} ${formatFeedValue(goal.metric.target, goal.metric.feed)}`,
          reason: e?.reason ?? null,
          page: `/api/v1/goals/${goal.id}/trend.html`,
        };
      })
      .sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** Checks read access to a department (for routes that show department data). */
  async checkDepartmentRead(actor: Person, departmentId: string): Promise<void> {
    deny(readDenial(await loadDirectory(this.ctx), actor, departmentId));
  }
}
