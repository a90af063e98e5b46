import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pipeline } from '../../services/app.ts';
import { startPipelineWith } from '../prometheus/harness.ts';
import { eventually, getJson, postJson } from '../support/pipeline.ts';
import { bodyData, chromiumAvailable, launchChromium, openPage, screenshot, waitReady } from './harness.ts';

/**
 * Staleness: with no simulator and only old data, the page says the data is stale (and
 * how old); when a fresh window lands, the live stream clears the warning without a reload.
 */

const MIN = 60_000;
const run = chromiumAvailable();
let pipeline: Pipeline;
let browser: Browser;

const probes = (prefix: string, from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    eventId: `${prefix}-${i}`,
    ts: from + i * 5000,
    service: 'broadband',
    region: 'south',
    probeId: 'rtp-s1',
    probeType: 'active',
    success: i % 4 !== 0,
  }));

beforeAll(async () => {
  if (!run) return;
  pipeline = await startPipelineWith(
    { CXV_ALLOWED_LATENESS_MS: '1800000' },
    { dashboard: { livePollMs: 1000, liveHeartbeatMs: 1000, staleAfterMs: 180_000 } },
  );
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await pipeline?.stop();
}, 60_000);

describe.skipIf(!run)('stale data on the dashboard', () => {
  it('warns when the newest window is older than the stale limit, and clears the warning when fresh data lands', async () => {
    const old = Math.floor(Date.now() / MIN) * MIN - 12 * MIN;
    expect((await postJson(`${pipeline.url}/api/v1/events/probe`, probes('old', old, 24))).status).toBe(200);
    await eventually('the old windows to be written', async () => {
      const res = await getJson<{ total: { attempts: number } }>(
        `${pipeline.url}/api/v1/availability?service=broadband&region=south`,
      );
      return res.body.total.attempts === 24 ? true : undefined;
    });

    const { page, errors } = await openPage(browser, { width: 1600, height: 900 });
    await page.goto(`${pipeline.url}/`);
    await waitReady(page);
    // The stream's freshness follows the store within a poll; wait for the message about old data.
    await page.waitForFunction(
      () => document.body.dataset.live === 'open' && document.getElementById('stale')?.textContent?.startsWith('Data is stale'),
    );
    expect((await bodyData(page)).stale).toBe('true');
    const banner = page.locator('#stale');
    await expect(banner.isVisible()).resolves.toBe(true);
    expect(await banner.textContent()).toMatch(/^Data is stale: the newest window ended (9|10|11) min ago/);
    expect(await page.locator('#live').getAttribute('class')).toBe('live stale');
    await screenshot(page, 'dashboard-stale.png');

    // A window of the last closed minute lands: the stream says so and the warning goes.
    const fresh = Math.floor(Date.now() / MIN) * MIN - MIN;
    expect((await postJson(`${pipeline.url}/api/v1/events/probe`, probes('fresh', fresh, 6))).status).toBe(200);
    await page.waitForFunction(() => document.body.dataset.stale === 'false', undefined, { timeout: 30_000 });
    await expect(banner.isVisible()).resolves.toBe(false);
    expect(Number((await bodyData(page)).liveEvents)).toBeGreaterThan(0);
    expect(await page.locator('#live .text').textContent()).toMatch(/^live · data to \d\d:\d\d \(\d+ s ago\)$/);
    expect(errors).toEqual([]);
    await page.context().close();
  }, 120_000);
});
