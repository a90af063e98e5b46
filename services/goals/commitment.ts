import { deny, type GoalsContext, iso, loadDirectory, requireOpenCycle, requirePerson } from './context.ts';
import { GoalsError } from './errors.ts';
import type { GoalEvaluator } from './evaluator.ts';
import { describeFeed } from './feeds.ts';
import { isAdmin, managesOrAbove, readDenial } from './hierarchy.ts';
import { EVALUATED } from './lifecycle.ts';
import type { CommitmentSession, Overview, Person } from './model.ts';
import type { PeriodSpec } from './period.ts';
import type { Stored } from './repository.ts';

/**
 * Commitment sessions: a manager and their staff go through the department's goals,
 * metrics and actions of the cycle, and each staff member acknowledges. The overview is
 * fixed when the session is held, so every acknowledgement refers to the same document.
 */

export interface CommitmentInput {
  cycleId: string;
  departmentId: string;
  heldAt?: string | undefined;
  /** Default: every active member of the department except its manager. */
  staffIds?: string[] | undefined;
}

export const describePeriod = (period: PeriodSpec): string =>
  period.type === 'rolling' ? `rolling ${period.duration}` : `calendar ${period.calendar}`;

export class CommitmentService {
  constructor(
    private readonly ctx: GoalsContext,
    private readonly evaluator: GoalEvaluator,
  ) {}

  async get(actor: Person, id: string): Promise<Stored<CommitmentSession>> {
    const session = await this.ctx.entities.require('commitment_session', id);
    const dir = await loadDirectory(this.ctx);
    if (!session.value.staffIds.includes(actor.id)) deny(readDenial(dir, actor, session.value.departmentId));
    return session;
  }

  async list(actor: Person, cycleId?: string): Promise<Array<Stored<CommitmentSession>>> {
    const [dir, all] = await Promise.all([loadDirectory(this.ctx), this.ctx.entities.list('commitment_session')]);
    return all.filter(
      (s) =>
        (!cycleId || s.value.cycleId === cycleId) &&
        (s.value.staffIds.includes(actor.id) || !readDenial(dir, actor, s.value.departmentId)),
    );
  }

  async create(actor: Person, input: CommitmentInput): Promise<Stored<CommitmentSession>> {
    const dir = await loadDirectory(this.ctx);
    const department = dir.departments.get(input.departmentId);
    if (!department)
      throw new GoalsError('UNKNOWN_DEPARTMENT', `No department "${input.departmentId}".`, [
        { field: 'body.departmentId', message: 'unknown department' },
      ]);
    if (!isAdmin(actor) && !managesOrAbove(dir, actor.id, department.id)) {
      throw new GoalsError(
        'FORBIDDEN_WRITE',
        `Only the manager of department "${department.id}" or a manager above may hold its commitment session.`,
      );
    }
    const cycle = (await this.ctx.entities.require('cycle', input.cycleId)).value;
    requireOpenCycle(cycle);
    const managerId = department.managerId ?? actor.id;
    const staffIds =
      input.staffIds ??
      [...dir.people.values()].filter((p) => p.departmentId === department.id && p.active && p.id !== managerId).map((p) => p.id);
    for (const [i, p] of staffIds.entries()) requirePerson(dir, p, `body.staffIds.${i}`);
    const ref = (personId: string) => ({ id: personId, name: dir.people.get(personId)?.name ?? personId });

    const goals = (await this.ctx.entities.list('department_goal')).filter(
      (g) => g.value.cycleId === cycle.id && g.value.departmentId === department.id,
    );
    const actions = (await this.ctx.entities.list('action')).filter((a) => a.value.cycleId === cycle.id);
    const orgGoals = new Map((await this.ctx.entities.list('org_goal')).map((g) => [g.value.id, g.value]));
    const now = this.ctx.clock();
    const overview: Overview = {
      generatedAt: iso(now),
      cycle: { id: cycle.id, name: cycle.name, startsAt: cycle.startsAt, endsAt: cycle.endsAt },
      department: { id: department.id, name: department.name },
      manager: ref(managerId),
      staff: staffIds.map(ref),
      goals: [],
    };
    for (const { value: g } of goals.sort((a, b) => (a.value.id < b.value.id ? -1 : 1))) {
      const latest = EVALUATED.includes(g.status) ? (await this.evaluator.evaluate('department', g, cycle, now)).record : null;
      overview.goals.push({
        id: g.id,
        title: g.title,
        status: g.status,
        orgGoal: { id: g.orgGoalId, title: orgGoals.get(g.orgGoalId)?.title ?? g.orgGoalId },
        owner: ref(g.ownerId),
        metric: {
          feed: describeFeed(g.metric.feed),
          comparator: g.metric.comparator,
          target: g.metric.target,
          warning: g.metric.warning,
          period: describePeriod(g.metric.period),
          unit: g.metric.unit ?? null,
        },
        baseline: g.baseline.value,
        latest: latest
          ? { status: latest.status, value: latest.value, evaluatedAt: latest.evaluatedAt, reason: latest.reason }
          : null,
        actions: actions
          .filter((a) => a.value.goalId === g.id)
          .map(({ value: a }) => ({
            id: a.id,
            title: a.title,
            owner: ref(a.ownerId),
            dueDate: a.dueDate,
            status: a.status,
            before: a.metricBefore.value,
            after: a.metricAfter?.value ?? null,
          })),
      });
    }
    const session: CommitmentSession = {
      id: this.ctx.entities.newId('commitment_session'),
      cycleId: cycle.id,
      departmentId: department.id,
      managerId,
      heldAt: input.heldAt ? iso(Date.parse(input.heldAt)) : iso(now),
      staffIds: [...new Set(staffIds)],
      overview,
      acknowledgements: [],
    };
    return this.ctx.entities.create('commitment_session', session, { actorId: actor.id, action: 'commitment_session.create' });
  }

  /** A staff member acknowledges the overview, once, for themselves only. */
  async acknowledge(actor: Person, id: string, comment: string | undefined): Promise<Stored<CommitmentSession>> {
    return this.ctx.entities.update(
      'commitment_session',
      id,
      undefined,
      { actorId: actor.id, action: 'commitment_session.acknowledge', comment },
      (s) => {
        if (!s.staffIds.includes(actor.id)) {
          throw new GoalsError(
            'NOT_IN_SESSION',
            `${actor.id} is not among the staff of commitment session "${id}"; only they acknowledge it.`,
          );
        }
        if (s.acknowledgements.some((a) => a.personId === actor.id)) {
          throw new GoalsError('ALREADY_ACKNOWLEDGED', `${actor.id} has already acknowledged commitment session "${id}".`);
        }
        return {
          ...s,
          acknowledgements: [...s.acknowledgements, { personId: actor.id, at: iso(this.ctx.clock()), comment: comment ?? null }],
        };
      },
    );
  }
}
