import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { GoalsContext } from './context.ts';
import { GoalsError } from './errors.ts';
import type { Person } from './model.ts';

/**
 * Bearer tokens mapped to people. Only the SHA-256 of a token is stored (a token is 256
 * random bits, so a plain hash is enough: there is nothing to brute-force); the token
 * itself is shown once, when it is issued.
 *
 * Bootstrap: CXV_GOALS_ADMIN_TOKEN (the `adminToken` dependency) acts as the built-in
 * person `admin`; in embedded demo mode `issueDemoToken()` issues a token for the
 * `demo-planner` admin, for the caller to print.
 */

export const ADMIN_ID = 'admin';
export const DEMO_ID = 'demo-planner';
export const MIN_ADMIN_TOKEN_LENGTH = 24;

export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');
export const generateToken = (): string => `cxv_${randomBytes(32).toString('base64url')}`;

export class GoalsConfigError extends Error {
  readonly code = 'GOALS_CONFIG_INVALID';
}

export function checkAdminToken(token: string | undefined): string | undefined {
  if (token === undefined || token === '') return undefined;
  if (token.length < MIN_ADMIN_TOKEN_LENGTH || /\s/.test(token)) {
    throw new GoalsConfigError(
      `CXV_GOALS_ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters without spaces (e.g. the output of \`openssl rand -base64 32\`).`,
    );
  }
  return hashToken(token);
}

const unauthenticated = (message: string) => new GoalsError('UNAUTHENTICATED', message);

export class Authenticator {
  private readonly adminHash: Buffer | undefined;

  constructor(
    private readonly ctx: GoalsContext,
    adminToken: string | undefined,
  ) {
    const hash = checkAdminToken(adminToken);
    this.adminHash = hash === undefined ? undefined : Buffer.from(hash, 'hex');
  }

  /** The person behind an `Authorization: Bearer …` header, or 401. */
  async authenticate(header: string | undefined): Promise<Person> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!match?.[1]) {
      throw unauthenticated('Send "Authorization: Bearer <token>". Ask an admin for a token (POST /api/v1/people/{id}/tokens).');
    }
    const hash = hashToken(match[1]);
    if (this.adminHash && timingSafeEqual(Buffer.from(hash, 'hex'), this.adminHash)) return this.ensureAdmin();
    const token = await this.ctx.entities.findByLookup('token', hash);
    if (!token || token.value.revoked) throw unauthenticated('The token is unknown or revoked. Ask an admin for a new one.');
    const person = await this.ctx.entities.get('person', token.value.personId);
    if (!person?.value.active)
      throw unauthenticated(`The token belongs to "${token.value.personId}", who is not an active person.`);
    return person.value;
  }

  private async ensureAdmin(): Promise<Person> {
    const existing = await this.ctx.entities.get('person', ADMIN_ID);
    if (existing) return existing.value;
    const admin: Person = {
      id: ADMIN_ID,
      name: 'Administrator (CXV_GOALS_ADMIN_TOKEN)',
      email: null,
      role: 'admin',
      departmentId: null,
      active: true,
    };
    try {
      return (await this.ctx.entities.create('person', admin, { actorId: ADMIN_ID, action: 'person.bootstrap' })).value;
    } catch (err) {
      // Two first requests at once: the other one created it.
      if (err instanceof GoalsError && err.code === 'ALREADY_EXISTS') return admin;
      throw err;
    }
  }

  /** Issues a token for a person; returns the token (shown once) and its id. */
  async issue(personId: string, label: string, actorId: string): Promise<{ tokenId: string; token: string }> {
    const token = generateToken();
    const sha256 = hashToken(token);
    const tokenId = this.ctx.entities.newId('token');
    await this.ctx.entities.create(
      'token',
      { id: tokenId, personId, label, sha256, revoked: false },
      { actorId, action: 'token.issue', comment: label },
      sha256,
    );
    return { tokenId, token };
  }

  async revoke(tokenId: string, actorId: string): Promise<void> {
    await this.ctx.entities.update(
      'token',
      tokenId,
      undefined,
      { actorId, action: 'token.revoke' },
      (t) => ({ ...t, revoked: true }),
      (await this.ctx.entities.require('token', tokenId)).value.sha256,
    );
  }

  /** Embedded demo mode: a fresh token for the `demo-planner` admin (the previous one is revoked), for the caller to print. */
  async issueDemoToken(): Promise<{ personId: string; token: string }> {
    if (!(await this.ctx.entities.get('person', DEMO_ID))) {
      await this.ctx.entities
        .create(
          'person',
          { id: DEMO_ID, name: 'Demo planner (embedded mode)', email: null, role: 'admin', departmentId: null, active: true },
          { actorId: 'system', action: 'person.bootstrap', comment: 'embedded demo mode' },
        )
        .catch((err: unknown) => {
          if (!(err instanceof GoalsError && err.code === 'ALREADY_EXISTS')) throw err;
        });
    }
    // One live demo token at a time: the previous start's token stops working.
    for (const t of await this.ctx.entities.list('token')) {
      if (t.value.personId === DEMO_ID && !t.value.revoked) await this.revoke(t.value.id, 'system');
    }
    const { token } = await this.issue(DEMO_ID, 'embedded demo token', 'system');
    return { personId: DEMO_ID, token };
  }
}
