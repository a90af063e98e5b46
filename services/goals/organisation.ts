import type { Authenticator } from './auth.ts';
import { badRequest, type GoalsContext, loadDirectory } from './context.ts';
import { GoalsError } from './errors.ts';
import { type Directory, isAdmin, isPlanner, managesOrAbove } from './hierarchy.ts';
import type { Department, Person, Role } from './model.ts';
import type { Stored } from './repository.ts';

/** Departments (a hierarchy with a manager each), people with roles, and their tokens. Admins write; everyone signed in reads. */

export interface DepartmentInput {
  id?: string | undefined;
  name: string;
  parentId: string | null;
  managerId: string | null;
}

export interface PersonInput {
  id?: string | undefined;
  name: string;
  email?: string | null | undefined;
  role: Role;
  departmentId: string | null;
  active?: boolean | undefined;
}

function requireAdmin(actor: Person, what: string): void {
  if (!isAdmin(actor)) throw new GoalsError('ADMIN_ONLY', `Only an admin may ${what}; ${actor.id} is ${actor.role}.`);
}

/**
 * A person's email is contact data: admins and planners read every one; others read their
 * own, their department's, and those of departments they manage (directly or above).
 */
export function mayReadEmail(dir: Directory, actor: Person, person: Person): boolean {
  if (isPlanner(actor) || actor.id === person.id) return true;
  if (person.departmentId === null) return false;
  return actor.departmentId === person.departmentId || managesOrAbove(dir, actor.id, person.departmentId);
}

export class OrganisationService {
  constructor(
    private readonly ctx: GoalsContext,
    private readonly auth: Authenticator,
  ) {}

  listDepartments(): Promise<Array<Stored<Department>>> {
    return this.ctx.entities.list('department');
  }

  getDepartment(id: string): Promise<Stored<Department>> {
    return this.ctx.entities.require('department', id);
  }

  private async checkDepartment(d: Department): Promise<void> {
    const dir = await loadDirectory(this.ctx);
    if (d.parentId !== null && !dir.departments.has(d.parentId))
      throw badRequest('body.parentId', `no department "${d.parentId}"`, 'UNKNOWN_DEPARTMENT');
    if (d.managerId !== null && !dir.people.has(d.managerId))
      throw badRequest('body.managerId', `no person "${d.managerId}"`, 'UNKNOWN_PERSON');
    // Walk up from the new parent: meeting this department again means a loop.
    let cursor = d.parentId;
    for (let steps = 0; cursor !== null && steps <= dir.departments.size; steps += 1) {
      if (cursor === d.id)
        throw badRequest('body.parentId', `"${d.parentId}" is below "${d.id}": the hierarchy would loop`, 'HIERARCHY_LOOP');
      cursor = dir.departments.get(cursor)?.parentId ?? null;
    }
  }

  async createDepartment(actor: Person, input: DepartmentInput): Promise<Stored<Department>> {
    requireAdmin(actor, 'create departments');
    const department: Department = {
      id: input.id ?? this.ctx.entities.newId('department'),
      name: input.name,
      parentId: input.parentId,
      managerId: input.managerId,
    };
    await this.checkDepartment(department);
    return this.ctx.entities.create('department', department, { actorId: actor.id, action: 'department.create' });
  }

  async updateDepartment(
    actor: Person,
    id: string,
    version: number,
    patch: Partial<Omit<DepartmentInput, 'id'>>,
  ): Promise<Stored<Department>> {
    requireAdmin(actor, 'change departments');
    return this.ctx.entities.update('department', id, version, { actorId: actor.id, action: 'department.update' }, async (d) => {
      const next: Department = { ...d, ...patch, id };
      await this.checkDepartment(next);
      return next;
    });
  }

  /** Everyone signed in sees the organisation chart; an email only where `mayReadEmail` allows. */
  async listPeople(actor: Person): Promise<Array<Stored<Person>>> {
    const [dir, people] = await Promise.all([loadDirectory(this.ctx), this.ctx.entities.list('person')]);
    return people.map((p) => (mayReadEmail(dir, actor, p.value) ? p : { ...p, value: { ...p.value, email: null } }));
  }

  async getPerson(actor: Person, id: string): Promise<Stored<Person>> {
    const [dir, p] = await Promise.all([loadDirectory(this.ctx), this.ctx.entities.require('person', id)]);
    return mayReadEmail(dir, actor, p.value) ? p : { ...p, value: { ...p.value, email: null } };
  }

  private async checkPerson(p: Person): Promise<void> {
    if (p.departmentId !== null && !(await this.ctx.entities.get('department', p.departmentId))) {
      throw badRequest('body.departmentId', `no department "${p.departmentId}"`, 'UNKNOWN_DEPARTMENT');
    }
  }

  async createPerson(actor: Person, input: PersonInput): Promise<Stored<Person>> {
    requireAdmin(actor, 'create people');
    const person: Person = {
      id: input.id ?? this.ctx.entities.newId('person'),
      name: input.name,
      email: input.email ?? null,
      role: input.role,
      departmentId: input.departmentId,
      active: input.active ?? true,
    };
    await this.checkPerson(person);
    return this.ctx.entities.create('person', person, { actorId: actor.id, action: 'person.create' });
  }

  async updatePerson(
    actor: Person,
    id: string,
    version: number,
    patch: Partial<Omit<PersonInput, 'id'>>,
  ): Promise<Stored<Person>> {
    requireAdmin(actor, 'change people');
    return this.ctx.entities.update('person', id, version, { actorId: actor.id, action: 'person.update' }, async (p) => {
      const next: Person = { ...p, ...patch, email: patch.email === undefined ? p.email : patch.email, id };
      await this.checkPerson(next);
      return next;
    });
  }

  /** Admins issue tokens for anyone; a person may issue further tokens for themselves. */
  async issueToken(
    actor: Person,
    personId: string,
    label: string,
  ): Promise<{ tokenId: string; token: string; personId: string }> {
    if (!isAdmin(actor) && actor.id !== personId) {
      throw new GoalsError(
        'ADMIN_ONLY',
        `Only an admin may issue a token for someone else; ${actor.id} may issue tokens for themselves only.`,
      );
    }
    const person = await this.ctx.entities.require('person', personId);
    if (!person.value.active)
      throw new GoalsError('PERSON_INACTIVE', `Person "${personId}" is deactivated; reactivate them first.`);
    return { ...(await this.auth.issue(personId, label, actor.id)), personId };
  }

  async revokeToken(actor: Person, tokenId: string): Promise<void> {
    const token = await this.ctx.entities.require('token', tokenId);
    if (!isAdmin(actor) && token.value.personId !== actor.id) {
      throw new GoalsError('ADMIN_ONLY', `Only an admin or the token's owner may revoke token "${tokenId}".`);
    }
    await this.auth.revoke(tokenId, actor.id);
  }
}
