import { isIP } from 'node:net';
import fastifyCookie from '@fastify/cookie';
import fastifyCors from '@fastify/cors';
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from '../../api/errors.ts';
import { hashToken, type ReadPrincipal, type ReadScope, type ReadTokens } from './tokens.ts';

/**
 * The HTTP auth layer, in one place for every route of the server. In order, for each request:
 *
 * 1. Host allowlist (DNS rebinding): the Host header must be one of this server's names
 *    (localhost, an IP literal, or CXV_ALLOWED_HOSTS), else 421. A page on
 *    evil.example that rebinds its name to 127.0.0.1 sends `Host: evil.example`.
 * 2. Identify: a read token from `Authorization: Bearer` or the session cookie (set by
 *    the dashboard's sign-in from `/?token=` or by POST /api/v1/session).
 * 3. Rate limit per token (a recognised read token) or else per address (@fastify/rate-limit).
 * 4. Enforce the route's scope, declared once per role plugin (`scopedPlugin`) or per
 *    route (`config: { scope }`); a route without one needs read:vitals (deny by default).
 *    A scope with credentials of its own is checked here by the check its plugin hands
 *    the server (`credentialChecks`): ingest's source tokens (with the source of the URL),
 *    the goals' person tokens (a store lookup; a goals token refused once is refused here
 *    for a while without asking the store again); refused when no plugin gave one. What a
 *    person may do with a given goal is the goals service's to decide, per route.
 *
 * CORS (@fastify/cors) answers preflights for the origins in CXV_CORS_ORIGINS only.
 */

/** What a route needs: a read scope (or any of several), or an authorization handled elsewhere. */
const refusedBearers = new WeakSet<FastifyRequest>();

/** The goals service refused this request's bearer as a person token: the layer then refuses it for a while without a lookup. */
export const noteRefusedBearer = (request: FastifyRequest): void => {
  refusedBearers.add(request);
};

export type RouteScope = 'public' | 'ingest' | 'goals' | ReadScope | readonly ReadScope[];

/** Checks a request's credentials for a scope of its own (ingest's source tokens, goals' person tokens); throws to refuse. */
export type CredentialCheck = (request: FastifyRequest) => void | Promise<void>;

declare module 'fastify' {
  interface FastifyContextConfig {
    scope?: RouteScope;
    /** A goals read that answers a caller who is not signed in to the goals (the dashboard's goal strip). */
    goalsSignInOptional?: boolean;
  }
  interface FastifyRequest {
    /** The read token's holder, when the request carried a valid one. */
    principal: ReadPrincipal | null;
  }
  interface FastifyInstance {
    readTokens: ReadTokens;
    /** Per scope with credentials of its own, the check its plugin gave (api/server.ts `RolePlugin.authorize`). */
    credentialChecks: Map<string, CredentialCheck>;
  }
}

export const SESSION_COOKIE = 'cxv_session';
const CHALLENGE = 'Bearer realm="cxvitals"';
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
/** Routes that stay open whatever the Host: kubelet and load balancers probe by pod address or any name. */
const PROBES = new Set(['/livez', '/readyz']);

export interface AuthLayerOptions {
  readTokens: ReadTokens;
  /** Extra Host names served besides localhost and IP literals; `*` turns the check off. */
  allowedHosts: readonly string[];
  /** Origins allowed to read cross-origin (a NOC portal); empty = none. */
  corsOrigins: readonly string[];
  rateLimit: { perTokenPerMinute: number; perAddressPerMinute: number };
  /** How long a goals token the goals service refused is refused here without a store lookup. */
  refusedTokenCacheMs?: number;
}

