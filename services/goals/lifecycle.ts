import type { DeptGoalStatus } from './model.ts';

/**
 * The department goal lifecycle (pure):
 *
 *   draft ──submit──▶ submitted ──verify──▶ verified ──activate──▶ active ──▶ achieved | missed | not_measured
 *     ▲                   │                                          (by evaluation at period end,
 *     │                reject (comment)                               or when the next cycle starts)
 *     │                   ▼
 *     └──(edit)──── rejected ──submit (resubmit)──▶ submitted
 *
 * Edits (title, description, owner, metric) are allowed only in draft or rejected: a
 * verified goal's metric is what the up-line manager agreed to.
 */

export type DeptGoalTransition = 'submit' | 'verify' | 'reject' | 'activate' | 'achieve' | 'miss' | 'not_measured';

export const TRANSITIONS: Record<DeptGoalTransition, { from: readonly DeptGoalStatus[]; to: DeptGoalStatus }> = {
  submit: { from: ['draft', 'rejected'], to: 'submitted' },
  verify: { from: ['submitted'], to: 'verified' },
  reject: { from: ['submitted'], to: 'rejected' },
  activate: { from: ['verified'], to: 'active' },
  achieve: { from: ['active'], to: 'achieved' },
  miss: { from: ['active'], to: 'missed' },
  /** The period ended with no data: an outcome of its own, never a miss. */
  not_measured: { from: ['active'], to: 'not_measured' },
};

export const EDITABLE: readonly DeptGoalStatus[] = ['draft', 'rejected'];
/** Statuses whose metric is evaluated and exported. */
export const EVALUATED: readonly DeptGoalStatus[] = ['verified', 'active'];
/** Statuses after which a goal is done with; `achieved` goals are not carried forward. */
export const CLOSED: readonly DeptGoalStatus[] = ['achieved', 'missed', 'not_measured'];

export interface TransitionProblem {
  code: 'INVALID_TRANSITION' | 'NOT_EDITABLE';
  message: string;
}

export function transitionProblem(current: DeptGoalStatus, transition: DeptGoalTransition): TransitionProblem | undefined {
  const rule = TRANSITIONS[transition];
  if (rule.from.includes(current)) return undefined;
  return {
    code: 'INVALID_TRANSITION',
    message: `Cannot ${transition} a goal that is ${current}: ${transition} is allowed only from ${rule.from.join(' or ')}.`,
  };
}

export function editProblem(current: DeptGoalStatus): TransitionProblem | undefined {
  if (EDITABLE.includes(current)) return undefined;
  return {
    code: 'NOT_EDITABLE',
    message: `A goal that is ${current} cannot be edited; only draft or rejected goals can (a verified goal's metric is what the up-line manager agreed to).`,
  };
}
