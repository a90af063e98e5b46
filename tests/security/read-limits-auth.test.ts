import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { GoalsService } from '../../services/goals/routes.ts';
import { loadModel } from '../../services/model/load.ts';
import { buildHttpApp } from '../../services/roles.ts';
import { generateReadToken, parseReadTokenEntries, ReadTokens } from '../../services/shared/auth/tokens.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { createMetrics } from '../../services/shared/metrics.ts';
import { migrate } from '../../services/shared/store/migrations.ts';
import { openStore, type QueryParams } from '../../services/shared/store/store.ts';
import { StoreWrapper } from '../../services/shared/store/wrapper.ts';
import { busDouble } from '../ingest/harness.ts';
import { storeDouble } from '../support/store-double.ts';

/**
 * Issue 15, finding 6 (100 open live streams from one client took every slot, no idle
 * cutoff, no auth) and the auth parts of finding 8 (2,000 random bearer tokens each cost
 * a ClickHouse lookup; slow-header connections were held ~75 s; no rate limits).
 */

const emptyStore = storeDouble();

const screenA = generateReadToken(['read:vitals'], { owner: 'screen-a' });
const screenB = generateReadToken(['read:vitals'], { owner: 'screen-b' });
const tokens = () => ReadTokens.fromEntries(parseReadTokenEntries(`${screenA.entry}\n${screenB.entry}`, 'test'));
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

const servers: FastifyInstance[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
});