/** Installs the layer on the root instance; every route registered after it is covered. */
export async function installAuthLayer(app: FastifyInstance, o: AuthLayerOptions): Promise<void> {
  const hostsOpen = o.allowedHosts.includes('*');
  const hosts = new Set(['localhost', ...o.allowedHosts.map((h) => h.toLowerCase())]);
  const refused = new RefusedTokens(o.refusedTokenCacheMs ?? 300_000, 10_000);
  app.decorate('readTokens', o.readTokens);
  app.decorate('credentialChecks', new Map<string, CredentialCheck>());
  app.decorateRequest('principal', null);

  await app.register(fastifyCookie);
  await app.register(fastifyCors, {
    origin: (origin, callback) => callback(null, origin !== undefined && o.corsOrigins.includes(origin)),
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type'],
    exposedHeaders: ['retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
    maxAge: 600,
  });

  app.addHook('onRequest', async (request) => {
    if (hostsOpen || PROBES.has(request.url.split('?')[0] ?? '')) return;
    const host = hostName(request.headers.host);
    if (host === undefined || hosts.has(host) || isIP(host.replace(/^\[|\]$/g, '')) !== 0) return;
    throw new HttpError(
      421,
      'HOST_NOT_ALLOWED',
      `This server does not answer for the host name "${host.slice(0, 100)}". If it is a name of this server, add it to CXV_ALLOWED_HOSTS.`,
    );
  });

  app.addHook('onRequest', async (request) => {
    const token = presentedToken(request);
    if (token === undefined) return;
    const check = o.readTokens.check(token);
    if (check.ok) request.principal = check.principal;
  });

  // Before the scope check, so refused requests count too (per address), and before any
  // plugin's own hooks (the goals service's person-token lookup).
  await app.register(fastifyRateLimit, { global: false });
  app.addHook(
    'onRequest',
    app.rateLimit({
      timeWindow: 60_000,
      keyGenerator: (request) => (request.principal ? `token:${request.principal.tokenHash}` : `address:${request.ip}`),
      max: (_request, key) => (key.startsWith('token:') ? o.rateLimit.perTokenPerMinute : o.rateLimit.perAddressPerMinute),
      // Probes must answer whatever the load; ingest has its own back-pressure (429 with Retry-After, capacity.ts).
      allowList: (request) => PROBES.has(request.url.split('?')[0] ?? '') || request.routeOptions.config?.scope === 'ingest',
      errorResponseBuilder: (request, context) =>
        new HttpError(
          429,
          'RATE_LIMITED',
          `Over ${context.max} requests a minute for this ${request.principal ? 'token' : 'address'}; retry in ${context.after}.`,
        ),
    }),
  );

  app.addHook('onRequest', async (request) => {
    // No route (a 404) and CORS preflights carry no data.
    if (request.routeOptions.url === undefined || request.method === 'OPTIONS') return;
    const scope = request.routeOptions.config?.scope ?? 'read:vitals';
    if (scope === 'public') return;
    if (scope === 'ingest' || scope === 'goals') {
      const bearer = bearerToken(request);
      if (
        scope === 'goals' &&
        bearer !== undefined &&
        refused.has(hashToken(bearer)) &&
        !request.routeOptions.config?.goalsSignInOptional
      ) {
        throw new HttpError(401, 'UNAUTHENTICATED', 'The token is unknown or revoked. Ask an admin for a new one.', undefined, {
          'www-authenticate': `${CHALLENGE}, error="invalid_token"`,
        });
      }
      const check = app.credentialChecks.get(scope);
      if (!check) throw new HttpError(401, 'AUTH_REQUIRED', `No ${scope} credentials are accepted by this process.`);
      await check(request);
      return;
    }
    requireScope(request, typeof scope === 'string' ? [scope as ReadScope] : scope);
  });

  // The goals service looks each person token up in the store: remember the ones it refused
  // (only those: a 401 about another token, e.g. the one a sign-in link carries, is not the bearer's).
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode !== 401 || !refusedBearers.has(request)) return;
    const bearer = bearerToken(request);
    if (bearer !== undefined) refused.add(hashToken(bearer));
  });

  app.post(
    '/api/v1/session',
    {
      config: { scope: 'read:vitals' },
      schema: { summary: 'Sign in: sets the session cookie from the bearer token (for browsers)' },
    },
    async (request, reply) => {
      setSessionCookie(request, reply, bearerToken(request) ?? '', request.principal);
      return reply.code(204).send();
    },
  );
  app.delete(
    '/api/v1/session',
    { config: { scope: 'public' }, schema: { summary: 'Sign out: clears the session cookie' } },
    async (_request, reply) => reply.clearCookie(SESSION_COOKIE, { path: '/' }).code(204).send(),
  );
}

