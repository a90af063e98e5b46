import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pipeline } from '../../services/app.ts';
import { eventually, postJson } from '../support/pipeline.ts';
import { requireSystem } from '../support/system.ts';
import {
  alertNames,
  hasPrometheus,
  type PromAlert,
  type PrometheusServer,
  promAlerts,
  promQuery,
  rulesWithShortFor,
  startPipelineWith,
  startPrometheus,
} from './harness.ts';

/**
 * End to end: a real Prometheus (Debian package) on loopback scrapes a running cxvitals
 * every second and evaluates the deployed rule file (deploy/prometheus/rules/, with every
 * `for:` cut to 5 s). Healthy probes first — no alert; then an outage injected through
 * ingest — the Serviceability alert of that service and region goes pending, then firing,
 * as seen through Prometheus' HTTP API.
 */

const RULES = fileURLToPath(new URL('../../deploy/prometheus/rules/cxvitals.rules.yml', import.meta.url));
const MIN = 60_000;
const available = hasPrometheus();
const run = requireSystem('Prometheus server', available, 'install the Debian package "prometheus" (apt-get install prometheus)');

let pipeline: Pipeline | undefined;
let prometheus: PrometheusServer | undefined;

beforeAll(async () => {
  if (!run) return;
  // Ten minutes of allowed lateness: the outage is reported for minutes that already closed.
  pipeline = await startPipelineWith(
    { CXV_ALLOWED_LATENESS_MS: '600000' },
    { dashboard: { gaugeIntervalMs: 1000, livePollMs: 1000 } },
  );
  const target = new URL(pipeline.url).host.replace('localhost', '127.0.0.1');
  prometheus = await startPrometheus(target, await rulesWithShortFor(RULES, '5s'));
}, 120_000);

afterAll(async () => {
  await prometheus?.stop();
  await pipeline?.stop();
}, 60_000);

const probe = (id: string, ts: number, fields: Record<string, unknown>) => ({
  eventId: id,
  ts,
  service: 'voice',
  region: 'north',
  probeId: fields.probeType === 'agent' ? 'agent-n1' : 'rtp-n1',
  ...fields,
});

const ofPair = (a: PromAlert, name: string) =>
  a.labels.alertname === name && a.labels.service === 'voice' && a.labels.region === 'north';

describe.skipIf(!run)('alerting end to end with a real Prometheus', () => {
  it('loads the deployed rules into Prometheus', async () => {
    const res = await fetch(`${prometheus?.url}/api/v1/rules?type=alert`);
    const body = (await res.json()) as { data: { groups: Array<{ rules: Array<{ name: string; health: string }> }> } };
    const rules = body.data.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.name)).toContain('CxvServiceabilityBelowTarget');
    // Every alert of the deployed file, healthy (a rule Prometheus cannot evaluate says so).
    const deployed = await alertNames(RULES);
    expect(deployed.length).toBeGreaterThanOrEqual(12);
    expect(rules.map((r) => r.name).sort()).toEqual(deployed.sort());
    expect(rules.filter((r) => r.health === 'err')).toEqual([]);
  });

  it('fires the Serviceability alert of a service and region after an outage: pending, then firing', async () => {
    const app = pipeline as Pipeline;
    const prom = (prometheus as PrometheusServer).url;
    const t0 = Math.floor(Date.now() / MIN) * MIN;

    // Healthy: one successful test every 5 s for the four minutes before this one.
    const healthy = Array.from({ length: 48 }, (_, i) =>
      probe(`ok-${i}`, t0 - 4 * MIN + i * 5000, { probeType: 'active', success: true }),
    );
    expect((await postJson(`${app.url}/api/v1/events/probe`, healthy)).status).toBe(200);
    await eventually(
      'Prometheus to scrape Serviceability 100% for voice/north',
      async () => {
        const [sample] = await promQuery(prom, 'cxv_serviceability_ratio{service="voice",region="north"}');
        return sample?.value[1] === '1' ? sample : undefined;
      },
      60_000,
    );
    expect((await promAlerts(prom)).filter((a) => ofPair(a, 'CxvServiceabilityBelowTarget'))).toEqual([]);

    // Outage: an agent reports its counters for the last two minutes, every attempt failed.
    const outage = Array.from({ length: 24 }, (_, i) =>
      probe(`down-${i}`, t0 - 2 * MIN + i * 5000, { probeType: 'agent', attempts: 100, successes: 0 }),
    );
    expect((await postJson(`${app.url}/api/v1/events/probe`, outage)).status).toBe(200);

    const seen: string[] = [];
    const firing = await eventually(
      'the Serviceability alert of voice/north to fire',
      async () => {
        const alert = (await promAlerts(prom)).find((a) => ofPair(a, 'CxvServiceabilityBelowTarget'));
        if (alert && seen.at(-1) !== alert.state) seen.push(alert.state);
        // Firing, and on every event of both posts (they land apart; each evaluation updates the value).
        return alert?.state === 'firing' && Math.abs(Number(alert.value) - 48 / (48 + 2400)) < 1e-6 ? alert : undefined;
      },
      90_000,
    );
    expect(seen).toEqual(['pending', 'firing']);
    // 48 successes out of 48 tests + 2400 failed attempts: the gauge Prometheus scraped is the exact ratio.
    expect(Number(firing.value)).toBeCloseTo(48 / (48 + 2400), 6);
    expect(firing.labels.severity).toBe('ticket');
    expect(firing.annotations.summary).toBe('Serviceability of voice in north is 1.961%, below the 99.5% target');
    expect(firing.annotations.runbook).toContain('docs/alerts.md#cxvserviceabilitybelowtarget');
    // No maintenance was declared, so Availability pages too.
    const availability = (await promAlerts(prom)).find((a) => ofPair(a, 'CxvAvailabilityBelowTarget'));
    expect(availability?.state).toBeDefined();
  }, 150_000);
});