async function vitalsServer(options: Parameters<typeof buildHttpApp>[0]['dashboard'] = {}, extra = {}) {
  const model = await loadModel();
  const app = await buildHttpApp({
    bus: busDouble().bus,
    store: emptyStore,
    metrics: createMetrics(),
    log: silentLogger,
    vitals: { store: emptyStore, model: () => model, excuseRetroactiveMaintenance: false },
    dashboard: { livePollMs: 60_000, liveHeartbeatMs: 60_000, gaugeIntervalMs: 600_000, ...options },
    auth: { readTokens: tokens() },
    ...extra,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  servers.push(app);
  return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

describe('finding 6: live streams are capped per client and end after a maximum age', () => {
  it('one client (address and token) gets at most maxLiveStreamsPerClient streams; the next is 429, another token still gets one', async () => {
    const { base } = await vitalsServer({ maxLiveStreamsPerClient: 3, maxLiveClients: 100 });
    const controller = new AbortController();
    const open = (token: string) => fetch(`${base}/api/v1/live`, { headers: bearer(token), signal: controller.signal });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await open(screenA.token)).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const fourth = await open(screenA.token);
      expect(await fourth.json()).toMatchObject({ code: 'TOO_MANY_STREAMS_FOR_CLIENT' });
      expect((await open(screenB.token)).status).toBe(200);
      const anonymous = await fetch(`${base}/api/v1/live`, { signal: controller.signal });
      expect(anonymous.status).toBe(401);
    } finally {
      controller.abort();
    }
  });

  it('the live stream takes the session cookie (what EventSource sends), and refuses a bad one', async () => {
    const { base } = await vitalsServer();
    const controller = new AbortController();
    try {
      const withCookie = await fetch(`${base}/api/v1/live`, {
        headers: { cookie: `cxv_session=${screenA.token}` },
        signal: controller.signal,
      });
      expect([withCookie.status, withCookie.headers.get('content-type')]).toEqual([200, 'text/event-stream; charset=utf-8']);
      const badCookie = await fetch(`${base}/api/v1/live`, { headers: { cookie: 'cxv_session=cxr_forged' } });
      expect([badCookie.status, ((await badCookie.json()) as { code: string }).code]).toEqual([401, 'AUTH_INVALID_TOKEN']);
    } finally {
      controller.abort();
    }
  });

  it('a closed stream frees its slot for the same client', async () => {
    const { base } = await vitalsServer({ maxLiveStreamsPerClient: 1 });
    const first = new AbortController();
    expect((await fetch(`${base}/api/v1/live`, { headers: bearer(screenA.token), signal: first.signal })).status).toBe(200);
    first.abort();
    const second = new AbortController();
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const res = await fetch(`${base}/api/v1/live`, { headers: bearer(screenA.token), signal: second.signal });
      status = res.status;
      if (status !== 200) await res.body?.cancel();
    }
    second.abort();
    expect(status).toBe(200);
  });

  it('a stream is ended by the server after liveMaxAgeMs (EventSource then reconnects and is authorized again)', async () => {
    const { base } = await vitalsServer({ liveMaxAgeMs: 300 });
    const started = Date.now();
    const res = await fetch(`${base}/api/v1/live`, { headers: bearer(screenA.token), signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    const lasted = Date.now() - started;
    expect(text).toContain('event: hello');
    expect(lasted).toBeGreaterThanOrEqual(250);
    expect(lasted).toBeLessThan(5_000);
  });
});

describe('finding 8 (auth): rate limits, refused tokens, slow headers', () => {
  it('over CXV_RATE_LIMIT_PER_TOKEN a token gets 429 RATE_LIMITED with Retry-After; another token is not affected', async () => {
    const { app } = await vitalsServer(
      {},
      { auth: { readTokens: tokens(), rateLimit: { perTokenPerMinute: 5, perAddressPerMinute: 100 } } },
    );
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push((await app.inject({ url: '/api/v1/dashboard/meta', headers: bearer(screenA.token) })).statusCode);
    expect(statuses.slice(0, 5).every((s) => s !== 429)).toBe(true);
    const limited = await app.inject({ url: '/api/v1/dashboard/meta', headers: bearer(screenA.token) });
    expect([limited.statusCode, limited.json().code]).toEqual([429, 'RATE_LIMITED']);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await app.inject({ url: '/api/v1/dashboard/meta', headers: bearer(screenB.token) })).statusCode).not.toBe(429);
    expect((await app.inject({ url: '/livez' })).statusCode).toBe(200);
  });

  it('2,000 random bearer tokens at the goals API from one address: at most the per-address limit reach the store, and a refused token is not looked up again', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cxv-sec-goals-'));
    const real = await openStore({ mode: 'embedded', dataDir, database: 'cxvitals', log: silentLogger });
    await migrate(real, silentLogger);
    const counting = new (class extends StoreWrapper {
      queries = 0;
      override query<T>(sql: string, params?: QueryParams): Promise<T[]> {
        this.queries += 1;
        return this.inner.query<T>(sql, params);
      }
    })(real);
    const metrics = createMetrics();
    const goals = new GoalsService({ store: counting, log: silentLogger, registry: metrics.registry, adminToken: undefined });
    const app = await buildHttpApp({
      bus: busDouble().bus,
      store: counting,
      metrics,
      log: silentLogger,
      goals,
      auth: { readTokens: tokens(), rateLimit: { perTokenPerMinute: 1000, perAddressPerMinute: 100 } },
    });
    await app.ready();
    servers.push(app);
    try {
      const repeated = `cxv_${randomBytes(32).toString('base64url')}`;
      const first = await app.inject({ url: '/api/v1/people', headers: bearer(repeated), remoteAddress: '10.9.9.9' });
      expect(first.statusCode).toBe(401);
      const afterFirst = counting.queries;
      expect(afterFirst).toBeGreaterThan(0);
      for (let i = 0; i < 20; i++) {
        const again = await app.inject({ url: '/api/v1/people', headers: bearer(repeated), remoteAddress: '10.9.9.9' });
        expect(again.statusCode).toBe(401);
      }
      expect(counting.queries).toBe(afterFirst);

      const before = counting.queries;
      const statuses = new Map<number, number>();
      for (let i = 0; i < 2000; i++) {
        const res = await app.inject({
          url: '/api/v1/people',
          headers: bearer(`cxv_${randomBytes(32).toString('base64url')}`),
          remoteAddress: '10.8.8.8',
        });
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      }
      expect(Object.fromEntries(statuses)).toEqual({ 401: 100, 429: 1900 });
      expect(counting.queries - before).toBeLessThanOrEqual(100 * (afterFirst || 1));
    } finally {
      await real.close();
    }
  }, 120_000);

  it('a connection that never finishes its headers is closed after the headers timeout (was held ~75 s)', async () => {
    const { app } = await vitalsServer({}, { http: { headersTimeoutMs: 1000, requestTimeoutMs: 5000 } });
    const port = (app.server.address() as AddressInfo).port;
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write('GET /livez HTTP/1.1\r\nHost: localhost\r\nX-Slow: '));
      let received = '';
      socket.on('data', (chunk) => {
        received += chunk.toString();
      });
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
      setTimeout(() => {
        socket.destroy();
        reject(new Error('still open after 8 s'));
      }, 8_000);
    });
    const heldMs = Date.now() - started;
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
    expect(heldMs).toBeGreaterThanOrEqual(900);
    expect(heldMs).toBeLessThan(4_000);
  });
});
