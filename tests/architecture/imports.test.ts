import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The shape the folders promise, checked on every `npm test`:
 * - `api/` is HTTP over the read model: the aggregator, goals and dashboard do not import
 *   it (except the HTTP wiring modules `api/errors.ts` and `api/time-params.ts`, which
 *   the dashboard's routes still use), and `api/` imports nothing from the aggregator.
 * - Every read of the window tables (kpi_1m, probe_kpi_1m, csi_1m) is in the read model,
 *   services/shared/vitals/; the probe_kpi_1m query is written once (over the source
 *   vitals/rollup.ts gives it: the one-minute rows, or the daily rollup for whole days).
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const SERVICES = path.join(ROOT, 'services');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name));
}

const files = sourceFiles(SERVICES).map((file) => ({
  /** Relative to services/, with forward slashes: `goals/feeds.ts`. */
  name: path.relative(SERVICES, file).split(path.sep).join('/'),
  text: readFileSync(file, 'utf8'),
}));

/** The services/-relative modules a file imports (static, re-exports and dynamic), relative specifiers only. */
function importsOf(name: string, text: string): string[] {
  const specifiers = [
    ...text.matchAll(/\b(?:import|export)\s[^'"]*?\bfrom\s*['"]([^'"]+)['"]/g),
    ...text.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g),
    ...text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
  ].map((m) => m[1] ?? '');
  return specifiers
    .filter((s) => s.startsWith('.'))
    .map((s) => path.posix.normalize(path.posix.join(path.posix.dirname(name), s)));
}

const folderOf = (module: string): string => module.split('/')[0] ?? '';
/** Query-string parsing, read cost limits and the error shape every route answers with. */
const HTTP_WIRING = new Set(['api/errors.ts', 'api/time-params.ts', 'api/read-limits.ts']);

function violations(from: readonly string[], to: string, allowed: ReadonlySet<string> = new Set()): string[] {
  return files.flatMap((f) =>
    from.includes(folderOf(f.name))
      ? importsOf(f.name, f.text)
          .filter((m) => folderOf(m) === to && !allowed.has(m))
          .map((m) => `${f.name} → ${m}`)
      : [],
  );
}

describe('import graph', () => {
  it('reads the imports the check relies on (a file known to import the read model)', () => {
    const feeds = files.find((f) => f.name === 'goals/feeds.ts');
    expect(importsOf('goals/feeds.ts', feeds?.text ?? '')).toContain('shared/vitals/buckets.ts');
    expect(
      importsOf('a/b.ts', "import { x } from '../api/kpis.ts';\nexport * from './c.ts';\nawait import('../d/e.ts');"),
    ).toEqual(['api/kpis.ts', 'a/c.ts', 'd/e.ts']);
  });

  it('the aggregator, goals and dashboard import nothing from api/ but its HTTP wiring', () => {
    expect(violations(['aggregator', 'goals', 'dashboard'], 'api', HTTP_WIRING)).toEqual([]);
  });

  it('api/ imports nothing from the aggregator', () => {
    expect(violations(['api'], 'aggregator')).toEqual([]);
  });
});

describe('one read model', () => {
  const WINDOW_TABLE = /\btable\(\s*['"](kpi_1m|probe_kpi_1m|csi_1m)['"]\s*\)/;

  it('only services/shared/vitals/ names the window tables in a query', () => {
    const outside = files.filter((f) => !f.name.startsWith('shared/vitals/') && WINDOW_TABLE.test(f.text)).map((f) => f.name);
    expect(outside).toEqual([]);
  });

  it('the window tables’ constants are queried by their writer only (the aggregator recovers its own rows)', () => {
    const READ_BY_CONSTANT = /\btable\(\s*(PROBE_TABLE|KPI_TABLE|CSI_TABLE)\s*\)/;
    // app.ts asks whether probe_kpi_1m is empty before seeding the simulator's history: a
    // question about the store, not a vitals read; listed here so a new one is seen.
    const known = new Set(['app.ts']);
    const readers = files
      .filter((f) => READ_BY_CONSTANT.test(f.text) && !f.name.startsWith('aggregator/') && !known.has(f.name))
      .map((f) => f.name);
    expect(readers).toEqual([]);
  });

  it('the probe_kpi_1m read query is written once', () => {
    // Its source (the one-minute rows, or the daily rollup for whole days) comes from
    // vitals/rollup.ts windowSource; the counts query over it is in probe-counts.ts alone.
    const reads = files.flatMap((f) =>
      [
        ...f.text.matchAll(/FROM \$\{[^}]*table\(['"]probe_kpi_1m['"]\)\}\s+FINAL/g),
        ...f.text.matchAll(/windowSource\(\s*store,\s*['"]probe_kpi_1m['"]/g),
      ].map(() => f.name),
    );
    expect(reads).toEqual(['shared/vitals/probe-counts.ts']);
  });
});
