import { z } from 'zod';
import { origin } from '../shared/sources/common.ts';
import { comparators, goalStatuses } from './evaluate.ts';
import { feedKinds } from './feeds.ts';
import { parseDuration } from './period.ts';

/**
 * The planning model, declared once as zod schemas: the API validates requests and
 * serialises responses with them, and the stored entities have these shapes. Times are
 * ISO-8601 strings in UTC.
 */

export const isoTime = z.string().refine((v) => !Number.isNaN(Date.parse(v)), { message: 'must be an ISO-8601 time' });
const id = z.string().min(1).max(64);
const name = z.string().trim().min(1).max(200);

export const roles = ['admin', 'planner', 'manager', 'staff'] as const;
export type Role = (typeof roles)[number];

export const departmentSchema = z.object({
  id,
  name,
  /** The department above; null for the top of the organisation. */
  parentId: id.nullable(),
  /** Manager of this department; the up-line manager of its sub-departments' goals. */
  managerId: id.nullable(),
});
export type Department = z.infer<typeof departmentSchema>;

export const personSchema = z.object({
  id,
  name,
  email: z.string().max(200).nullable(),
  role: z.enum(roles),
  departmentId: id.nullable(),
  active: z.boolean(),
});
export type Person = z.infer<typeof personSchema>;

export const feedSchema = z.object({
  kind: z.enum(feedKinds),
  name: z.string().min(1).max(128).optional(),
  filters: z
    .object({
      service: z.string().min(1).max(128).optional(),
      region: z.string().min(1).max(128).optional(),
      segment: z.string().min(1).max(128).optional(),
      product: z.string().min(1).max(128).optional(),
      /** Who supplied the data (customer, network, partner, manager, employee). */
      origin: origin.optional(),
    })
    .default({}),
});

export const periodSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('rolling'),
    duration: z.string().refine((d) => parseDuration(d) !== undefined, {
      message: 'must be a duration such as 7d, 12h, P7D or PT12H (at most 366 days; months are a calendar period)',
    }),
  }),
  z.object({ type: z.literal('calendar'), calendar: z.enum(['quarter', 'cycle']) }),
]);

export const successMetricSchema = z.object({
  feed: feedSchema,
  comparator: z.enum(comparators),
  target: z.number().finite(),
  /** Early-warning threshold, on the good side of the target. */
  warning: z.number().finite(),
  period: periodSchema,
  unit: z.string().max(32).optional(),
});
export type SuccessMetric = z.infer<typeof successMetricSchema>;

/** A value read from a feed at a moment: the baseline of a goal, the before/after of an action. */
export const readingSchema = z.object({
  readAt: isoTime,
  from: isoTime,
  to: isoTime,
  value: z.number().nullable(),
  numerator: z.number().nullable(),
  denominator: z.number().nullable(),
  /** Why there is no value, when the feed itself could not answer (e.g. UNKNOWN_FEED for a KPI removed from the model since the goal was set). */
  noData: z.object({ code: z.string(), message: z.string() }).nullable(),
});
export type Reading = z.infer<typeof readingSchema>;

/** How one goal of a closed cycle ended, against its baseline (kept on the closed cycle). */
export const cycleResultSchema = z.object({
  goalId: id,
  kind: z.enum(['org', 'department']),
  title: name,
  departmentId: id.nullable(),
  statusBefore: z.string(),
  statusAfter: z.string(),
  evaluation: z.object({
    status: z.enum(goalStatuses),
    value: z.number().nullable(),
    comparator: z.string(),
    target: z.number(),
    reason: z.string(),
  }),
  baselineValue: z.number().nullable(),
  /** value − baseline: how far the cycle moved the metric (null without both). */
  change: z.number().nullable(),
  carriedForwardAs: id.nullable(),
});
export type CycleResult = z.infer<typeof cycleResultSchema>;

export const cycleSchema = z.object({
  id,
  name,
  startsAt: isoTime,
  endsAt: isoTime,
  status: z.enum(['open', 'closed']),
  previousCycleId: id.nullable(),
  nextCycleId: id.nullable(),
  /** Set when the cycle is closed by starting the next one. */
  results: z.array(cycleResultSchema).nullable(),
});
export type Cycle = z.infer<typeof cycleSchema>;

export const baselineItemSchema = z.object({ label: name, feed: feedSchema, lookback: z.string(), reading: readingSchema });

export const strategySessionSchema = z.object({
  id,
  cycleId: id,
  heldAt: isoTime,
  facilitatorId: id,
  participantIds: z.array(id),
  notes: z.string().max(20_000),
  /** The data the session saw, read from the feeds at that time. */
  baseline: z.array(baselineItemSchema),
});
export type StrategySession = z.infer<typeof strategySessionSchema>;

export const orgGoalStatuses = ['active', 'achieved', 'missed', 'not_measured'] as const;
export const orgGoalSchema = z.object({
  id,
  cycleId: id,
  strategySessionId: id.nullable(),
  title: name,
  description: z.string().max(20_000),
  ownerId: id,
  metric: successMetricSchema,
  baseline: readingSchema,
  status: z.enum(orgGoalStatuses),
  carriedFromId: id.nullable(),
});
export type OrgGoal = z.infer<typeof orgGoalSchema>;

export const deptGoalStatuses = [
  'draft',
  'submitted',
  'verified',
  'rejected',
  'active',
  'achieved',
  'missed',
  'not_measured',
] as const;
export type DeptGoalStatus = (typeof deptGoalStatuses)[number];

