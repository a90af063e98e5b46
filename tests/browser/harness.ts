import { existsSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { readHeaders } from '../support/auth.ts';
import { requireSystem } from '../support/system.ts';

/**
 * Chromium (the Debian package) driven by playwright-core, for the dashboard's browser
 * tests. Each launch gets a fresh temporary profile (Playwright creates and removes it),
 * so no state leaks between runs; every flag keeps the browser off the network but for
 * the loopback server under test.
 */

export const CHROMIUM = '/usr/bin/chromium';
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const RESULTS = path.join(ROOT, 'test-results');

export const chromiumAvailable = (): boolean =>
  requireSystem('Chromium', existsSync(CHROMIUM), 'install the Debian package "chromium" (apt-get install chromium)');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Opens a page that records its console errors and uncaught exceptions (a dashboard must have none). */
export async function openPage(
  browser: Browser,
  viewport: { width: number; height: number },
): Promise<{ page: Page; errors: string[] }> {
  // Reads need a token (issue 15); the sign-in cookie flow itself is tested in tests/security/read-auth.test.ts.
  const context = await browser.newContext({ viewport, timezoneId: 'UTC', locale: 'en-GB', extraHTTPHeaders: readHeaders() });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`exception: ${e.message}`));
  return { page, errors };
}

/** Waits for the page's first complete render. */
export async function waitReady(page: Page): Promise<void> {
  await page.waitForSelector('body[data-state="ready"]', { state: 'attached', timeout: 60_000 });
}

export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<string> {
  await mkdir(RESULTS, { recursive: true });
  const file = path.join(RESULTS, name);
  await page.screenshot({ path: file, fullPage: options.fullPage ?? false });
  return file;
}

/**
 * The README's screenshot (docs/img/dashboard.png) is refreshed only when asked
 * (CXV_UPDATE_DOCS_SCREENSHOT=1) or missing, so running the tests does not dirty the tree.
 */
export async function publishScreenshot(file: string): Promise<void> {
  const target = path.join(ROOT, 'docs/img/dashboard.png');
  if (existsSync(target) && process.env.CXV_UPDATE_DOCS_SCREENSHOT !== '1') return;
  await mkdir(path.dirname(target), { recursive: true });
  await copyFile(file, target);
}

/** The page's body data attributes (state, from, to, step, refreshes, liveEvents, stale…). */
export const bodyData = (page: Page): Promise<Record<string, string>> =>
  page.evaluate(() => ({ ...document.body.dataset }) as Record<string, string>);
