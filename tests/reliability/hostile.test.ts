import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { GoalsService } from '../../services/goals/routes.ts';
import { generateIngestToken, IngestAuth, parseTokenEntries } from '../../services/ingest/auth.ts';
import { IngestService } from '../../services/ingest/ingest.ts';
import { loadModel } from '../../services/model/index.ts';
import { buildHttpApp } from '../../services/roles.ts';
import { generateReadToken, parseReadTokenEntries, READ_SCOPES, ReadTokens } from '../../services/shared/auth/tokens.ts';
import { silentLogger } from '../../services/shared/log.ts';
import { createMetrics } from '../../services/shared/metrics.ts';
import { migrate } from '../../services/shared/store/migrations.ts';
import { openStore, type Store } from '../../services/shared/store/store.ts';
import { busDouble } from '../ingest/harness.ts';
import { count, recordFigures } from './support/figures.ts';
import { bypassHeaders, HOSTILE_VALUES, MARK, ODD_VALUES, pathTricks } from './support/hostile-inputs.ts';
import { RecordingStore } from './support/recording-store.ts';

/**
 * Hostile input at every public endpoint the OpenAPI document lists (ingest, reads,
 * goals) plus the routes it hides: injection strings in every query and path parameter
 * and in every string field of every body, malformed, nested and oversized bodies, wrong
 * content types, and attempts to get past the bearer check by header and path tricks.
 * Required: never a 5xx; errors in the one shape; nothing about tokens, people or the
 * server's internals in any answer; no unauthenticated request served; and no SQL text
 * that contains a value from a request (they may reach ClickHouse only as bound
 * parameters — the store records every statement).
 */

/** Lone surrogates cannot be percent-encoded; a client would send U+FFFD. */
const wellFormed = (s: string) => s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const ADMIN = `reliability-admin-${randomBytes(16).toString('hex')}`;
const PLANTED_EMAIL = 'planted-secret@example.invalid';
const HIDDEN_GETS = ['/', '/healthz', '/livez', '/readyz', '/metrics', '/api/v1/openapi.json'];
const NOT_INJECTABLE = new Set(['/api/v1/live']); // a server-sent event stream: checked once over real HTTP below
/** Routes that read vital signs, raw events or counters: they take a read token (docs/security.md). */
const isRead = (path: string) => /^\/api\/v1\/(kpis|kqis|csi|availability|events$|dashboard\/|live|ingest\/stats)/.test(path);

interface Operation {
  method: string;
  path: string;
  params: Array<{ in: string; name: string }>;
  bodyStrings: string[] | null;
}

let app: FastifyInstance | undefined;
let store: Store | undefined;
afterAll(async () => {
  await app?.close();
  await store?.close();
});

