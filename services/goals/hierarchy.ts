import type { Department, DeptGoal, Person } from './model.ts';

/**
 * Who may do what, from the department hierarchy (pure, no I/O).
 *
 * - read a department's goals: its members, its manager and every manager above it, and
 *   anyone whose own department sits below it (you see the goals you are aligned to);
 *   admins and planners see everything.
 * - write (create, edit, submit, record actions): the department's members, its manager
 *   and every manager above; admins.
 * - verify or reject: the up-line manager (the manager of the nearest department above
 *   that has one) or any manager further up, and admins; never the goal's author or owner.
 */

export interface Directory {
  departments: ReadonlyMap<string, Department>;
  people: ReadonlyMap<string, Person>;
}

export type Denial = { code: 'FORBIDDEN_READ' | 'FORBIDDEN_WRITE' | 'SELF_VERIFICATION' | 'NOT_UPLINE_MANAGER'; message: string };

/** Departments above `departmentId`, nearest first (stops on a loop rather than spinning). */
export function ancestors(dir: Directory, departmentId: string): Department[] {
  const out: Department[] = [];
  const seen = new Set<string>([departmentId]);
  let parentId = dir.departments.get(departmentId)?.parentId ?? null;
  while (parentId !== null && !seen.has(parentId)) {
    const parent = dir.departments.get(parentId);
    if (!parent) break;
    out.push(parent);
    seen.add(parentId);
    parentId = parent.parentId;
  }
  return out;
}

/** Managers of the departments above, nearest first, without repeats. */
export function uplineManagers(dir: Directory, departmentId: string): string[] {
  const ids = ancestors(dir, departmentId)
    .map((d) => d.managerId)
    .filter((m): m is string => m !== null);
  return [...new Set(ids)];
}

export function uplineManager(dir: Directory, departmentId: string): string | null {
  return uplineManagers(dir, departmentId)[0] ?? null;
}

/** Manages this department or one above it. */
export function managesOrAbove(dir: Directory, personId: string, departmentId: string): boolean {
  if (dir.departments.get(departmentId)?.managerId === personId) return true;
  return uplineManagers(dir, departmentId).includes(personId);
}

export const isAdmin = (p: Person): boolean => p.role === 'admin';
export const isPlanner = (p: Person): boolean => p.role === 'planner' || p.role === 'admin';

export function canReadDepartment(dir: Directory, person: Person, departmentId: string): boolean {
  if (isPlanner(person) || managesOrAbove(dir, person.id, departmentId)) return true;
  if (person.departmentId === null) return false;
  if (person.departmentId === departmentId) return true;
  return ancestors(dir, person.departmentId).some((d) => d.id === departmentId);
}

export function canWriteDepartment(dir: Directory, person: Person, departmentId: string): boolean {
  return isAdmin(person) || person.departmentId === departmentId || managesOrAbove(dir, person.id, departmentId);
}

export function readDenial(dir: Directory, person: Person, departmentId: string): Denial | undefined {
  if (canReadDepartment(dir, person, departmentId)) return undefined;
  return {
    code: 'FORBIDDEN_READ',
    message: `${person.id} may not read the goals of department "${departmentId}": only its members, people in departments below it, its manager and the managers above it may.`,
  };
}

export function writeDenial(dir: Directory, person: Person, departmentId: string): Denial | undefined {
  if (canWriteDepartment(dir, person, departmentId)) return undefined;
  return {
    code: 'FORBIDDEN_WRITE',
    message: `${person.id} may not change the goals of department "${departmentId}": only its members, its manager and the managers above it may.`,
  };
}

export function verifyDenial(
  dir: Directory,
  person: Person,
  goal: Pick<DeptGoal, 'authorId' | 'ownerId' | 'departmentId'>,
): Denial | undefined {
  if (goal.authorId === person.id || goal.ownerId === person.id) {
    return {
      code: 'SELF_VERIFICATION',
      message: `${person.id} ${goal.authorId === person.id ? 'wrote' : 'owns'} this goal; nobody verifies their own goal. Ask the up-line manager${uplineManager(dir, goal.departmentId) ? ` (${uplineManager(dir, goal.departmentId)})` : ''}.`,
    };
  }
  if (isAdmin(person) || uplineManagers(dir, goal.departmentId).includes(person.id)) return undefined;
  const upline = uplineManager(dir, goal.departmentId);
  return {
    code: 'NOT_UPLINE_MANAGER',
    message: upline
      ? `Only the up-line manager of department "${goal.departmentId}" (${upline}) or a manager above them may verify this goal; ${person.id} is not.`
      : `Department "${goal.departmentId}" has no manager above it: only an admin may verify its goals.`,
  };
}
