import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Builds the dashboard's browser bundle with esbuild: client/main.ts (and chart.js, from
 * node_modules — no CDN) → app.js, client/styles.css → app.css. `npm run build:dashboard`
 * (also run by `npm start` through `prestart`) writes them to dist/dashboard/ with a
 * manifest holding a hash of the sources; the server serves that folder when the hash
 * still matches and otherwise builds in memory (see assets.ts).
 */

export const CLIENT_DIR = fileURLToPath(new URL('./client/', import.meta.url));
export const ROOT_DIR = fileURLToPath(new URL('../../', import.meta.url));
export const DIST_DIR = path.join(ROOT_DIR, 'dist', 'dashboard');

export interface BuiltFile {
  name: string;
  contentType: string;
  body: Buffer;
}

export interface DashboardBundle {
  sourceHash: string;
  files: BuiltFile[];
}

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** A hash of everything the bundle is made of: the client sources, this build script and chart.js's version. */
export async function dashboardSourceHash(): Promise<string> {
  const hash = createHash('sha256');
  const names = (await readdir(CLIENT_DIR)).sort();
  for (const name of names) hash.update(name).update(await readFile(path.join(CLIENT_DIR, name)));
  hash.update(await readFile(fileURLToPath(import.meta.url)));
  const chartPackage = JSON.parse(await readFile(path.join(ROOT_DIR, 'node_modules/chart.js/package.json'), 'utf8')) as {
    version: string;
  };
  hash.update(chartPackage.version);
  return hash.digest('hex').slice(0, 16);
}

/** Bundles in memory. Needs esbuild (a devDependency): production images run the build step instead. */
export async function bundleDashboard(): Promise<DashboardBundle> {
  const esbuild = await import('esbuild');
  const sourceHash = await dashboardSourceHash();
  const result = await esbuild.build({
    entryPoints: [
      { in: path.join(CLIENT_DIR, 'main.ts'), out: 'app' },
      { in: path.join(CLIENT_DIR, 'styles.css'), out: 'app' },
    ],
    bundle: true,
    write: false,
    outdir: DIST_DIR,
    format: 'iife',
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    minify: true,
    sourcemap: 'linked',
    legalComments: 'eof',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const files = result.outputFiles.map((f) => {
    const name = path.basename(f.path);
    return { name, contentType: CONTENT_TYPES[path.extname(name)] ?? 'text/plain; charset=utf-8', body: Buffer.from(f.contents) };
  });
  return { sourceHash, files };
}

/** Writes the bundle to `dir` (through a temporary folder, so a reader never sees half a build). */
export async function writeDashboard(bundle: DashboardBundle, dir = DIST_DIR): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  for (const f of bundle.files) await writeFile(path.join(tmp, f.name), f.body);
  const manifest = {
    sourceHash: bundle.sourceHash,
    files: bundle.files.map((f) => ({ name: f.name, contentType: f.contentType })),
  };
  await writeFile(path.join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(path.dirname(dir), { recursive: true });
  await rename(tmp, dir);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = Date.now();
  const bundle = await bundleDashboard();
  await writeDashboard(bundle);
  const size = bundle.files.reduce((n, f) => n + f.body.length, 0);
  process.stdout.write(
    `dashboard bundle ${bundle.sourceHash}: ${bundle.files.map((f) => f.name).join(', ')} (${Math.round(size / 1024)} KiB) in ${path.relative(process.cwd(), DIST_DIR)} (${Date.now() - started} ms)\n`,
  );
}
