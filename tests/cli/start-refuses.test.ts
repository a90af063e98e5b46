import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/processes.ts';

/**
 * A copy of the repository whose appreview declaration has a `where` value the Avro enum
 * does not hold: every command that reads the declarations says so in the same one line
 * per problem as `cxvitals check`, and no command prints a stack trace.
 */

const run = promisify(execFile);
let copy: string;

beforeAll(async () => {
  copy = await mkdtemp(path.join(os.tmpdir(), 'cxv-refuse-'));
  for (const part of ['package.json', 'services', 'schemas', 'sql', 'tests/replay/fixtures']) {
    await cp(path.join(ROOT, part), path.join(copy, part), { recursive: true });
  }
  await symlink(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
  const file = path.join(copy, 'schemas/sources/appreview.yaml');
  const text = await readFile(file, 'utf8');
  await writeFile(file, text.replace('where: { field: stars, lte: 2 }', 'where: { field: platform, equals: iphone }'));
});

async function cxvitals(args: string[]): Promise<{ code: number; stderr: string }> {
  return run(process.execPath, ['--import', 'tsx', 'services/cli/main.ts', ...args], {
    cwd: copy,
    env: { ...process.env, CI: '', CXV_PORT: '0', CXV_DATA_DIR: path.join(copy, 'data'), CXV_SIMULATE: '0' },
    timeout: 60_000,
  }).then(
    (r) => ({ code: 0, stderr: r.stderr }),
    (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
  );
}

const PROBLEM =
  'schemas/sources/appreview.yaml:kpis.2.where.equals (line 47): "iphone" is not a symbol of "platform"; valid symbols: ios, android';

describe('an invalid declaration', () => {
  it('cxvitals check names it: exit 1', async () => {
    const r = await cxvitals(['check']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([PROBLEM]);
  }, 60_000);

  it('cxvitals start refuses to start with the same line, before opening anything', async () => {
    const r = await cxvitals(['start']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      PROBLEM,
      'cxvitals did not start: fix the problems above (`cxvitals check` lists them without starting).',
    ]);
  }, 60_000);

  it('cxvitals replay says what is wrong, without a stack trace: exit 2', async () => {
    const r = await cxvitals(['replay', 'tests/replay/fixtures/appreviews-2026-03.csv', '--dry-run']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([PROBLEM]);
  }, 60_000);
});
