import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  demoIngestCredentials,
  generateIngestToken,
  hashIngestToken,
  IngestAuth,
  type IngestAuthError,
  loadIngestAuth,
} from '../../services/ingest/auth.ts';
import { demoReadCredentials } from '../../services/shared/auth/tokens.ts';
import { ConfigError, loadConfig } from '../../services/shared/config/config.ts';
import { EXAMPLES } from './examples.ts';
import { counter, type Edge, json, startEdge, TOKENS } from './harness.ts';

/**
 * Ingest tokens: 401 without a usable token (missing, malformed, unknown), 403 for a
 * good token of another source, decided before the body is read and counted nowhere.
 */

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

let edge: Edge;
beforeAll(async () => {
  edge = await startEdge({ maxBodyBytes: 4096 });
});
afterAll(async () => {
  await edge.close();
});

describe('ingest auth over HTTP', () => {
  it('no Authorization header: 401 AUTH_REQUIRED with a Bearer challenge; nothing produced or counted', async () => {
    const res = await edge.post('probe', [EXAMPLES.probe], { headers: {} });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="cxvitals-ingest"');
    expect(json(res)).toEqual({
      code: 'AUTH_REQUIRED',
      message: 'Ingest needs a token: send the header "Authorization: Bearer <token>".',
    });
    expect(edge.bus.produced).toEqual([]);
    expect(await counter(edge.metrics, 'cxv_ingest_events_received_total')).toBe(0);
  });

  it.each([
    ['another scheme', `Basic ${Buffer.from('a:b').toString('base64')}`],
    ['Bearer without a token', 'Bearer'],
    ['a token with spaces', 'Bearer two words'],
    ['a token with characters outside RFC 6750', 'Bearer tok€n'],
  ])('%s: 401 AUTH_MALFORMED', async (_what, header) => {
    const res = await edge.post('probe', [EXAMPLES.probe], { headers: { authorization: header } });
    expect([res.statusCode, json(res).code]).toEqual([401, 'AUTH_MALFORMED']);
  });

  it('a token the server does not know: 401 AUTH_INVALID_TOKEN', async () => {
    const res = await edge.post('probe', [EXAMPLES.probe], { headers: bearer(generateIngestToken().token) });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="cxvitals-ingest", error="invalid_token"');
    expect(json(res).code).toBe('AUTH_INVALID_TOKEN');
  });

  it('the token of another source: 403 AUTH_FORBIDDEN_SOURCE, naming the source', async () => {
    const res = await edge.post('contact', [EXAMPLES.contact], { headers: bearer(TOKENS.probe.token) });
    expect(res.statusCode).toBe(403);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="cxvitals-ingest", error="insufficient_scope"');
    expect(json(res)).toEqual({
      code: 'AUTH_FORBIDDEN_SOURCE',
      message: 'This token may not post events of source "contact"; use a token issued for "contact" (or for every source).',
    });
  });

  it('a source token posts its own source; the * token posts every source; the scheme is case-insensitive', async () => {
    const own = await edge.post('probe', [EXAMPLES.probe], { headers: bearer(TOKENS.probe.token) });
    const contact = await edge.post('contact', [EXAMPLES.contact], {
      headers: { authorization: `bearer ${TOKENS.contact.token}` },
    });
    const any = await edge.post('survey', [EXAMPLES.survey], { headers: bearer(TOKENS.any.token) });
    expect([own.statusCode, contact.statusCode, any.statusCode]).toEqual([200, 200, 200]);
  });

  it('is decided before the body is read: an unauthenticated oversize body gets 401, not 413', async () => {
    const res = await edge.post('probe', 'x'.repeat(10_000), { headers: {} });
    expect(res.statusCode).toBe(401);
  });

  it('an unknown source is 404 for a token that may post anything, and 401 without a token', async () => {
    const known = await edge.post('telepathy', [], { headers: bearer(TOKENS.any.token) });
    expect([known.statusCode, json(known).code]).toEqual([404, 'UNKNOWN_SOURCE']);
    const anonymous = await edge.post('telepathy', [], { headers: {} });
    expect(anonymous.statusCode).toBe(401);
  });

  it('a path that is no route is a 404 in the one error shape', async () => {
    const res = await edge.inject({ method: 'GET', url: '/api/v1/events/probe?x=1' });
    expect(res.statusCode).toBe(404);
    expect(json(res)).toEqual({
      code: 'NOT_FOUND',
      message: 'No route GET /api/v1/events/probe; the API is described at /api/v1/openapi.json.',
    });
    expect((await edge.post('', [])).statusCode).toBe(404);
  });

  it('the stats endpoint needs a read token (read:metrics), not an ingest token', async () => {
    const anonymous = await edge.inject({ method: 'GET', url: '/api/v1/ingest/stats' });
    expect([anonymous.statusCode, json(anonymous).code]).toEqual([401, 'AUTH_REQUIRED']);
    const withIngestToken = await edge.inject({ method: 'GET', url: '/api/v1/ingest/stats', headers: bearer(TOKENS.any.token) });
    expect(withIngestToken.statusCode).toBe(401);
    const res = await edge.inject({ method: 'GET', url: '/api/v1/ingest/stats', headers: bearer(demoReadCredentials().token) });
    expect(res.statusCode).toBe(200);
  });
});

