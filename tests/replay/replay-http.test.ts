import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { registerReplayCommands } from '../../services/replay/cli.ts';
import { mapFile } from '../../services/replay/map-file.ts';
import { loadMapping } from '../../services/replay/mapping/schema.ts';
import { type ReplayOptions, type ReplaySummary, replay } from '../../services/replay/replay.ts';
import { retryAfterMs } from '../../services/replay/sender.ts';

/**
 * Replay against a stub ingest server on 127.0.0.1:0 that answers like the real one
 * (200, or 400 with per-event errors while the valid ones are accepted) unless a test
 * scripts other answers (429/503 with Retry-After, 401, a request-level 400).
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURE = path.join(repoRoot, 'tests/replay/fixtures/appreviews-2026-03.csv');
const MAPPING = path.join(repoRoot, 'schemas/mappings/appreview-export.yaml');

interface Seen {
  url: string;
  headers: IncomingHttpHeaders;
  events: Array<Record<string, unknown>>;
}
type Scripted = { status: number; headers?: Record<string, string>; body?: unknown };

let server: Server;
let url: string;
const seen: Seen[] = [];
let script: Scripted[] = [];

/** What the real ingest answers: stars above 5 are refused, the rest accepted. */
function ingestLike(events: Array<Record<string, unknown>>): Scripted {
  const errors = events.flatMap((e, index) =>
    typeof e.stars === 'number' && e.stars > 5 ? [{ index, field: 'stars', code: 'too_big', message: 'must be at most 5' }] : [],
  );
  const ok = errors.length === 0;
  return {
    status: ok ? 200 : 400,
    body: {
      code: ok ? 'ACCEPTED' : 'INVALID_EVENTS',
      message: '',
      received: events.length,
      accepted: events.length - errors.length,
      rejected: errors.length,
      errors,
    },
  };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => {
      text += c.toString('utf8');
    });
    req.on('end', () => {
      const events = text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      seen.push({ url: req.url ?? '', headers: req.headers, events });
      const answer = script.shift() ?? ingestLike(events);
      res.writeHead(answer.status, { 'content-type': 'application/json', ...(answer.headers ?? {}) });
      res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  seen.length = 0;
  script = [];
});

/** A fake clock: sleeping advances it, so waits are recorded, not spent. */
function clock() {
  let t = 1_000_000;
  const waits: number[] = [];
  return {
    waits,
    now: () => t,
    sleep: async (ms: number) => {
      waits.push(ms);
      t += ms;
    },
  };
}

function run(over: Partial<ReplayOptions> = {}): Promise<ReplaySummary> {
  const c = clock();
  return replay({
    file: FIXTURE,
    source: 'appreview',
    rows: mapFile(FIXTURE, loadMapping(MAPPING)),
    url,
    token: 'T0KEN',
    backfill: true,
    batchSize: 4,
    dryRun: false,
    maxRetries: 3,
    maxRetryWaitMs: 60_000,
    now: c.now,
    sleep: c.sleep,
    ...over,
  });
}

const balanced = (s: ReplaySummary) => s.accepted + s.rejectedByMapping + s.rejectedByServer + s.notSent === s.rowsRead;

