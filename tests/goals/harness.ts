import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../services/api/server.ts';
import { GoalsService } from '../../services/goals/routes.ts';
import { goalsPlugin } from '../../services/roles.ts';
import type { Bus } from '../../services/shared/bus/bus.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { createMetrics, type Metrics } from '../../services/shared/metrics.ts';
import { migrate } from '../../services/shared/store/migrations.ts';
import { openStore, type Store } from '../../services/shared/store/store.ts';

/**
 * The goals service in-process, without Kafka: chDB in a temp folder (one per test file:
 * chDB binds one data path per process), the migrations, the real API server (its error
 * handler and zod compilers) with stand-ins for the bus and ingest, which these tests
 * never touch, and a clock the test moves by hand.
 */

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
export const DAY = 86_400_000;
export const HOUR = 3_600_000;

export interface Harness {
  app: FastifyInstance;
  store: Store;
  goals: GoalsService;
  metrics: Metrics;
  clock: { now: number };
  call<T = Record<string, unknown>>(
    method: string,
    url: string,
    token?: string,
    body?: unknown,
  ): Promise<{ status: number; body: T; text: string }>;
  close(): Promise<void>;
}

export async function startHarness(
  startAt: number,
  options: { listen?: boolean; alertRulesPath?: string } = {},
): Promise<Harness> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cxv-goals-'));
  const store = await openStore({ mode: 'embedded', dataDir, database: 'cxvitals', log: silentLogger });
  await migrate(store, silentLogger);
  const metrics = createMetrics();
  const clock = { now: startAt };
  const goals = new GoalsService({
    store,
    log: silentLogger,
    registry: metrics.registry,
    clock: () => clock.now,
    adminToken: ADMIN_TOKEN,
    ...(options.alertRulesPath ? { alertRulesPath: options.alertRulesPath } : {}),
  });
  // The goals role plugin behind the real auth layer, as the application registers it.
  const app = await buildServer({ bus: {} as unknown as Bus, store, metrics, log: silentLogger, plugins: [goalsPlugin(goals)] });
  if (options.listen) await app.listen({ host: '127.0.0.1', port: 0 });
  else await app.ready();
  return {
    app,
    store,
    goals,
    metrics,
    clock,
    async call<T>(method: string, url: string, token?: string, body?: unknown) {
      const res = await app.inject({
        method: method as 'GET',
        url,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      });
      const text = res.body;
      let parsed: unknown = text;
      if ((res.headers['content-type'] ?? '').toString().includes('json')) parsed = JSON.parse(text);
      return { status: res.statusCode, body: parsed as T, text };
    },
    async close() {
      await goals.stop();
      await app.close();
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** One `probe_kpi_1m` row: a minute of probe counts for (service, region). */
export interface ProbeMinute {
  service: string;
  region: string;
  t: number;
  attempts: number;
  successes: number;
  plannedAttempts?: number;
  plannedSuccesses?: number;
}

export async function seedProbeMinutes(store: Store, rows: readonly ProbeMinute[]): Promise<void> {
  await store.insert(
    'probe_kpi_1m',
    rows.map((r) => ({
      service: r.service,
      region: r.region,
      window_start: r.t,
      samples: r.attempts,
      attempts: r.attempts,
      successes: r.successes,
      planned_attempts: r.plannedAttempts ?? 0,
      planned_successes: r.plannedSuccesses ?? 0,
      retro_attempts: 0,
      retro_successes: 0,
      version: 1,
      bus_epoch: 'test',
      source_partition: 0,
      last_offset: 0,
    })),
  );
}

/**
 * The organisation most goals tests use:
 *
 *   company (ceo) ─┬─ network (cto) ─┬─ noc (nocmgr; staff noc1, noc2)
 *                  │                 └─ access (accmgr)
 *                  └─ care (cco)
 *   planner (role planner, in company)
 *
 * Returns a token per person.
 */
export async function seedOrganisation(h: Harness): Promise<Record<string, string>> {
  const departments = [
    { id: 'company', name: 'Company', parentId: null },
    { id: 'network', name: 'Network', parentId: 'company' },
    { id: 'noc', name: 'Network Operations Centre', parentId: 'network' },
    { id: 'access', name: 'Access Network', parentId: 'network' },
    { id: 'care', name: 'Customer Care', parentId: 'company' },
  ];
  for (const d of departments) await expectCreated(h.call('POST', '/api/v1/departments', ADMIN_TOKEN, { ...d, managerId: null }));
  const people = [
    { id: 'ceo', name: 'Chief Executive', role: 'manager', departmentId: 'company', manages: 'company' },
    { id: 'cto', name: 'Chief Technology Officer', role: 'manager', departmentId: 'network', manages: 'network' },
    { id: 'nocmgr', name: 'NOC Manager', role: 'manager', departmentId: 'noc', manages: 'noc' },
    { id: 'noc1', name: 'NOC Engineer One', role: 'staff', departmentId: 'noc' },
    { id: 'noc2', name: 'NOC Engineer Two', role: 'staff', departmentId: 'noc' },
    { id: 'accmgr', name: 'Access Manager', role: 'manager', departmentId: 'access', manages: 'access' },
    { id: 'cco', name: 'Chief Customer Officer', role: 'manager', departmentId: 'care', manages: 'care' },
    { id: 'planner', name: 'Strategy Planner', role: 'planner', departmentId: 'company' },
  ];
  const tokens: Record<string, string> = {};
  for (const { manages, ...p } of people) {
    await expectCreated(h.call('POST', '/api/v1/people', ADMIN_TOKEN, p));
    const issued = await h.call<{ token: string }>('POST', `/api/v1/people/${p.id}/tokens`, ADMIN_TOKEN, { label: 'test' });
    if (issued.status !== 201) throw new Error(`token for ${p.id}: ${issued.text}`);
    tokens[p.id] = issued.body.token;
    if (manages) {
      const dep = await h.call<{ version: number }>('GET', `/api/v1/departments/${manages}`, ADMIN_TOKEN);
      const patched = await h.call('PATCH', `/api/v1/departments/${manages}`, ADMIN_TOKEN, {
        managerId: p.id,
        version: dep.body.version,
      });
      if (patched.status !== 200) throw new Error(`manager of ${manages}: ${patched.text}`);
    }
  }
  return tokens;
}

async function expectCreated(p: Promise<{ status: number; text: string }>): Promise<void> {
  const res = await p;
  if (res.status !== 201) throw new Error(`expected 201, got ${res.status}: ${res.text}`);
}

/** Reads one sample from the Prometheus text exposition. */
export function metricSample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (want.every((w) => line.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}
