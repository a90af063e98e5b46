import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { loadDirectory } from './context.ts';
import { managesOrAbove } from './hierarchy.ts';
import { actorOf, flat, idParams, listOf, versionBody, withVersion } from './http.ts';
import { departmentSchema, personSchema, roles } from './model.ts';
import type { GoalsService } from './service.ts';

/** /api/v1/me, departments, people and tokens. */

const slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, { message: 'must be lower-case letters, digits, ".", "_" or "-" (at most 64)' });
const department = withVersion(departmentSchema);
const person = withVersion(personSchema);
// Patch bodies are built from fields without defaults: a default in a patch would
// overwrite what the caller did not send.
const departmentFields = z.object({
  id: slug,
  name: z.string().trim().min(1).max(200),
  parentId: z.string().nullable(),
  managerId: z.string().nullable(),
});
const departmentBody = departmentFields.extend({
  id: slug.optional(),
  parentId: z.string().nullable().default(null),
  managerId: z.string().nullable().default(null),
});
const departmentPatch = departmentFields.omit({ id: true }).partial().extend({ version: versionBody });
const personFields = z.object({
  id: slug,
  name: z.string().trim().min(1).max(200),
  email: z.string().email().max(200).nullable(),
  role: z.enum(roles),
  departmentId: z.string().nullable(),
  active: z.boolean(),
});
const personBody = personFields.extend({
  id: slug.optional(),
  email: z.string().email().max(200).nullable().optional(),
  departmentId: z.string().nullable().default(null),
  active: z.boolean().optional(),
});
const personPatch = personFields.omit({ id: true }).partial().extend({ version: versionBody });

export function registerOrganisationRoutes(app: FastifyInstance, goals: GoalsService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const org = goals.organisation;

  r.get(
    '/api/v1/me',
    {
      schema: {
        summary: 'Who the token belongs to, and the departments they manage',
        response: { 200: personSchema.extend({ manages: z.array(z.string()), canPlan: z.boolean() }) },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      const dir = await loadDirectory(goals.ctx);
      const manages = [...dir.departments.keys()].filter((d) => managesOrAbove(dir, actor.id, d)).sort();
      return { ...actor, manages, canPlan: actor.role === 'admin' || actor.role === 'planner' };
    },
  );

  r.get(
    '/api/v1/departments',
    { schema: { summary: 'Departments and their managers', response: { 200: listOf(department) } } },
    async () => ({
      items: (await org.listDepartments()).map(flat),
    }),
  );
  r.get('/api/v1/departments/:id', { schema: { params: idParams, response: { 200: department } } }, async (request) =>
    flat(await org.getDepartment(request.params.id)),
  );
  r.post(
    '/api/v1/departments',
    { schema: { summary: 'Create a department (admin)', body: departmentBody, response: { 201: department } } },
    async (request, reply) => reply.code(201).send(flat(await org.createDepartment(actorOf(request), request.body))),
  );
  r.patch(
    '/api/v1/departments/:id',
    {
      schema: {
        summary: 'Change a department (admin); send the version you read',
        params: idParams,
        body: departmentPatch,
        response: { 200: department },
      },
    },
    async (request) => {
      const { version, ...patch } = request.body;
      return flat(await org.updateDepartment(actorOf(request), request.params.id, version, patch));
    },
  );

  r.get(
    '/api/v1/people',
    {
      schema: {
        summary: 'People and their roles; emails only to admins, planners, their department and its managers',
        response: { 200: listOf(person) },
      },
    },
    async (request) => ({ items: (await org.listPeople(actorOf(request))).map(flat) }),
  );
  r.get('/api/v1/people/:id', { schema: { params: idParams, response: { 200: person } } }, async (request) =>
    flat(await org.getPerson(actorOf(request), request.params.id)),
  );
  r.post(
    '/api/v1/people',
    { schema: { summary: 'Create a person (admin)', body: personBody, response: { 201: person } } },
    async (request, reply) => reply.code(201).send(flat(await org.createPerson(actorOf(request), request.body))),
  );
  r.patch(
    '/api/v1/people/:id',
    {
      schema: {
        summary: 'Change a person (admin); send the version you read',
        params: idParams,
        body: personPatch,
        response: { 200: person },
      },
    },
    async (request) => {
      const { version, ...patch } = request.body;
      return flat(await org.updatePerson(actorOf(request), request.params.id, version, patch));
    },
  );

  r.post(
    '/api/v1/people/:id/tokens',
    {
      schema: {
        summary: 'Issue a bearer token for a person (admin, or yourself). The token is shown once.',
        params: idParams,
        body: z.object({ label: z.string().max(200).default('') }).optional(),
        response: { 201: z.object({ tokenId: z.string(), token: z.string(), personId: z.string() }) },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await org.issueToken(actorOf(request), request.params.id, request.body?.label ?? '')),
  );
  r.post(
    '/api/v1/tokens/:id/revoke',
    {
      schema: {
        summary: 'Revoke a token (admin, or its owner)',
        params: idParams,
        response: { 200: z.object({ tokenId: z.string(), revoked: z.boolean() }) },
      },
    },
    async (request) => {
      await org.revokeToken(actorOf(request), request.params.id);
      return { tokenId: request.params.id, revoked: true };
    },
  );
}
