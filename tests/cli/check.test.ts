import { execFile } from 'node:child_process';
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runCheck } from '../../services/cli/check.ts';
import { ROOT } from '../support/processes.ts';

/**
 * `cxvitals check`: the model, every declaration, every mapping and a data file validated
 * before anything runs, one `file:path: message` line per problem, exit 0 / 1 / 2.
 */

const run = promisify(execFile);

async function workspace(): Promise<{ dir: string; sources: string; mappings: string; model: string; avro: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cxv-check-'));
  await cp(path.join(ROOT, 'schemas'), path.join(dir, 'schemas'), { recursive: true });
  const at = (p: string) => path.join(dir, 'schemas', p);
  return { dir, sources: at('sources'), mappings: at('mappings'), model: at('model/cx-model.v1.yaml'), avro: at('avro') };
}

async function check(file: string | undefined, w: Awaited<ReturnType<typeof workspace>>, extra: object = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCheck(
    file,
    { model: w.model, sources: w.sources, mappings: w.mappings, ...extra },
    { stdout: (t) => out.push(t), stderr: (t) => err.push(t), setExitCode: () => {} },
  );
  return { code, out: out.join(''), err: err.join('').split('\n').filter(Boolean) };
}

const APPREVIEW = `name: appreview
schema: appreview.v1.avsc
origin: customer
kpis:
  - { name: ios_share, aggregate: share, where: { field: platform, equals: iphone } }
  - { name: ok, aggregate: count }
`;

describe('cxvitals check', () => {
  it("the repository's own files are valid: exit 0, one ok line each", async () => {
    const w = await workspace();
    const r = await check(undefined, w);
    expect(r).toMatchObject({ code: 0, err: [] });
    expect(
      r.out
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(/\s+/)[0]),
    ).toEqual(['ok', 'ok', 'ok']);
  });

  it('a where value that is not a symbol of the enum: the file, the path, the line and the valid symbols; exit 1', async () => {
    const w = await workspace();
    await writeFile(path.join(w.sources, 'appreview.yaml'), APPREVIEW);
    const r = await check(undefined, w);
    expect(r.code).toBe(1);
    expect(r.err).toEqual([
      `${path.join(w.sources, 'appreview.yaml')}:kpis.0.where.equals (line 5): "iphone" is not a symbol of "platform"; valid symbols: ios, android`,
    ]);
    expect(r.out).toMatch(/^INVALID {2}declarations/m);
  });

  it('every problem of the model and the mappings, each on its own line', async () => {
    const w = await workspace();
    await writeFile(w.model, 'version: 1\nkqis: nope\n');
    await writeFile(
      path.join(w.mappings, 'odd.yaml'),
      'version: 1\nsource: contact\ninput: { format: csv }\nfields:\n  eventId: { column: id }\n  ts: { column: t }\n  channel: { const: fax }\n  queue: { const: q }\n  waitSec: { column: w, type: number }\n  abandoned: { const: "Y" }\n',
    );
    const r = await check(undefined, w);
    expect(r.code).toBe(1);
    const model = r.err.filter((l) => l.includes('cx-model.v1.yaml:'));
    expect(model.length).toBeGreaterThan(0);
    const mapping = r.err.filter((l) => l.includes('odd.yaml:'));
    expect(mapping.map((l) => l.slice(l.indexOf('odd.yaml:') + 'odd.yaml:'.length).split(':')[0])).toEqual([
      'fields.channel.const',
      'fields.abandoned.const',
    ]);
    expect(mapping[0]).toMatch(/"fax" is not a valid channel/);
  });

  it("a mapping's map targets are checked against the source's enum before any row is read", async () => {
    const w = await workspace();
    await writeFile(
      path.join(w.mappings, 'appreview-export.yaml'),
      'version: 1\nsource: appreview\ninput: { format: csv }\nfields:\n  eventId: { column: id }\n  ts: { column: t, time: { format: iso } }\n  platform: { column: store, map: { App Store: ios, Huawei: huawei } }\n  stars: { column: rating, type: integer }\n',
    );
    const r = await check(undefined, w);
    expect(r.code).toBe(1);
    expect(r.err).toEqual([
      expect.stringMatching(/appreview-export\.yaml:fields\.platform\.map\.Huawei: "huawei" is not a valid platform: /),
    ]);
  });

  it('a data file: rows through the mapping and the source validation, bad rows named by line', async () => {
    const w = await workspace();
    const file = path.join(w.dir, 'appreviews-2026-04.csv');
    await writeFile(
      file,
      [
        'review_id,store,submitted_at,rating,app_version,country,language,title,review',
        'gp-1,Google Play,2026-04-01 10:00:00,5,4.12.0,GB,en,Fine,ok',
        'gp-2,Google Play,2026-04-01 10:01:00,9,4.12.0,GB,en,Nine,stars',
        'xx-3,Huawei,2026-04-01 10:02:00,3,4.12.0,GB,en,Other,store',
        'gp-4,Google Play,2026-04-01 10:03:00,,4.12.0,GB,en,No,rating',
      ].join('\n'),
    );
    const r = await check(file, w);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/appreviews-2026-04\.csv: 4 rows, 1 valid events, 1 skipped by the mapping's rules/);
    expect(r.err.map((l) => l.slice(l.indexOf('.csv:') + 5))).toEqual([
      'line 3.stars: must be at most 5',
      expect.stringMatching(/^line 4: .*platform.*not in the map/),
    ]);
  });

  it('a data file without a column its mapping reads is invalid: one line, exit 1', async () => {
    const w = await workspace();
    const file = path.join(w.dir, 'appreviews-2026-05.csv');
    await writeFile(file, 'review_id,store,submitted_at\ngp-1,Google Play,2026-05-01 10:00:00\n');
    const r = await check(file, w);
    expect(r.code).toBe(1);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/appreviews-2026-05\.csv: .*has no column "rating"/);
  });

  it('misuse is exit 2: a data file that does not exist, a file no mapping claims', async () => {
    const w = await workspace();
    expect((await check(path.join(w.dir, 'missing.csv'), w)).code).toBe(2);
    const orphan = path.join(w.dir, 'orphan.csv');
    await writeFile(orphan, 'a,b\n1,2\n');
    const r = await check(orphan, w);
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/No mapping for orphan\.csv\. Pass --mapping <file>/);
  });

  it('from the command line: one line per problem, no stack trace, exit 1', async () => {
    const w = await workspace();
    await writeFile(path.join(w.sources, 'appreview.yaml'), APPREVIEW);
    const r = await run(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'services/cli/main.ts'), 'check', '--sources', w.sources, '--model', w.model],
      { cwd: ROOT, env: { ...process.env, CI: '' } },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/appreview\.yaml:kpis\.0\.where\.equals \(line 5\): "iphone"/),
    ]);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});