export const verificationSchema = z.object({
  requestedAt: isoTime,
  requestedBy: id,
  /** Who is asked first: the up-line manager at the time of the request (or null: only an admin). */
  uplineManagerId: id.nullable(),
  decision: z.enum(['verified', 'rejected']).nullable(),
  decidedAt: isoTime.nullable(),
  decidedBy: id.nullable(),
  comment: z.string().nullable(),
});
export type Verification = z.infer<typeof verificationSchema>;

export const deptGoalSchema = z.object({
  id,
  cycleId: id,
  departmentId: id,
  orgGoalId: id,
  title: name,
  description: z.string().max(20_000),
  ownerId: id,
  authorId: id,
  metric: successMetricSchema,
  baseline: readingSchema,
  status: z.enum(deptGoalStatuses),
  /** Every verification request and its decision, oldest first. */
  verifications: z.array(verificationSchema),
  carriedFromId: id.nullable(),
});
export type DeptGoal = z.infer<typeof deptGoalSchema>;

export const actionStatuses = ['planned', 'in_progress', 'done', 'cancelled'] as const;

const duration = z.string().refine((d) => parseDuration(d) !== undefined, {
  message: 'must be a duration such as 7d, 12h, P7D or PT12H (at most 366 days)',
});

/** An action's own success measure: any feed, with the target the action aims at. */
export const actionMetricSchema = z.object({
  feed: feedSchema,
  comparator: z.enum(comparators),
  target: z.number().finite(),
  unit: z.string().max(32).optional(),
});
export type ActionMetric = z.infer<typeof actionMetricSchema>;

export const actionSchema = z.object({
  id,
  goalId: id,
  cycleId: id,
  title: name,
  ownerId: id,
  /** The owner is outside the goal's department, allowed explicitly when the action was recorded. */
  ownerOutsideDepartment: z.boolean().default(false),
  dueDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { message: 'must be a date YYYY-MM-DD' }),
  status: z.enum(actionStatuses),
  /** The action's own metric; null: the goal's metric is the measure. */
  metric: actionMetricSchema.nullable().default(null),
  /** Length of the equal windows read before the action started and after it was done. */
  window: duration.default('7d'),
  startedAt: isoTime.nullable().default(null),
  doneAt: isoTime.nullable().default(null),
  /** The metric over [startedAt − window, startedAt). */
  metricBefore: readingSchema,
  /**
   * The metric over [doneAt, doneAt + window), read once that window is over (null until
   * then: a window still filling is no evidence of an effect).
   */
  metricAfter: readingSchema.nullable(),
  /** The action of the previous cycle this one continues (open actions travel with their goal). */
  carriedFromId: id.nullable().default(null),
});
export type Action = z.infer<typeof actionSchema>;

const personRef = z.object({ id, name: z.string() });

/** The commitment overview: the department's goals, metrics and actions, fixed when the session is held. */
export const overviewSchema = z.object({
  generatedAt: isoTime,
  cycle: z.object({ id, name, startsAt: isoTime, endsAt: isoTime }),
  department: z.object({ id, name }),
  manager: personRef,
  staff: z.array(personRef),
  goals: z.array(
    z.object({
      id,
      title: name,
      status: z.enum(deptGoalStatuses),
      orgGoal: z.object({ id, title: z.string() }),
      owner: personRef,
      metric: z.object({
        feed: z.string(),
        comparator: z.enum(comparators),
        target: z.number(),
        warning: z.number(),
        period: z.string(),
        unit: z.string().nullable(),
      }),
      baseline: z.number().nullable(),
      latest: z
        .object({ status: z.enum(goalStatuses), value: z.number().nullable(), evaluatedAt: isoTime, reason: z.string() })
        .nullable(),
      actions: z.array(
        z.object({
          id,
          title: name,
          owner: personRef,
          dueDate: z.string(),
          status: z.enum(actionStatuses),
          before: z.number().nullable(),
          after: z.number().nullable(),
        }),
      ),
    }),
  ),
});
export type Overview = z.infer<typeof overviewSchema>;

export const acknowledgementSchema = z.object({ personId: id, at: isoTime, comment: z.string().max(2000).nullable() });

export const commitmentSessionSchema = z.object({
  id,
  cycleId: id,
  departmentId: id,
  managerId: id,
  heldAt: isoTime,
  staffIds: z.array(id),
  overview: overviewSchema,
  acknowledgements: z.array(acknowledgementSchema),
});
export type CommitmentSession = z.infer<typeof commitmentSessionSchema>;

export const tokenSchema = z.object({
  id,
  personId: id,
  label: z.string().max(200),
  /** SHA-256 of the token, hex. The token itself is shown once and never stored. */
  sha256: z.string(),
  revoked: z.boolean(),
});
export type Token = z.infer<typeof tokenSchema>;

export const goalStatusSchema = z.enum(goalStatuses);

/** Entity kinds of the versioned store; the id prefix tells the kind of a goal id. */
export const entityKinds = [
  'department',
  'person',
  'cycle',
  'strategy_session',
  'org_goal',
  'department_goal',
  'action',
  'commitment_session',
  'token',
] as const;
export type EntityKind = (typeof entityKinds)[number];

export interface EntityTypes {
  department: Department;
  person: Person;
  cycle: Cycle;
  strategy_session: StrategySession;
  org_goal: OrgGoal;
  department_goal: DeptGoal;
  action: Action;
  commitment_session: CommitmentSession;
  token: Token;
}

export const ID_PREFIX: Record<EntityKind, string> = {
  department: 'dep',
  person: 'per',
  cycle: 'cyc',
  strategy_session: 'ss',
  org_goal: 'og',
  department_goal: 'dg',
  action: 'act',
  commitment_session: 'cs',
  token: 'tok',
};

/** Added to every entity in API answers: send `version` back to change it (optimistic concurrency). */
export const versionFields = { version: z.number().int(), updatedAt: isoTime, updatedBy: z.string() };