describe('replay over HTTP', () => {
  it('posts NDJSON batches to the backfill path with the bearer token; the summary adds up', async () => {
    const s = await run();
    expect(seen.map((r) => r.events.length)).toEqual([4, 4, 1]);
    for (const r of seen) {
      expect(r.url).toBe('/api/v1/events/appreview?backfill=true');
      expect(r.headers.authorization).toBe('Bearer T0KEN');
      expect(r.headers['content-type']).toBe('application/x-ndjson');
    }
    expect([s.rowsRead, s.accepted, s.rejectedByMapping, s.rejectedByServer, s.notSent]).toEqual([12, 8, 3, 1, 0]);
    expect(balanced(s)).toBe(true);
    expect(s.serverReasons).toEqual([{ reason: 'stars: too_big', count: 1, example: { row: 8, detail: 'must be at most 5' } }]);
    expect(s.mappingReasons.map((r) => [r.reason, r.count, r.example.row])).toEqual([
      ['no star rating', 1, 5],
      ['platform: value is not in the map', 1, 6],
      ['ts: does not match yyyy-MM-dd HH:mm:ss', 1, 7],
    ]);
    expect(s.failure).toBeUndefined();
  });

  it('sends the same ids on every run (a replay twice is the same events twice)', async () => {
    await run();
    const first = seen.flatMap((r) => r.events.map((e) => e.eventId));
    seen.length = 0;
    await run();
    expect(seen.flatMap((r) => r.events.map((e) => e.eventId))).toEqual(first);
  });

  it('honours Retry-After on 429 and 503, then goes on; nothing is counted twice', async () => {
    const c = clock();
    script = [
      { status: 429, headers: { 'retry-after': '2' }, body: { code: 'TOO_BUSY', message: 'slow down' } },
      { status: 503, headers: { 'retry-after': '1' }, body: { code: 'BUS_UNAVAILABLE', message: 'Kafka down' } },
    ];
    const s = await run({ now: c.now, sleep: c.sleep });
    expect(c.waits).toEqual([2000, 1000]);
    expect(seen.map((r) => r.events.length)).toEqual([4, 4, 4, 4, 1]);
    expect([s.accepted, s.rejectedByServer, s.retries, s.batches]).toEqual([8, 1, 2, 3]);
    expect(balanced(s)).toBe(true);
  });

  it('caps a long Retry-After and gives up after the retries allowed, reporting what was not sent', async () => {
    const c = clock();
    script = Array.from({ length: 10 }, () => ({
      status: 503,
      headers: { 'retry-after': '3600' },
      body: { code: 'BUS_UNAVAILABLE', message: 'down' },
    }));
    const s = await run({ now: c.now, sleep: c.sleep, maxRetries: 2, maxRetryWaitMs: 5000 });
    expect(c.waits).toEqual([5000, 5000]);
    expect(seen).toHaveLength(3);
    expect(s.failure).toMatchObject({ kind: 'server', atRow: 1, message: expect.stringMatching(/503.*gave up after 3 attempt/) });
    expect([s.rowsRead, s.accepted, s.notSent]).toEqual([4, 0, 4]);
    expect(balanced(s)).toBe(true);
  });

  it('stops at once on 401, saying how to pass a token', async () => {
    script = [{ status: 401, body: { code: 'AUTH_REQUIRED', message: 'Ingest needs a token.' } }];
    const s = await run({ token: undefined });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.headers.authorization).toBeUndefined();
    expect(s.failure?.message).toMatch(/401.*Pass --token or set CXV_TOKEN/);
    expect(s.retries).toBe(0);
    expect(balanced(s)).toBe(true);
  });

  it('a request-level 400 on the backfill path suggests --no-backfill', async () => {
    script = [{ status: 400, body: { code: 'FST_ERR_VALIDATION', message: 'querystring must NOT have additional properties' } }];
    const s = await run();
    expect(s.failure?.message).toMatch(/--no-backfill/);
  });

  it('--no-backfill posts to the live path', async () => {
    await run({ backfill: false });
    expect(seen[0]?.url).toBe('/api/v1/events/appreview');
  });

  it('paces batches to --rate events per second', async () => {
    const c = clock();
    await run({ rate: 4, now: c.now, sleep: c.sleep });
    expect(c.waits).toEqual([1000, 1000]);
  });

  it('a dry run sends nothing and validates locally', async () => {
    const s = await run({
      dryRun: true,
      validate: (e) => ((e.stars as number) > 5 ? { reason: 'stars: too_big', detail: '' } : undefined),
    });
    expect(seen).toHaveLength(0);
    expect([s.accepted, s.rejectedByMapping, s.rejectedByServer, s.target]).toEqual([8, 3, 1, 'dry run, nothing sent']);
  });
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates', () => {
    expect(retryAfterMs('7')).toBe(7000);
    expect(retryAfterMs(new Date(60_000).toUTCString(), 0)).toBe(60_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });
});

describe('cxvitals replay (the command)', () => {
  async function cli(args: string[], env: Record<string, string> = {}) {
    const out = { stderr: '', stdout: '', code: -1 };
    const program = new Command('cxvitals').exitOverride();
    const c = clock();
    registerReplayCommands(program, {
      stderr: (t) => {
        out.stderr += t;
      },
      stdout: (t) => {
        out.stdout += t;
      },
      env,
      isTty: false,
      setExitCode: (code) => {
        out.code = code;
      },
      sleep: c.sleep,
    });
    await program.parseAsync(['node', 'cxvitals', 'replay', ...args]);
    return out;
  }

  it('finds the mapping by file name, takes the token from CXV_TOKEN, prints the summary, exits 0', async () => {
    const out = await cli([FIXTURE, '--url', url, '--batch', '5', '--json'], { CXV_TOKEN: 'FROM-ENV' });
    expect(out.code).toBe(0);
    expect(seen.map((r) => [r.events.length, r.headers.authorization])).toEqual([
      [5, 'Bearer FROM-ENV'],
      [4, 'Bearer FROM-ENV'],
    ]);
    expect(out.stderr).toContain('mapping schemas/mappings/appreview-export.yaml');
    expect(out.stderr).toMatch(/check: 12 rows = 8 \+ 3 \+ 1/);
    expect(JSON.parse(out.stdout)).toMatchObject({ rowsRead: 12, accepted: 8, rejectedByMapping: 3, rejectedByServer: 1 });
  });

  it('exits 1 when the server fails', async () => {
    script = Array.from({ length: 3 }, () => ({ status: 503, headers: { 'retry-after': '1' } }));
    const out = await cli([FIXTURE, '--url', url, '--max-retries', '2']);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/STOPPED/);
  });

  it('exits 2, before reading, when the mapping does not fit the source', async () => {
    const out = await cli([FIXTURE, '--mapping', MAPPING, '--source', 'survey', '--url', url]);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/maps rows to "appreview" events, not "survey"/);
    expect(seen).toHaveLength(0);
  });

  it('exits 2 when no mapping claims the file, listing the ones there are', async () => {
    const out = await cli([path.join(repoRoot, 'package.json'), '--source', 'probe', '--url', url]);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/No mapping for package.json and source probe.*\n.*starlink-ping.yaml/);
  });
});