/** Throws 401/403 unless the request carries a token with one of `scopes`. */
export function requireScope(request: FastifyRequest, scopes: readonly ReadScope[]): ReadPrincipal {
  const principal = request.principal;
  if (principal && scopes.some((s) => principal.scopes.has(s))) return principal;
  if (principal) {
    throw new HttpError(
      403,
      'AUTH_INSUFFICIENT_SCOPE',
      `This token (${principal.owner}) lacks the scope ${scopes.join(' or ')} this route needs; ask for a token that has it.`,
      undefined,
      { 'www-authenticate': `${CHALLENGE}, error="insufficient_scope", scope="${scopes.join(' ')}"` },
    );
  }
  const token = presentedToken(request);
  if (token === undefined) {
    throw new HttpError(
      401,
      'AUTH_REQUIRED',
      `Reading needs a token with ${scopes.join(' or ')}: send "Authorization: Bearer <token>" (the start-up banner prints the demo's).`,
      undefined,
      { 'www-authenticate': CHALLENGE },
    );
  }
  const check = request.server.readTokens.check(token);
  throw new HttpError(401, check.ok ? 'AUTH_INVALID_TOKEN' : check.code, check.ok ? 'Invalid token.' : check.message, undefined, {
    'www-authenticate': `${CHALLENGE}, error="invalid_token"`,
  });
}

/** Sets the HttpOnly, SameSite=Strict session cookie holding the token; it lasts as long as the token (at most 12 h). */
export function setSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  token: string,
  principal: ReadPrincipal | null,
): void {
  const maxAgeSec = Math.floor(Math.min(12 * 3600_000, (principal?.expiresAt ?? Number.POSITIVE_INFINITY) - Date.now()) / 1000);
  reply.setCookie(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'strict',
    path: '/',
    secure: request.protocol === 'https',
    maxAge: Math.max(0, maxAgeSec),
  });
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  return header === undefined ? undefined : BEARER.exec(header)?.[1];
}

function presentedToken(request: FastifyRequest): string | undefined {
  const cookie = request.cookies?.[SESSION_COOKIE];
  return bearerToken(request) ?? (cookie !== undefined && cookie !== '' ? cookie : undefined);
}

/** The host name of a Host header, lowercase, without the port (`[::1]` keeps its brackets). */
export function hostName(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  const host = header.trim().toLowerCase();
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  return host.split(':')[0];
}

/** Hashes of tokens refused lately, oldest dropped first beyond `maxEntries`. */
class RefusedTokens {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  has(hash: string): boolean {
    const until = this.until.get(hash);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.until.delete(hash);
    return false;
  }

  add(hash: string): void {
    this.until.delete(hash);
    this.until.set(hash, Date.now() + this.ttlMs);
    if (this.until.size > this.maxEntries) this.until.delete(this.until.keys().next().value as string);
  }
}

/**
 * A role's routes as one plugin with its scope: every route it registers (and its
 * children's) needs `scope` unless the route declares its own.
 */
export function scopedPlugin(scope: RouteScope, register: (app: FastifyInstance) => Promise<void> | void) {
  return async (app: FastifyInstance): Promise<void> => {
    app.addHook('onRoute', (route) => {
      route.config = { ...route.config, scope: route.config?.scope ?? scope } as typeof route.config;
    });
    await register(app);
  };
}
