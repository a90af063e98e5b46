import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pipeline } from '../../services/app.ts';
import {
  formatCount,
  formatNps,
  formatPct,
  formatRatio,
  formatScore,
  formatSeconds,
  formatZ,
} from '../../services/dashboard/client/format.ts';
import type { AvailabilityReport, CsiResponse, KpiResponse } from '../../services/dashboard/client/types.ts';
import { startPipelineWith } from '../prometheus/harness.ts';
import { eventually, getJson, postJson } from '../support/pipeline.ts';
import { bodyData, chromiumAvailable, launchChromium, openPage, publishScreenshot, screenshot, waitReady } from './harness.ts';

/**
 * The vital-signs page in Chromium against the embedded stack with the simulator on
 * (12 minutes of seeded history: planned maintenance on broadband/north, a retroactive
 * one on iptv/east, an outage on mobile-data/west). The page must show exactly the
 * API's numbers, drill from a CSI point down to raw events, and update live.
 */

const SERVICES = ['mobile-data', 'voice', 'broadband', 'iptv'];
const WALL = { width: 1920, height: 1080 };
const LAPTOP = { width: 1366, height: 768 };
const run = chromiumAvailable();

let pipeline: Pipeline;
let browser: Browser;

beforeAll(async () => {
  if (!run) return;
  pipeline = await startPipelineWith(
    { CXV_SIMULATE: '1', CXV_ALLOWED_LATENESS_MS: '300000' },
    { dashboard: { livePollMs: 1000, liveHeartbeatMs: 2000 } },
  );
  // The seeded history is written once its windows close: wait for every service's CSI.
  await eventually(
    'CSI history for every simulated service',
    async () => {
      const counts = await Promise.all(
        SERVICES.map(
          async (s) => (await getJson<CsiResponse>(`${pipeline.url}/api/v1/csi?service=${s}&step=5m`)).body.buckets.length,
        ),
      );
      return counts.every((n) => n >= 2) ? counts : undefined;
    },
    90_000,
  );
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await pipeline?.stop();
}, 60_000);

interface TileReading {
  value: string | null;
  bucket: string | null;
  text: string;
}

async function readTile(page: Page, service: string, metric: string): Promise<TileReading> {
  const el = page.locator(`article[data-service="${service}"] [data-metric="${metric}"]`).first();
  return {
    value: await el.getAttribute('data-value'),
    bucket: await el.getAttribute('data-bucket'),
    text: ((await el.locator('.tile-value, .kqi-score').first().textContent()) ?? '').trim(),
  };
}

/** The API's answers for the query the page made (its range, step and filters are on <body>). */
async function apiFor(page: Page, service: string) {
  const b = await bodyData(page);
  const q = new URLSearchParams({ service, from: b.from ?? '', to: b.to ?? '', step: `${Number(b.step) / 60}m` });
  if (b.region) q.set('region', b.region);
  const [csi, kpis, availability] = await Promise.all([
    getJson<CsiResponse>(`${pipeline.url}/api/v1/csi?${q}`),
    getJson<KpiResponse>(`${pipeline.url}/api/v1/kpis?${q}`),
    getJson<AvailabilityReport>(`${pipeline.url}/api/v1/availability?${q}`),
  ]);
  return { csi: csi.body, kpis: kpis.body, availability: availability.body };
}

const latestOf = (kpis: KpiResponse, id: string) => [...kpis.buckets].reverse().find((b) => b.kpis[id] != null);

/** Every difference between the card of `service` and the API; empty when they agree. */
async function differences(page: Page, service: string): Promise<string[]> {
  const api = await apiFor(page, service);
  const out: string[] = [];
  const same = async (metric: string, value: number | null | undefined, text: string, bucket?: string) => {
    const t = await readTile(page, service, metric);
    const want = value === null || value === undefined ? '' : String(value);
    if (t.value !== want) out.push(`${service} ${metric}: page ${t.value}, API ${want}`);
    if (t.text !== text) out.push(`${service} ${metric}: shows "${t.text}", expected "${text}"`);
    if (bucket !== undefined && t.bucket !== bucket) out.push(`${service} ${metric}: bucket ${t.bucket}, API ${bucket}`);
  };
  const last = api.csi.buckets.at(-1);
  await same('csi', last?.csi, formatScore(last?.csi), last?.start ?? '');
  for (const c of last?.contributions ?? []) await same(`kqi:${c.kqi}`, c.score, formatScore(c.score));
  await same('serviceability', api.availability.total.serviceability, formatRatio(api.availability.total.serviceability, 2));
  await same('availability', api.availability.total.availability, formatRatio(api.availability.total.availability, 2));
  const kpiTiles: Array<[string, (v: number | null) => string]> = [
    ['offered', formatCount],
    ['asa_sec', formatSeconds],
    ['service_level', (v) => formatRatio(v)],
    ['abandonment_rate', (v) => formatRatio(v)],
    ['nps', formatNps],
    ['csat', formatPct],
    ['social_volume', formatCount],
    ['social_surge', formatZ],
  ];
  for (const [id, fmt] of kpiTiles) {
    const b = latestOf(api.kpis, id);
    await same(id, b?.kpis[id] ?? null, fmt(b?.kpis[id] ?? null), b?.start ?? '');
  }
  return out;
}

