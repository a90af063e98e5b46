import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { incidentId } from '../../services/incidents/incidents.ts';
import { IncidentJob } from '../../services/incidents/job.ts';
import { readIncident, readIncidents, readTimeline } from '../../services/incidents/repository.ts';
import { loadModel } from '../../services/model/load.ts';
import type { CxModel } from '../../services/model/types.ts';
import { createLogger } from '../../services/shared/log.ts';
import { migrate } from '../../services/shared/store/migrations.ts';
import { openStore, type Store } from '../../services/shared/store/store.ts';
import { probeMinuteRows } from '../support/probe-minutes.ts';

/**
 * The incident job over a real (embedded) store: probe minutes written as the aggregator
 * writes them, read back through the read model, scored, grouped, stored; a second job (a
 * restart) derives the same incidents with the same ids and adds no rows of its own.
 */

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);
const log = createLogger('warn');

const probeMinutes = (service: string, region: string, down: readonly number[]) =>
  probeMinuteRows(service, region, { t0: T0, down, downSuccesses: 1 });

describe('incident job', () => {
  let dir = '';
  let store: Store;
  let model: CxModel;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cxv-incidents-'));
    store = await openStore({ mode: 'embedded', database: 'cxv_incidents', dataDir: dir, log });
    await migrate(store, log);
    model = await loadModel('schemas/model/cx-model.v1.yaml');
    await store.insert('probe_kpi_1m', [
      ...probeMinutes('iptv', 'east', [20, 21, 22]),
      ...probeMinutes('broadband', 'north', [36, 37]),
    ]);
  });
  afterAll(async () => {
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const job = (registry?: Registry) =>
    new IncidentJob({
      store,
      log,
      model: () => model,
      excuseRetroactive: false,
      registry,
      closeDelayMs: 0,
      replayMinutes: 60,
      now: () => T0 + 40 * MIN,
    });

  it('stores one incident per outage, with its start, signals and resolution, and exports the open one', async () => {
    const registry = new Registry();
    const changed: string[] = [];
    const first = new IncidentJob({
      store,
      log,
      model: () => model,
      excuseRetroactive: false,
      registry,
      closeDelayMs: 0,
      replayMinutes: 60,
      now: () => T0 + 40 * MIN,
      onChange: (i) => changed.push(`${i.service}/${i.region} ${i.status}`),
    });
    const result = await first.tick();
    expect(result).toMatchObject({ from: T0 - 20 * MIN, to: T0 + 40 * MIN, keys: 2, open: 1 });
    // 9 signals × 40 minutes with data × 2 keys; the 20 minutes before the data are not stored.
    expect(result.anomalyRows).toBe(9 * 40 * 2);
    expect(changed.sort()).toEqual(['broadband/north open', 'iptv/east resolved']);

    const stored = await readIncidents(store, { limit: 10 });
    expect(stored.map((i) => [i.service, i.region, i.status, i.start, i.openedAt, i.resolvedAt])).toEqual([
      ['broadband', 'north', 'open', T0 + 36 * MIN, T0 + 36 * MIN, null],
      ['iptv', 'east', 'resolved', T0 + 20 * MIN, T0 + 20 * MIN, T0 + 23 * MIN],
    ]);
    const iptv = stored[1];
    expect(iptv?.id).toBe(incidentId('iptv', 'east', T0 + 20 * MIN));
    // Serviceability 1/24 against a median of 1 (MAD 0, spread floored at 0.02): (1 − 1/24) / 0.02 = 47.9166…
    expect(iptv?.signals.map((s) => [s.signal, s.lagMinutes, s.anomalousMinutes])).toEqual([
      ['serviceability', 0, 3],
      ['availability', 0, 3],
    ]);
    expect(iptv?.signals[0]?.peak.score).toBeCloseTo((1 - 1 / 24) / 0.02, 9);
    expect(iptv?.signals[0]?.peak.baseline).toBe(1);

    expect(await readIncidents(store, { status: 'open', limit: 10 })).toHaveLength(1);
    expect(await readIncidents(store, { service: 'iptv', limit: 10 })).toHaveLength(1);
    expect(await readIncidents(store, { from: T0 + 30 * MIN, to: T0 + 40 * MIN, limit: 10 })).toHaveLength(1);

    const metrics = await registry.getSingleMetricAsString('cxv_incidents_open');
    expect(metrics).toContain(
      `cxv_incidents_open{service="broadband",region="north",incident_id="${incidentId('broadband', 'north', T0 + 36 * MIN)}"} 1`,
    );
    expect(metrics).not.toContain('iptv');

    const timeline = await readTimeline(store, { service: 'iptv', region: 'east' }, T0 + 19 * MIN, T0 + 24 * MIN);
    expect(timeline.map((p) => [p.minute, p.signals.serviceability?.value, p.signals.serviceability?.anomalous])).toEqual([
      [new Date(T0 + 19 * MIN).toISOString(), 1, false],
      [new Date(T0 + 20 * MIN).toISOString(), 1 / 24, true],
      [new Date(T0 + 21 * MIN).toISOString(), 1 / 24, true],
      [new Date(T0 + 22 * MIN).toISOString(), 1 / 24, true],
      [new Date(T0 + 23 * MIN).toISOString(), 1, false],
    ]);
  });

  it('after a restart derives the same incidents with the same ids: no new incident, no duplicate row', async () => {
    const before = await readIncidents(store, { limit: 10 });
    const second = await job().tick();
    expect(second.written.map((i) => i.id).sort()).toEqual(before.map((i) => i.id).sort());
    const after = await readIncidents(store, { limit: 10 });
    expect(after.map(({ version: _v, ...i }) => i)).toEqual(before.map(({ version: _v, ...i }) => i));
    const [rows] = await store.query<{ n: string; ids: string }>(
      `SELECT count() AS n, uniqExact(id) AS ids FROM ${store.table('incidents')} FINAL`,
    );
    expect(rows).toEqual({ n: 2, ids: 2 });
    // A tick with nothing new writes no incident row.
    const running = job();
    await running.tick();
    expect((await running.tick()).written).toEqual([]);
    expect(await readIncident(store, 'no-such-id')).toBeUndefined();
  });
});
