import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../services/model/load.ts';
import { buildHttpApp } from '../../services/roles.ts';
import { generateReadToken, MASK, parseReadTokenEntries, ReadTokens } from '../../services/shared/auth/tokens.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { createMetrics } from '../../services/shared/metrics.ts';
import type { Store } from '../../services/shared/store/store.ts';
import { busDouble } from '../ingest/harness.ts';

/**
 * Issue 15, finding 1: reads were open. Without any credential, GET /api/v1/events
 * returned customer ids and free-text comments, KPIs/KQIs/CSI/Availability, the dashboard's
 * goals, /metrics and /healthz (broker address, data folder) answered anyone, no Host check
 * (DNS rebinding), OPTIONS answered 404. Each case below is that reproduction, against the
 * server as the application assembles it (role plugins behind the auth layer).
 */

const SURVEY_ROW = {
  event_id: 's-1',
  ts_ms: String(Date.parse('2026-11-23T10:00:05Z')),
  received_ms: String(Date.parse('2026-11-23T10:00:06Z')),
  service: 'voice',
  region: 'north',
  segment: 'consumer',
  problem: 1,
  payload: JSON.stringify({
    eventId: 's-1',
    kind: 'nps',
    score: 2,
    customerId: 'cust-4711',
    comment: 'Call me on +44 20 7946 0958, Jane Doe',
    touchpoint: 'app',
  }),
};

/** A store that answers the raw-events read with one survey answer and everything else with nothing. */
const store: Store = {
  mode: 'embedded',
  database: 'double',
  location: '/secret/data/folder',
  table: (name) => `double.${name}`,
  query: async <T>(sql: string) => {
    if (sql.includes('countIf(problem)')) return [{ total: '1', problems: '1' }] as T[];
    if (sql.includes('payload') && sql.includes('event_id')) return [SURVEY_ROW] as T[];
    return [] as T[];
  },
  command: () => Promise.reject(new Error('not in this test')),
  insert: () => Promise.reject(new Error('not in this test')),
  ping: async () => true,
  close: async () => {},
};

const vitalsOnly = generateReadToken(['read:vitals'], { owner: 'wall-screen' });
const withEvents = generateReadToken(['read:vitals', 'read:events'], { owner: 'analyst' });
const metricsOnly = generateReadToken(['read:metrics'], { owner: 'prometheus' });
const expired = generateReadToken(['read:vitals'], { owner: 'former', expiresAt: Date.parse('2026-01-01T00:00:00Z') });
const tokens = ReadTokens.fromEntries(
  parseReadTokenEntries([vitalsOnly, withEvents, metricsOnly, expired].map((t) => t.entry).join('\n'), 'test'),
);
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const RANGE = 'from=2026-11-23T10:00:00Z&to=2026-11-23T10:05:00Z';

let app: FastifyInstance;
beforeAll(async () => {
  const model = await loadModel();
  app = await buildHttpApp({
    bus: busDouble().bus,
    store,
    metrics: createMetrics(),
    log: silentLogger,
    vitals: { store, model: () => model, excuseRetroactiveMaintenance: false },
    auth: {
      readTokens: tokens,
      allowedHosts: ['cxvitals.noc.example'],
      corsOrigins: ['https://portal.noc.example'],
    },
  });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
});

