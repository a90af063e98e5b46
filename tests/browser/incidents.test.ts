import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pipeline } from '../../services/app.ts';
import { incidentId } from '../../services/incidents/incidents.ts';
import { startPipelineWith } from '../prometheus/harness.ts';
import { eventually, getJson, postJson } from '../support/pipeline.ts';
import { chromiumAvailable, launchChromium, openPage, screenshot, waitReady } from './harness.ts';

/**
 * An open incident on the vital-signs page (issue 18): half an hour of healthy probe samples
 * for broadband/south with a three-minute outage six minutes ago, through ingest, the
 * aggregator, the incident job and the API, to the panel's timeline in Chromium.
 */

const MIN = 60_000;
const run = chromiumAvailable();
let pipeline: Pipeline;
let browser: Browser;

const now = Date.now();
const t0 = Math.floor(now / MIN) * MIN - 32 * MIN;
const outage = { from: t0 + 26 * MIN, to: t0 + 29 * MIN };
const samples = Array.from({ length: 31 * 12 }, (_, i) => {
  const ts = t0 + i * 5000;
  const down = ts >= outage.from && ts < outage.to;
  return {
    eventId: `inc-${i}`,
    ts,
    service: 'broadband',
    region: 'south',
    probeId: 'agent-s1',
    probeType: 'agent',
    attempts: 20,
    successes: down ? 1 : 20,
  };
});

beforeAll(async () => {
  if (!run) return;
  pipeline = await startPipelineWith({ CXV_ALLOWED_LATENESS_MS: '3600000' }, { dashboard: { livePollMs: 1000 } });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await pipeline?.stop();
}, 60_000);

describe.skipIf(!run)('incidents on the dashboard', () => {
  it('shows an open incident of a simulated outage with its timeline: Serviceability and Availability from the start', async () => {
    expect((await postJson(`${pipeline.url}/api/v1/events/probe`, samples)).status).toBe(200);
    const id = incidentId('broadband', 'south', outage.from);
    const incident = await eventually(
      'the incident job to open the incident',
      async () => {
        const res = await getJson<{
          incidents: Array<{ id: string; status: string; signals: Array<{ signal: string; lagMinutes: number }> }>;
        }>(`${pipeline.url}/api/v1/incidents?service=broadband&region=south`);
        return res.body.incidents.find((i) => i.id === id && i.status === 'open');
      },
      90_000,
    );
    expect(incident.signals.map((s) => [s.signal, s.lagMinutes])).toEqual([
      ['serviceability', 0],
      ['availability', 0],
    ]);

    // The job may open it from the first minutes of the outage: the timeline the page draws
    // is complete once every outage minute of both signals is scored.
    await eventually(
      'the incident timeline to hold the three outage minutes of each signal',
      async () => {
        const res = await getJson<{
          timeline: { minutes: Array<{ signals: Record<string, { anomalous: boolean }> }> };
        }>(`${pipeline.url}/api/v1/incidents/${id}`);
        const count = (signal: string) => res.body.timeline.minutes.filter((m) => m.signals[signal]?.anomalous).length;
        return count('serviceability') === 3 && count('availability') === 3 ? true : undefined;
      },
      90_000,
    );

    const { page, errors } = await openPage(browser, { width: 1600, height: 1000 });
    // The panel's own requests must all succeed (the page's other panels are dashboard.test.ts's concern).
    const failed: string[] = [];
    page.on('response', (r) => {
      if (r.url().includes('/api/v1/incidents') && r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(`${pipeline.url}/?region=south`);
    await waitReady(page);
    const card = page.locator(`#incidents article[data-incident="${id}"]`);
    await card.waitFor({ timeout: 30_000 });
    expect(await card.getAttribute('data-status')).toBe('open');
    expect(await card.locator('h3').textContent()).toContain('broadband · south');
    const rows = await card
      .locator('svg.incident-timeline g[data-signal]')
      .evaluateAll((gs) =>
        gs.map((g) => [g.getAttribute('data-signal'), g.getAttribute('data-lag'), g.querySelectorAll('rect.anomalous').length]),
      );
    // Three anomalous minutes in each row: the outage's.
    expect(rows).toEqual([
      ['serviceability', '0', 3],
      ['availability', '0', 3],
    ]);
    await screenshot(page, 'dashboard-incident.png', { fullPage: true });
    expect(failed).toEqual([]);
    expect(errors.filter((e) => e.startsWith('exception'))).toEqual([]);
  }, 180_000);
});