describe('hostile input at every public endpoint', () => {
  it('never 5xx, never exposes secrets or internals, never serves the unauthenticated, never builds SQL from a value', async ({
    task,
  }) => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cxv-rel-hostile-'));
    store = await openStore({ mode: 'embedded', dataDir, database: 'cxvitals', log: silentLogger });
    await migrate(store, silentLogger);
    const recording = new RecordingStore(store);
    const metrics = createMetrics();
    const bus = busDouble().bus;
    const ingestToken = generateIngestToken('probe');
    // Read tokens of each scope (issue 15): the reads below are asked with each, and with none.
    const readAll = generateReadToken(READ_SCOPES, { owner: 'all' });
    const readVitals = generateReadToken(['read:vitals'], { owner: 'vitals' });
    const readMetrics = generateReadToken(['read:metrics'], { owner: 'metrics' });
    const goals = new GoalsService({ store: recording, log: silentLogger, registry: metrics.registry, adminToken: ADMIN });
    const model = await loadModel();
    app = await buildHttpApp({
      bus,
      store: recording,
      metrics,
      log: silentLogger,
      excuseRetroactiveMaintenance: false,
      ingest: new IngestService(bus, metrics, { maxFutureMs: 300_000 }),
      ingestEdge: { auth: IngestAuth.fromEntries(parseTokenEntries(ingestToken.entry, 'reliability')) },
      vitals: { store: recording, model: () => model, excuseRetroactiveMaintenance: false },
      goals,
      auth: {
        readTokens: ReadTokens.fromEntries(
          parseReadTokenEntries([readAll, readVitals, readMetrics].map((t) => t.entry).join('\n'), 'reliability'),
        ),
      },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const server = app;

    // Secrets a leak would show: a person's e-mail, a staff token and every token's stored hash.
    const admin = { authorization: `Bearer ${ADMIN}` };
    const seeded = await server.inject({
      method: 'POST',
      url: '/api/v1/people',
      headers: admin,
      payload: { id: 'secret-person', name: 'Planted Person', email: PLANTED_EMAIL, role: 'staff' },
    });
    expect(seeded.statusCode).toBe(201);
    const issued = (
      await server.inject({ method: 'POST', url: '/api/v1/people/secret-person/tokens', headers: admin, payload: { label: 'x' } })
    ).json() as { token: string };
    const tokens = [issued.token, ADMIN, ingestToken.token, readAll.token, readVitals.token, readMetrics.token];
    const hashes = tokens.map(sha256);

    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let requests = 0;
    const send = async (
      what: string,
      options: InjectOptions,
      expectation: { authenticated: boolean; mayShowToken?: boolean },
    ) => {
      requests += 1;
      let res: LightMyRequestResponse;
      try {
        res = await server.inject(options);
      } catch (err) {
        failures.push(`${what}: inject threw ${String(err)}`);
        return undefined;
      }
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      const body = res.body;
      if (res.statusCode >= 500) failures.push(`${what}: ${res.statusCode} ${body.slice(0, 200)}`);
      for (const secret of tokens) {
        if (secret === issued.token && expectation.mayShowToken) continue;
        if (body.includes(secret)) failures.push(`${what}: answer contains a token`);
      }
      // Not even a token's hash comes out, to anyone (the goals audit trail leaves it out).
      if (hashes.some((h) => body.includes(h))) failures.push(`${what}: an answer contains a token hash`);
      if (/DB::Exception|node_modules|\bat [\w.<>]+ \(|\.ts:\d+:\d+/.test(body) || body.includes(process.cwd())) {
        failures.push(`${what}: answer shows server internals: ${body.slice(0, 200)}`);
      }
      if (!expectation.authenticated && res.statusCode < 400 && options.method !== 'HEAD' && !isPublic(String(options.url))) {
        failures.push(`${what}: served without credentials (${res.statusCode})`);
      }
      if (!expectation.authenticated && body.includes(PLANTED_EMAIL))
        failures.push(`${what}: a person's e-mail without credentials`);
      const type = String(res.headers['content-type'] ?? '');
      if (res.statusCode >= 400 && type.includes('json')) {
        const parsed = res.json() as { code?: unknown; message?: unknown };
        if (typeof parsed.code !== 'string' || typeof parsed.message !== 'string')
          failures.push(`${what}: error without code/message`);
      }
      return res;
    };

    const doc = server.swagger() as {
      paths: Record<
        string,
        Record<
          string,
          {
            parameters?: Array<{ in: string; name: string }>;
            requestBody?: { content: Record<string, { schema: { properties?: Record<string, { type?: string | string[] }> } }> };
          }
        >
      >;
    };
    const operations: Operation[] = [];
    for (const [template, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        if (method === 'head' || NOT_INJECTABLE.has(template)) continue;
        const schema = op.requestBody?.content['application/json']?.schema;
        const strings = schema?.properties
          ? Object.entries(schema.properties)
              .filter(
                ([, p]) => p.type === 'string' || (Array.isArray(p.type) && p.type.includes('string')) || p.type === undefined,
              )
              .map(([name]) => name)
          : null;
        operations.push({
          method: method.toUpperCase(),
          path: template,
          params: op.parameters ?? [],
          bodyStrings: op.requestBody ? (strings ?? []) : null,
        });
      }
    }
    // Probes, the OpenAPI document and the open forms of /healthz and the dashboard page (a sign-in form) are public by design.
    const publicPaths = new Set<string>(HIDDEN_GETS);
    const isPublic = (url: string) => publicPaths.has((url.split('?')[0] ?? '').replace(/\/(nope|probe)$/, ''));
    const fill = (template: string, values: Record<string, string> = {}) =>
      template.replace(/\{(\w+)\}/g, (_, name: string) =>
        encodeURIComponent(wellFormed(values[name] ?? (name === 'source' ? 'probe' : 'nope'))),
      );
    const credentialsFor = (op: Operation) =>
      op.path.startsWith('/api/v1/events/')
        ? { authorization: `Bearer ${ingestToken.token}` }
        : isRead(op.path)
          ? { authorization: `Bearer ${readAll.token}` }
          : admin;
    const bodyOf = (op: Operation, payload: unknown) =>
      op.bodyStrings === null
        ? {}
        : {
            payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
            headers: { 'content-type': op.path.startsWith('/api/v1/events/') ? 'application/x-ndjson' : 'application/json' },
          };

    // Which routes need no credentials at all (reads, health): asked once without a token.
    for (const op of operations) {
      const res = await server.inject({ method: op.method as 'GET', url: fill(op.path), ...bodyOf(op, {}) });
      if (res.statusCode !== 401 && res.statusCode !== 403) publicPaths.add(op.path.replace(/\/\{(id|source)\}$/, ''));
    }

    for (const op of operations) {
      const auth = credentialsFor(op);
      // Every parameter, every hostile value; the others left at their defaults.
      for (const param of op.params) {
        for (const value of [...HOSTILE_VALUES, ...ODD_VALUES]) {
          const url =
            param.in === 'path'
              ? fill(op.path, { [param.name]: value })
              : `${fill(op.path)}?${new URLSearchParams({ [param.name]: value })}`;
          const extra = bodyOf(op, {});
          await send(
            `${op.method} ${op.path} ${param.in}:${param.name}=${JSON.stringify(value.slice(0, 40))}`,
            { method: op.method as 'GET', url, ...extra, headers: { ...auth, ...(extra.headers ?? {}) } },
            { authenticated: true, mayShowToken: op.path.endsWith('/tokens') },
          );
        }
      }
      if (op.bodyStrings !== null) {
        const url = fill(op.path, { id: op.path.startsWith('/api/v1/people') ? 'secret-person' : 'nope' });
        const malformed: Array<[string, string, string]> = [
          ['truncated JSON', '{"name": ', 'application/json'],
          ['array', '[1,2,3]', 'application/json'],
          ['string', `"${MARK}"`, 'application/json'],
          ['null', 'null', 'application/json'],
          ['nested 20,000 deep', `${'['.repeat(20_000)}${']'.repeat(20_000)}`, 'application/json'],
          [
            'prototype keys',
            '{"__proto__":{"admin":true},"constructor":{"prototype":{"admin":true}},"role":"admin"}',
            'application/json',
          ],
          ['text/plain', '{"name":"x"}', 'text/plain'],
          ['form', 'name=x&role=admin', 'application/x-www-form-urlencoded'],
        ];
        for (const [what, payload, type] of malformed) {
          await send(
            `${op.method} ${op.path} body ${what}`,
            { method: op.method as 'POST', url, payload, headers: { ...auth, 'content-type': type } },
            { authenticated: true, mayShowToken: op.path.endsWith('/tokens') },
          );
        }
        for (const field of op.bodyStrings) {
          for (const value of HOSTILE_VALUES.slice(0, 8)) {
            await send(
              `${op.method} ${op.path} body.${field}`,
              {
                method: op.method as 'POST',
                url,
                ...bodyOf(op, { [field]: value, version: 1 }),
                headers: { ...auth, 'content-type': 'application/json' },
              },
              { authenticated: true, mayShowToken: op.path.endsWith('/tokens') },
            );
          }
        }
      }
      // Getting past the bearer check: every trick must leave a protected route at 401/403.
      if (!isPublic(fill(op.path))) {
        const others = op.path.startsWith('/api/v1/events/') ? ADMIN : ingestToken.token;
        for (const { what, headers } of bypassHeaders(
          op.path.startsWith('/api/v1/events/') ? ingestToken.token : ADMIN,
          sha256(ADMIN),
          others,
        )) {
          const res = await send(
            `${op.method} ${op.path} auth: ${what}`,
            {
              method: op.method as 'GET',
              url: fill(op.path),
              ...bodyOf(op, {}),
              headers: { ...(bodyOf(op, {}).headers ?? {}), ...headers },
            },
            { authenticated: false },
          );
          if (res && res.statusCode !== 401 && res.statusCode !== 403)
            failures.push(`${op.method} ${op.path} auth: ${what}: ${res.statusCode}, not 401/403`);
        }
      }
    }
    // Every read with a token of each scope and with none: none → 401, the wrong scope → 403,
    // the right one → served (or a 4xx about the query, never 401/403).
    const reads = [...operations.filter((op) => op.method === 'GET' && isRead(op.path)).map((op) => fill(op.path)), '/metrics'];
    for (const url of reads) {
      const needs = url === '/metrics' || url === '/api/v1/ingest/stats' ? 'read:metrics' : 'read:vitals';
      const cases: Array<[string, Record<string, string>, number[]]> = [
        ['no token', {}, [401]],
        ['read:vitals', { authorization: `Bearer ${readVitals.token}` }, needs === 'read:vitals' ? [] : [403]],
        ['read:metrics', { authorization: `Bearer ${readMetrics.token}` }, needs === 'read:metrics' ? [] : [403]],
        ['every read scope', { authorization: `Bearer ${readAll.token}` }, []],
      ];
      for (const [what, headers, only] of cases) {
        const res = await send(
          `GET ${url} with ${what}`,
          { method: 'GET', url, headers },
          { authenticated: what !== 'no token' },
        );
        if (!res) continue;
        const refused = res.statusCode === 401 || res.statusCode === 403;
        if (only.length > 0 && !only.includes(res.statusCode))
          failures.push(`GET ${url} with ${what}: ${res.statusCode}, not ${only.join('/')}`);
        if (only.length === 0 && refused) failures.push(`GET ${url} with ${what}: refused (${res.statusCode})`);
      }
    }
    for (const protectedPath of [
      '/api/v1/people',
      '/api/v1/me',
      '/api/v1/audit',
      '/api/v1/goals/alert-rules',
      '/api/v1/people/secret-person',
    ]) {
      for (const url of pathTricks(protectedPath))
        await send(`GET ${url} without a token`, { method: 'GET', url }, { authenticated: false });
    }
    for (const url of HIDDEN_GETS) {
      for (const value of HOSTILE_VALUES.slice(0, 4))
        await send(
          `GET ${url}?q=`,
          { method: 'GET', url: `${url}?${new URLSearchParams({ q: value })}` },
          { authenticated: false },
        );
    }
    // Oversized bodies: refused with 413 before they are read.
    const big = `[${'{"eventId":"x"},'.repeat(700_000)}{}]`;
    const oversized = [
      await send(
        'ingest, 11 MB body',
        {
          method: 'POST',
          url: '/api/v1/events/probe',
          payload: big,
          headers: { authorization: `Bearer ${ingestToken.token}`, 'content-type': 'application/json' },
        },
        { authenticated: true },
      ),
      await send(
        'goals, 11 MB body',
        { method: 'POST', url: '/api/v1/people', payload: big, headers: { ...admin, 'content-type': 'application/json' } },
        { authenticated: true },
      ),
    ];
    for (const [i, res] of oversized.entries())
      if (res && res.statusCode !== 413)
        failures.push(
          `oversized body (${['ingest', 'goals'][i]}) answered ${res.statusCode}, not 413: ${res.body.slice(0, 200)}`,
        );
    // Over real HTTP: the event stream, and a URL longer than any proxy would pass.
    const base = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
    const live = await fetch(`${base}/api/v1/live?x=${encodeURIComponent(HOSTILE_VALUES[0] ?? '')}`, {
      headers: { authorization: `Bearer ${readAll.token}` },
      signal: AbortSignal.timeout(3_000),
    })
      .then((r) => r.status)
      .catch(() => 0);
    if (live >= 500) failures.push(`GET /api/v1/live answered ${live}`);
    const longUrl = await fetch(`${base}/api/v1/kpis?service=${'a'.repeat(100_000)}`, {
      headers: { authorization: `Bearer ${readAll.token}` },
    })
      .then((r) => r.status)
      .catch(() => 431);
    if (longUrl >= 500 && longUrl !== 431) failures.push(`a 100 kB URL answered ${longUrl}`);
    requests += 2;

    const sqlWithValues = recording.statements.filter((s) => s.includes(MARK));
    const boundHostile = recording.boundValues.filter((v) => v.includes(MARK)).length;
    const fiveXx = [...statuses].filter(([s]) => s >= 500).reduce((sum, [, n]) => sum + n, 0);
    recordFigures(task, {
      scenario: 'hostile input at every public endpoint',
      load: `${count(requests)} requests over ${operations.length} operations (+ ${HIDDEN_GETS.length} hidden routes)`,
      faults: `${HOSTILE_VALUES.length + ODD_VALUES.length} hostile values in every parameter, 8 malformed bodies and hostile strings in every body field, 16 auth-bypass headers, 10 path spellings, 11 MB bodies`,
      lost: 0,
      duplicated: 0,
      notes: [
        `answers ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}; 5xx: ${fiveXx}; problems: ${failures.length}`,
        `${count(boundHostile)} hostile values reached ClickHouse as bound parameters, ${sqlWithValues.length} inside SQL text (${count(recording.statements.length)} statements recorded)`,
        `answer without credentials by design: ${[...publicPaths].filter((p) => p.startsWith('/api/v1/') && p !== '/api/v1/openapi.json').join(', ')}`,
      ],
    });

    expect(failures.slice(0, 20)).toEqual([]);
    expect(sqlWithValues.slice(0, 5)).toEqual([]);
    // The check above means something only if hostile values did reach the store.
    expect(boundHostile).toBeGreaterThan(0);
  });
});