describe('demo token (nothing configured)', () => {
  it('a server built without tokens accepts the process demo token for every source, and nothing else', async () => {
    const demoEdge = await startEdge({ tokenEntries: null });
    try {
      const { token, demo } = demoIngestCredentials();
      expect(demo).toBe(true);
      expect(token).toMatch(/^cxv_[A-Za-z0-9_-]{43}$/);
      expect(demoIngestCredentials().token).toBe(token);
      const ok = await demoEdge.post('social', [EXAMPLES.social], { headers: bearer(token) });
      const other = await demoEdge.post('social', [EXAMPLES.social], { headers: bearer(TOKENS.any.token) });
      expect([ok.statusCode, other.statusCode]).toEqual([200, 401]);
    } finally {
      await demoEdge.close();
    }
  });

  it('loadIngestAuth with no entries and no file is the demo auth', async () => {
    const auth = await loadIngestAuth({ tokens: [], tokensFile: undefined });
    expect([auth.demo, auth.grants]).toEqual([true, ['*']]);
    expect(auth.authorize(`Bearer ${demoIngestCredentials().token}`, 'probe')).toEqual({ ok: true, mayBackdate: false });
  });
});

describe('token configuration', () => {
  it('CXV_INGEST_TOKENS holds source:sha256hex entries; only hashes are stored', async () => {
    const probe = generateIngestToken('probe');
    const config = loadConfig({ CXV_INGEST_TOKENS: ` ${probe.entry} , *:${'A'.repeat(64)}` });
    expect(config.ingest.tokens).toEqual([
      { source: 'probe', sha256: hashIngestToken(probe.token) },
      { source: '*', sha256: 'a'.repeat(64) },
    ]);
    const auth = await loadIngestAuth(config.ingest);
    expect([auth.demo, auth.grants]).toEqual([false, ['*', 'probe']]);
    expect(auth.authorize(`Bearer ${probe.token}`, 'probe')).toEqual({ ok: true, mayBackdate: false });
    expect(JSON.stringify(config)).not.toContain(probe.token);
  });

  it('a malformed CXV_INGEST_TOKENS stops the start and is not echoed (it may be a plaintext token)', () => {
    let error: unknown;
    try {
      loadConfig({ CXV_INGEST_TOKENS: 'probe:my-secret-token' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => [p.variable, p.value])).toEqual([['CXV_INGEST_TOKENS', '(redacted)']]);
    expect((error as Error).message).not.toContain('my-secret-token');
    expect((error as Error).message).toContain('source:sha256hex');
  });

  it('CXV_INGEST_TOKENS_FILE adds one entry per line, with # comments', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cxv-tokens-'));
    const file = path.join(dir, 'tokens');
    const contact = generateIngestToken('contact');
    await writeFile(file, `# partner feed, issued 2026-11-20\n${contact.entry}   # rotated quarterly\n\n`);
    const config = loadConfig({ CXV_INGEST_TOKENS_FILE: file, CXV_INGEST_TOKENS: TOKENS.probe.entry });
    const auth = await loadIngestAuth(config.ingest);
    expect(auth.grants).toEqual(['contact', 'probe']);
    expect(auth.authorize(`Bearer ${contact.token}`, 'contact')).toEqual({ ok: true, mayBackdate: false });
    expect(auth.authorize(`Bearer ${contact.token}`, 'probe')).toMatchObject({ ok: false, status: 403 });
  });

  it('a token file that is missing, empty or malformed stops the start with the reason, never the entry', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cxv-tokens-'));
    const empty = path.join(dir, 'empty');
    const bad = path.join(dir, 'bad');
    await writeFile(empty, '# nothing yet\n');
    await writeFile(bad, `${TOKENS.probe.entry}\nprobe:plaintext-secret\n`);
    const load = (file: string) => loadIngestAuth({ tokens: [], tokensFile: file }).catch((e: unknown) => e);
    const [missing, none, malformed] = await Promise.all([load(path.join(dir, 'nope')), load(empty), load(bad)]);
    expect([missing, none, malformed].map((e) => (e as IngestAuthError).code)).toEqual([
      'INGEST_TOKENS_FILE_UNREADABLE',
      'INGEST_TOKENS_INVALID',
      'INGEST_TOKENS_INVALID',
    ]);
    expect((malformed as Error).message).toContain('line 2 holds an entry that is not source:sha256hex');
    expect((malformed as Error).message).not.toContain('plaintext-secret');
  });

  it('one token may be listed for several sources', () => {
    const token = generateIngestToken().token;
    const hash = hashIngestToken(token);
    const auth = IngestAuth.fromEntries([
      { source: 'probe', sha256: hash },
      { source: 'maintenance', sha256: hash },
    ]);
    expect(['probe', 'maintenance', 'survey'].map((s) => auth.authorize(`Bearer ${token}`, s).ok)).toEqual([true, true, false]);
  });
});