describe('finding 1: every read needs a token', () => {
  const READS = [
    `/api/v1/events?source=survey&${RANGE}`,
    `/api/v1/kpis?service=voice&${RANGE}`,
    `/api/v1/kqis?service=voice&${RANGE}`,
    `/api/v1/csi?service=voice&${RANGE}`,
    `/api/v1/availability?service=voice&${RANGE}`,
    '/api/v1/dashboard/goals',
    '/api/v1/dashboard/meta',
    '/api/v1/live',
    '/metrics',
  ];

  for (const url of READS) {
    it(`${url.split('?')[0]} without a token → 401 AUTH_REQUIRED with a Bearer challenge`, async () => {
      const res = await app.inject({ method: 'GET', url });
      expect([res.statusCode, res.json().code]).toEqual([401, 'AUTH_REQUIRED']);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="cxvitals"');
    });
  }

  it('an unknown token → 401 AUTH_INVALID_TOKEN, an expired one → 401 AUTH_TOKEN_EXPIRED naming when', async () => {
    const unknown = await app.inject({ url: `/api/v1/kpis?${RANGE}`, headers: bearer(generateReadToken().token) });
    expect([unknown.statusCode, unknown.json().code]).toEqual([401, 'AUTH_INVALID_TOKEN']);
    const old = await app.inject({ url: `/api/v1/kpis?${RANGE}`, headers: bearer(expired.token) });
    expect([old.statusCode, old.json().code]).toEqual([401, 'AUTH_TOKEN_EXPIRED']);
    expect(old.json().message).toContain('2026-01-01T00:00:00.000Z');
  });

  it('read:vitals reads the vital signs; /metrics needs read:metrics (403 naming the scope)', async () => {
    const kpis = await app.inject({ url: `/api/v1/availability?service=voice&${RANGE}`, headers: bearer(vitalsOnly.token) });
    expect(kpis.statusCode).toBe(200);
    const metricsDenied = await app.inject({ url: '/metrics', headers: bearer(vitalsOnly.token) });
    expect([metricsDenied.statusCode, metricsDenied.json().code]).toEqual([403, 'AUTH_INSUFFICIENT_SCOPE']);
    expect(metricsDenied.json().message).toContain('read:metrics');
    const metrics = await app.inject({ url: '/metrics', headers: bearer(metricsOnly.token) });
    expect(metrics.statusCode).toBe(200);
    const vitalsDenied = await app.inject({ url: `/api/v1/kpis?${RANGE}`, headers: bearer(metricsOnly.token) });
    expect(vitalsDenied.statusCode).toBe(403);
  });

  it('raw events: customer ids and free text are masked without read:events, shown with it', async () => {
    const url = `/api/v1/events?source=survey&${RANGE}`;
    const masked = (await app.inject({ url, headers: bearer(vitalsOnly.token) })).json();
    expect(masked.masked).toBe(true);
    expect(masked.events[0].payload).toEqual({
      eventId: 's-1',
      kind: 'nps',
      score: 2,
      customerId: MASK,
      comment: MASK,
      touchpoint: 'app',
    });
    const full = (await app.inject({ url, headers: bearer(withEvents.token) })).json();
    expect(full.masked).toBe(false);
    expect([full.events[0].payload.customerId, full.events[0].payload.comment]).toEqual([
      'cust-4711',
      'Call me on +44 20 7946 0958, Jane Doe',
    ]);
  });

  it('/healthz without a token says only the status; with one, the broker and the data folder', async () => {
    const open = await app.inject({ url: '/healthz' });
    expect([open.statusCode, open.json()]).toEqual([200, { status: 'ok' }]);
    const detailed = await app.inject({ url: '/healthz', headers: bearer(vitalsOnly.token) });
    expect(detailed.json().store).toEqual({ ok: true, mode: 'embedded', location: '/secret/data/folder' });
  });

  it('/readyz without a token does not repeat the message of a failing broker (it can name hosts); with one it does', async () => {
    const failing = busDouble().bus;
    failing.health = async () => ({
      ok: false,
      client: 'rdkafka',
      brokers: 'kafka-7.internal:9092',
      detail: 'connect ECONNREFUSED kafka-7.internal:9092',
    });
    const server = await buildHttpApp({
      bus: failing,
      store,
      metrics: createMetrics(),
      log: silentLogger,
      auth: { readTokens: tokens },
    });
    try {
      const anonymous = await server.inject({ url: '/readyz' });
      expect(anonymous.statusCode).toBe(503);
      expect(anonymous.json().checks.bus).toEqual({
        ok: false,
        detail: 'Kafka is not reachable (the cause is in the log, and in /healthz with a read token)',
      });
      expect(anonymous.body).not.toContain('kafka-7.internal');
      const operator = await server.inject({ url: '/readyz', headers: bearer(vitalsOnly.token) });
      expect(operator.json().checks.bus.detail).toBe('connect ECONNREFUSED kafka-7.internal:9092');
    } finally {
      await server.close();
    }
  });

  it('/livez, /readyz and the OpenAPI document stay open', async () => {
    for (const url of ['/livez', '/readyz', '/api/v1/openapi.json']) {
      expect((await app.inject({ url })).statusCode, url).toBe(200);
    }
  });
});

describe('finding 1: Host allowlist (DNS rebinding) and CORS', () => {
  it('Host: evil.example → 421 HOST_NOT_ALLOWED, even with a valid token', async () => {
    const res = await app.inject({
      url: `/api/v1/kpis?${RANGE}`,
      headers: { host: 'evil.example', ...bearer(vitalsOnly.token) },
    });
    expect([res.statusCode, res.json().code]).toEqual([421, 'HOST_NOT_ALLOWED']);
    expect(res.json().message).toContain('CXV_ALLOWED_HOSTS');
  });

  it('localhost, IP literals and the configured names are served; probes answer whatever the Host', async () => {
    for (const host of ['localhost:8080', '127.0.0.1:8080', '[::1]:8080', '10.1.2.3', 'CXVITALS.noc.example']) {
      const res = await app.inject({ url: '/healthz', headers: { host } });
      expect([host, res.statusCode]).toEqual([host, 200]);
    }
    expect((await app.inject({ url: '/livez', headers: { host: 'evil.example' } })).statusCode).toBe(200);
  });

  it('OPTIONS preflight from an allowed origin → 204 with the CORS headers; from another origin → none', async () => {
    const preflight = (origin: string) =>
      app.inject({
        method: 'OPTIONS',
        url: '/api/v1/kpis',
        headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });
    const allowed = await preflight('https://portal.noc.example');
    expect(allowed.statusCode).toBe(204);
    expect(allowed.headers['access-control-allow-origin']).toBe('https://portal.noc.example');
    expect(String(allowed.headers['access-control-allow-headers'])).toContain('authorization');
    const other = await preflight('https://evil.example');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('dashboard sign-in: a session cookie from the URL the banner prints', () => {
  it('/?token=… sets an HttpOnly SameSite=Strict cookie and redirects to the URL without the token', async () => {
    const res = await app.inject({ url: `/?range=1h&token=${encodeURIComponent(vitalsOnly.token)}` });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/?range=1h');
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/^cxv_session=[^;]+; Max-Age=43200; Path=\/; HttpOnly; SameSite=Strict$/);

    const session = cookie.split(';')[0] ?? '';
    expect((await app.inject({ url: '/', headers: { cookie: session } })).statusCode).toBe(200);
    const api = await app.inject({ url: `/api/v1/availability?service=voice&${RANGE}`, headers: { cookie: session } });
    expect(api.statusCode).toBe(200);
  });

  it('without a session the page is a sign-in form (401); a bad token is refused and sets nothing', async () => {
    const anonymous = await app.inject({ url: '/' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.body).toContain('<form method="get" action="/">');
    const bad = await app.inject({ url: '/?token=nope' });
    expect([bad.statusCode, bad.headers['set-cookie']]).toEqual([401, undefined]);
  });
});
