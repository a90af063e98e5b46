import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../services/api/server.ts';
import { incidentId } from '../../services/incidents/incidents.ts';
import { IncidentJob } from '../../services/incidents/job.ts';
import { incidentsPlugin } from '../../services/incidents/routes.ts';
import { loadModel } from '../../services/model/load.ts';
import { demoReadCredentials } from '../../services/shared/auth/tokens.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { createMetrics } from '../../services/shared/metrics.ts';
import { migrate } from '../../services/shared/store/migrations.ts';
import { openStore, type Store } from '../../services/shared/store/store.ts';
import { busDouble } from '../ingest/harness.ts';
import { probeMinuteRows } from '../support/probe-minutes.ts';

/** GET /api/v1/incidents and /api/v1/incidents/{id} over incidents the job stored from probe minutes. */

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);
const READ = { authorization: `Bearer ${demoReadCredentials().token}` };

const minutes = (service: string, region: string, down: readonly number[]) =>
  probeMinuteRows(service, region, { t0: T0, down, downSuccesses: 0 });

describe('incidents API', () => {
  let dir = '';
  let store: Store;
  let app: FastifyInstance;
  const iptv = incidentId('iptv', 'east', T0 + 20 * MIN);
  const voice = incidentId('voice', 'west', T0 + 35 * MIN);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cxv-incidents-api-'));
    store = await openStore({ mode: 'embedded', database: 'cxv_incidents_api', dataDir: dir, log: silentLogger });
    await migrate(store, silentLogger);
    const model = await loadModel('schemas/model/cx-model.v1.yaml');
    await store.insert('probe_kpi_1m', [...minutes('iptv', 'east', [20, 21]), ...minutes('voice', 'west', [35, 36, 37])]);
    const job = new IncidentJob({
      store,
      log: silentLogger,
      model: () => model,
      excuseRetroactive: false,
      closeDelayMs: 0,
      now: () => T0 + 40 * MIN,
    });
    await job.tick();
    app = await buildServer({
      bus: busDouble().bus,
      store,
      metrics: createMetrics(),
      log: silentLogger,
      plugins: [incidentsPlugin({ store, model: () => model, now: () => T0 + 40 * MIN })],
    });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const get = (url: string, headers: Record<string, string> = READ) => app.inject({ method: 'GET', url, headers });

  it('lists incidents newest first, filtered by service, region, status and time', async () => {
    const all = await get('/api/v1/incidents');
    expect(all.statusCode).toBe(200);
    const body = all.json() as {
      incidents: Array<{ id: string; status: string; start: string; resolvedAt: string | null; trigger: string }>;
    };
    expect(body.incidents.map((i) => [i.id, i.status, i.start, i.resolvedAt])).toEqual([
      [voice, 'open', '2026-11-23T10:35:00.000Z', null],
      [iptv, 'resolved', '2026-11-23T10:20:00.000Z', '2026-11-23T10:22:00.000Z'],
    ]);
    const ids = async (query: string) =>
      ((await get(`/api/v1/incidents?${query}`)).json() as typeof body).incidents.map((i) => i.id);
    expect(await ids('status=open')).toEqual([voice]);
    expect(await ids('status=resolved')).toEqual([iptv]);
    expect(await ids('service=iptv')).toEqual([iptv]);
    expect(await ids('region=west')).toEqual([voice]);
    // Active in [10:25, 10:30): neither (iptv resolved at 10:22, voice starts at 10:35).
    expect(await ids('from=2026-11-23T10:25:00Z&to=2026-11-23T10:30:00Z')).toEqual([]);
    expect(await ids('from=2026-11-23T10:21:00Z&to=2026-11-23T10:30:00Z')).toEqual([iptv]);
  });

  it('shows one incident with its evidence: each signal per minute, value against baseline', async () => {
    const res = await get(`/api/v1/incidents/${iptv}`);
    expect(res.statusCode).toBe(200);
    const body = res.json() as {
      signals: Array<{ signal: string; lagMinutes: number; peak: { value: number; baseline: number; score: number } }>;
      customersAffected: { count: number | null; reason: string };
      timeline: {
        from: string;
        to: string;
        minutes: Array<{ minute: string; signals: Record<string, { value: number; baseline: number; anomalous: boolean }> }>;
      };
    };
    expect(body.signals.map((s) => [s.signal, s.lagMinutes, s.peak.value, s.peak.baseline, s.peak.score])).toEqual([
      ['serviceability', 0, 0, 1, 50],
      ['availability', 0, 0, 1, 50],
    ]);
    expect(body.customersAffected.count).toBeNull();
    // From start − (lookback 5 + 5) minutes to resolution + 5.
    expect([body.timeline.from, body.timeline.to]).toEqual(['2026-11-23T10:10:00.000Z', '2026-11-23T10:27:00.000Z']);
    expect(body.timeline.minutes).toHaveLength(17);
    const at = (m: string) => body.timeline.minutes.find((p) => p.minute === m)?.signals.serviceability;
    expect(at('2026-11-23T10:20:00.000Z')).toMatchObject({ value: 0, baseline: 1, anomalous: true });
    expect(at('2026-11-23T10:22:00.000Z')).toMatchObject({ value: 1, anomalous: false });
  });

  it('answers 404 with what to do for an unknown id, 400 for a malformed one, 401 without a token', async () => {
    const missing = await get('/api/v1/incidents/0123456789abcdef');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({
      code: 'INCIDENT_NOT_FOUND',
      message: expect.stringContaining('GET /api/v1/incidents'),
    });
    expect((await get('/api/v1/incidents/nope')).statusCode).toBe(400);
    expect((await get('/api/v1/incidents?status=closed')).statusCode).toBe(400);
    expect((await get('/api/v1/incidents', {})).statusCode).toBe(401);
  });
});
