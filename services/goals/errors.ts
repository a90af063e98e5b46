/**
 * Domain errors of the goals service: a code, a message a person can act on, and the
 * fields at fault. Goals code throws these and knows nothing of HTTP; the goals route
 * plugin (routes.ts) gives each code its status, once.
 */

export const goalsErrorCodes = [
  // who is calling
  'UNAUTHENTICATED',
  // what they may do
  'ADMIN_ONLY',
  'PLANNER_ONLY',
  'FORBIDDEN_READ',
  'FORBIDDEN_WRITE',
  'FORBIDDEN_ACTIVATE',
  'SELF_VERIFICATION',
  'NOT_UPLINE_MANAGER',
  'NOT_IN_SESSION',
  // what they asked for
  'NOT_FOUND',
  // the state it is in
  'ALREADY_EXISTS',
  'STALE_VERSION',
  'CHANGED_MEANWHILE',
  'CYCLE_CLOSED',
  'CYCLE_NOT_STARTED',
  'CYCLE_ALREADY_CONTINUED',
  'INVALID_TRANSITION',
  'NOT_EDITABLE',
  'ORG_GOAL_CLOSED',
  'GOAL_NOT_COMMITTED',
  'ALREADY_ACKNOWLEDGED',
  'PERSON_INACTIVE',
  // what they sent
  'INVALID_REQUEST',
  'UNKNOWN_DEPARTMENT',
  'UNKNOWN_PERSON',
  'UNKNOWN_FEED',
  'UNKNOWN_PRODUCT',
  'FILTER_NOT_SUPPORTED',
  'HIERARCHY_LOOP',
  'INVALID_WARNING',
  'COMMENT_REQUIRED',
  'OWNER_NOT_ALLOWED',
  'DUE_OUTSIDE_CYCLE',
  'CYCLE_ID_MISMATCH',
] as const;
export type GoalsErrorCode = (typeof goalsErrorCodes)[number];

export interface FieldProblem {
  field: string;
  message: string;
}

export class GoalsError extends Error {
  constructor(
    readonly code: GoalsErrorCode,
    message: string,
    readonly fields?: FieldProblem[],
  ) {
    super(message);
    this.name = 'GoalsError';
  }
}

export const isGoalsError = (err: unknown, code?: GoalsErrorCode): err is GoalsError =>
  err instanceof GoalsError && (code === undefined || err.code === code);
