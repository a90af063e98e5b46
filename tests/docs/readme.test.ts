import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BINDINGS } from '../../services/aggregator/families/index.ts';
import { isDeclaredSource } from '../../services/shared/sources/registry.ts';
import { ROOT } from '../support/processes.ts';

/** The README's figures and architecture match the repository, and fail when they drift. */

const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const section = (title: string) => {
  const start = readme.indexOf(`## ${title}\n`);
  expect(start, `README section "${title}"`).toBeGreaterThanOrEqual(0);
  const next = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, next === -1 ? undefined : next);
};

describe('README', () => {
  it('"Architecture in brief" names every table the migrations create and every KPI family', () => {
    const arch = section('Architecture in brief');
    const tables = readdirSync(path.join(ROOT, 'sql'))
      .filter((f) => f.endsWith('.sql'))
      .flatMap((f) => [
        ...readFileSync(path.join(ROOT, 'sql', f), 'utf8').matchAll(/CREATE TABLE IF NOT EXISTS \{\{db\}\}\.(\w+)/g),
      ])
      .map((m) => m[1] ?? '');
    expect(tables.length).toBeGreaterThan(5);
    expect(
      tables.filter((t) => !arch.includes(t)),
      'tables sql/ creates that README\'s "Architecture in brief" does not show',
    ).toEqual([]);
    // Declared sources' families are named after their source: the diagram says "declared".
    const families = [...new Set(BINDINGS.map((b) => b.family.name))].filter((f) => !isDeclaredSource(f));
    expect(
      families.filter((f) => !arch.includes(f)),
      'KPI families README\'s "Architecture in brief" does not show',
    ).toEqual([]);
  });

  it('"Figures" is a short current table that links to the history, without commit hashes', () => {
    const figures = section('Figures');
    expect(figures).toContain('(docs/benchmarks.md)');
    expect(figures).toContain('(docs/reliability.md)');
    expect(figures.match(/^\| /gm)?.length ?? 0).toBeLessThanOrEqual(12);
    expect(figures).not.toMatch(/commit `[0-9a-f]{7}`|`[0-9a-f]{7,40}`/);
    expect(figures).not.toMatch(/slower that day|machine was slower/);
  });
});