describe.skipIf(!run)('vital-signs dashboard in Chromium', () => {
  it('shows every service with the values the API gives, on a wall screen, with no script errors', async () => {
    const { page, errors } = await openPage(browser, WALL);
    await page.goto(`${pipeline.url}/`);
    await waitReady(page);
    expect(await page.locator('article.card').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-service')))).toEqual(
      SERVICES,
    );
    for (const service of SERVICES) {
      await eventually(`the ${service} card to match the API`, async () => {
        const diff = await differences(page, service);
        return diff.length === 0 ? true : undefined;
      }).catch(async (err) => {
        throw new Error(`${(err as Error).message}\n${(await differences(page, service)).join('\n')}`);
      });
    }
    // The simulator's story: planned maintenance opens a gap on broadband, iptv's outage was declared late.
    expect(
      Number(await page.locator('article[data-service="broadband"] [data-metric="gap"]').getAttribute('data-value')),
    ).toBeGreaterThan(0);
    expect(await page.locator('article[data-service="iptv"] [data-flag="retroactive"]').textContent()).toContain('not excused');
    await expect(page.locator('[data-panel="maintenance"]').textContent()).resolves.toContain('declared after it began');
    // Large type for a wall screen: the CSI figures are at least 40 px high.
    const csiFont = await page
      .locator('.tile-csi .tile-value')
      .first()
      .evaluate((el) => Number.parseFloat(getComputedStyle(el).fontSize));
    expect(csiFont).toBeGreaterThanOrEqual(40);
    const shot = await screenshot(page, 'dashboard-wall-1920x1080.png');
    await publishScreenshot(shot);
    expect(errors).toEqual([]);
    await page.context().close();
  }, 120_000);

  it('drills from a CSI point to the KQIs that cost the points, the KPIs behind one, and the raw events of that window', async () => {
    const { page, errors } = await openPage(browser, WALL);
    const canvas = page.locator('article[data-service="broadband"] canvas.chart-csi');
    const pointsOf = async () => JSON.parse((await canvas.getAttribute('data-points')) ?? '[]') as Array<[number, number]>;
    // The live simulator lands a new bucket now and then (the open minute's first
    // checkpoint): if one lands between the page's read and the test's, read both again.
    const load = async () => {
      await page.goto(`${pipeline.url}/?range=1h`);
      await waitReady(page);
      return apiFor(page, 'broadband');
    };
    let api = await load();
    for (let attempt = 0; attempt < 3 && (await pointsOf()).length !== api.csi.buckets.length; attempt += 1) api = await load();
    // The bucket where service availability cost the most points: the planned maintenance.
    const lost = (i: number) => api.csi.buckets[i]?.contributions.find((c) => c.kqi === 'service_availability')?.pointsLost ?? -1;
    const index = api.csi.buckets.reduce((best, _b, i) => (lost(i) > lost(best) ? i : best), 0);
    const bucket = api.csi.buckets[index];
    expect(bucket && lost(index)).toBeGreaterThan(0);

    const points = await pointsOf();
    expect(points.length).toBe(api.csi.buckets.length);
    const [x, y] = points[index] ?? [0, 0];
    await canvas.click({ position: { x, y } });
    await page.waitForSelector('#drill[open][data-level="csi"]');
    expect(await page.locator('#drill .explanation').textContent()).toBe(bucket?.explanation);
    const kqiOrder = await page
      .locator('#drill button[data-kqi]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-kqi')));
    expect(kqiOrder).toEqual([...(bucket?.contributions ?? [])].sort((a, b) => b.pointsLost - a.pointsLost).map((c) => c.kqi));

    await page.click('#drill button[data-kqi="service_availability"]');
    await page.waitForSelector('#drill[data-level="kqi"]');
    const kpis = await page.locator('#drill button[data-kpi]').evaluateAll((els) => els.map((e) => e.getAttribute('data-kpi')));
    expect(kpis).toEqual(bucket?.kqis.find((k) => k.kqi === 'service_availability')?.kpis.map((k) => k.kpi));

    await page.click('#drill button[data-kpi="serviceability"]');
    await page.waitForSelector('#drill tr[data-event-id]', { timeout: 30_000 });
    const raw = (
      await getJson<{ total: number; problems: number }>(
        `${pipeline.url}/api/v1/events?source=probe&service=broadband&from=${bucket?.start}&to=${bucket?.end}`,
      )
    ).body;
    const summary = page.locator('#drill [data-events-total]');
    expect(Number(await summary.getAttribute('data-events-total'))).toBe(raw.total);
    expect(Number(await summary.getAttribute('data-events-problems'))).toBe(raw.problems);
    expect(raw.problems).toBeGreaterThan(0);
    // Problems only at first: the failed probes of that window.
    const flags = await page
      .locator('#drill tr[data-event-id]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-problem')));
    expect(flags).toEqual(Array(Math.min(raw.problems, 200)).fill('true'));
    await screenshot(page, 'dashboard-drilldown-raw-events.png');

    await page.click('#drill button[data-toggle="problems"]');
    await page.waitForFunction(
      (total) => document.querySelectorAll('#drill tr[data-event-id]').length === Math.min(total, 200),
      raw.total,
    );
    // Breadcrumb back to the CSI level.
    await page.locator('#drill .crumb').first().click();
    await page.waitForSelector('#drill[data-level="csi"]');
    expect(errors).toEqual([]);
    await page.context().close();
  }, 120_000);

  it('takes in a newly landed window without a reload', async () => {
    const { page, errors } = await openPage(browser, WALL);
    await page.goto(`${pipeline.url}/?range=15m`);
    await waitReady(page);
    await page.evaluate(() => {
      (window as unknown as { loadMarker: string }).loadMarker = 'same page';
    });
    const before = await bodyData(page);
    const tileBefore = await readTile(page, 'voice', 'serviceability');

    // A probe agent reports a burst of failures for the last closed minute of voice/north.
    const minute = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
    const failures = Array.from({ length: 6 }, (_, i) => ({
      eventId: `live-${Date.now()}-${i}`,
      ts: minute + i * 5000,
      service: 'voice',
      region: 'north',
      probeId: 'agent-live',
      probeType: 'agent',
      attempts: 50,
      successes: 0,
    }));
    expect((await postJson(`${pipeline.url}/api/v1/events/probe`, failures)).status).toBe(200);

    await page.waitForFunction(
      (n) => Number(document.body.dataset.liveEvents ?? '0') > n && document.querySelector('[data-service="voice"]') !== null,
      Number(before.liveEvents ?? '0'),
      { timeout: 60_000 },
    );
    await eventually('the voice card to show the new Serviceability', async () => {
      const now = await readTile(page, 'voice', 'serviceability');
      const diff = await differences(page, 'voice');
      return now.value !== tileBefore.value && diff.length === 0 ? now : undefined;
    });
    const after = await bodyData(page);
    expect(Number(after.refreshes)).toBeGreaterThan(Number(before.refreshes));
    expect(after.live).toBe('open');
    expect(after.stale).toBe('false');
    expect(await page.evaluate(() => (window as unknown as { loadMarker?: string }).loadMarker)).toBe('same page');
    expect(errors).toEqual([]);
    await page.context().close();
  }, 120_000);

  it('filters by region, product and range, keeping the choice in the URL', async () => {
    const { page, errors } = await openPage(browser, WALL);
    await page.goto(`${pipeline.url}/`);
    await waitReady(page);
    await page.selectOption('select[name="region"]', 'north');
    await page.waitForFunction(() => document.body.dataset.region === 'north');
    expect(page.url()).toContain('region=north');
    await eventually('the broadband card to match the API for north', async () =>
      (await differences(page, 'broadband')).length === 0 ? true : undefined,
    );

    await page.selectOption('select[name="product"]', 'home-internet');
    await page.waitForFunction(() => document.querySelectorAll('article.card').length === 1);
    expect(await page.locator('article.card').getAttribute('data-service')).toBe('broadband');

    await page.click('.range-option:has(input[value="15m"])');
    await page.waitForFunction(() => document.body.dataset.step === '60');
    // Reloading the URL restores the same view.
    await page.reload();
    await waitReady(page);
    expect(await page.locator('select[name="region"]').inputValue()).toBe('north');
    expect(await page.locator('select[name="product"]').inputValue()).toBe('home-internet');
    expect((await bodyData(page)).step).toBe('60');
    expect(errors).toEqual([]);
    await page.context().close();
  }, 120_000);

  it('fits a laptop screen without horizontal scrolling', async () => {
    const { page, errors } = await openPage(browser, LAPTOP);
    await page.goto(`${pipeline.url}/`);
    await waitReady(page);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(LAPTOP.width);
    await screenshot(page, 'dashboard-laptop-1366x768.png', { fullPage: true });
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);
});
