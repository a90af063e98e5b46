import type { FastifyInstance, FastifyRequest } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpError } from '../../services/api/errors.ts';
import { buildServer, type RolePlugin } from '../../services/api/server.ts';
import { demoReadCredentials } from '../../services/shared/auth/tokens.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { createMetrics } from '../../services/shared/metrics.ts';
import { busDouble } from '../ingest/harness.ts';
import { storeDouble } from '../support/store-double.ts';

/**
 * Auth is one layer (shared/auth/layer.ts), not a hook per role: a role plugin declares
 * the scope of its routes and, for a scope with credentials of its own (ingest's source
 * tokens, the goals' person tokens), hands the server the check; the layer runs it in its
 * onRequest hook, before the body is read. A route of such a scope with no check given is
 * refused (deny by default), and a read token opens none of them.
 */

const store = storeDouble();

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** A plugin of scope `ingest` with one POST route that records whether its body was parsed. */
function plugin(authorize?: RolePlugin['authorize']): { plugin: RolePlugin; parsed: unknown[] } {
  const parsed: unknown[] = [];
  return {
    parsed,
    plugin: {
      name: 'sink',
      scope: 'ingest',
      ...(authorize ? { authorize } : {}),
      register(scope) {
        scope.post('/api/v1/events/:source', async (request) => {
          parsed.push(request.body);
          return { ok: true };
        });
      },
    },
  };
}

async function serve(p: RolePlugin): Promise<FastifyInstance> {
  app = await buildServer({ bus: busDouble().bus, store, metrics: createMetrics(), log: silentLogger, plugins: [p] });
  await app.ready();
  return app;
}

const post = (server: FastifyInstance, headers: Record<string, string> = {}) =>
  server.inject({
    method: 'POST',
    url: '/api/v1/events/probe',
    headers: { 'content-type': 'application/json', ...headers },
    payload: '{"eventId":"e-1"}',
  });

describe('the auth layer runs the credential check a role plugin hands it', () => {
  it('refuses before the body is read, and passes the request on when the check passes', async () => {
    const seen: string[] = [];
    const check = (request: FastifyRequest) => {
      seen.push(`${request.method} ${(request.params as { source?: string }).source} body=${String(request.body)}`);
      if (request.headers.authorization !== 'Bearer right') throw new HttpError(401, 'AUTH_REQUIRED', 'send the source token');
    };
    const { plugin: p, parsed } = plugin(check);
    const server = await serve(p);

    const refused = await post(server, { authorization: 'Bearer wrong' });
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ code: 'AUTH_REQUIRED' });
    expect(parsed).toEqual([]);

    const passed = await post(server, { authorization: 'Bearer right' });
    expect(passed.statusCode).toBe(200);
    expect(parsed).toEqual([{ eventId: 'e-1' }]);
    // The check saw the route's params, and no body: it ran before the body was read.
    expect(seen).toEqual(['POST probe body=undefined', 'POST probe body=undefined']);
  });

  it('refuses every request to a route of such a scope when no plugin gave a check, a read token included', async () => {
    const { plugin: p, parsed } = plugin();
    const server = await serve(p);
    const none: Record<string, string> = {};
    for (const headers of [none, { authorization: `Bearer ${demoReadCredentials().token}` }]) {
      const answer = await post(server, headers);
      expect(answer.statusCode).toBe(401);
      expect(answer.json()).toMatchObject({ code: 'AUTH_REQUIRED' });
    }
    expect(parsed).toEqual([]);
  });
});
