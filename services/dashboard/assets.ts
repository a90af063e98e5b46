import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../shared/log.ts';
import { type BuiltFile, bundleDashboard, DIST_DIR, dashboardSourceHash } from './build.ts';

/**
 * The dashboard's static files, held in memory. Preferred: the prebuilt dist/dashboard/
 * (written by `npm run build:dashboard`, which `npm start` runs first) when its manifest
 * matches the current sources. Otherwise — a stale or missing build, e.g. tests or
 * `tsx services/cli/main.ts start` after editing the client — the bundle is built in
 * memory with esbuild. Without either, the page explains how to build it.
 */

export type DashboardAssets =
  | { ok: true; origin: 'dist' | 'memory'; sourceHash: string; files: Map<string, BuiltFile> }
  | { ok: false; problem: string };

interface Manifest {
  sourceHash: string;
  files: Array<{ name: string; contentType: string }>;
}

async function readDist(expectedHash: string | undefined): Promise<DashboardAssets | undefined> {
  const manifest = await readFile(path.join(DIST_DIR, 'manifest.json'), 'utf8')
    .then((text) => JSON.parse(text) as Manifest)
    .catch(() => undefined);
  if (!manifest || (expectedHash !== undefined && manifest.sourceHash !== expectedHash)) return undefined;
  const files = new Map<string, BuiltFile>();
  for (const f of manifest.files) {
    files.set(f.name, { name: f.name, contentType: f.contentType, body: await readFile(path.join(DIST_DIR, f.name)) });
  }
  return { ok: true, origin: 'dist', sourceHash: manifest.sourceHash, files };
}

export async function loadDashboardAssets(log: Logger): Promise<DashboardAssets> {
  // Without the client sources (a trimmed production image) the dist folder is the only truth.
  const hash = await dashboardSourceHash().catch(() => undefined);
  const dist = await readDist(hash);
  if (dist) return dist;
  try {
    const started = Date.now();
    const bundle = await bundleDashboard();
    log.info(
      { ms: Date.now() - started, sourceHash: bundle.sourceHash },
      'dashboard bundle built in memory (dist/dashboard missing or stale)',
    );
    return { ok: true, origin: 'memory', sourceHash: bundle.sourceHash, files: new Map(bundle.files.map((f) => [f.name, f])) };
  } catch (err) {
    const problem = `The dashboard bundle is not built and could not be built here (${(err as Error).message.split('\n')[0]}). Run "npm run build:dashboard" (needs the dev dependencies) and restart.`;
    log.error({ err }, 'dashboard bundle unavailable');
    return { ok: false, problem };
  }
}
