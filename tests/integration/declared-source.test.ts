import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { Pipeline } from '../../services/app.ts';
import { mapFile } from '../../services/replay/map-file.ts';
import { type ReplaySummary, replay } from '../../services/replay/replay.ts';
import { resolveMapping } from '../../services/replay/resolve.ts';
import { getSource, loadDeclaredSources } from '../../services/shared/sources/registry.ts';
import { eventually, getJson, postJson, startTestPipeline, testIngestToken } from '../support/pipeline.ts';
import { ROOT } from '../support/processes.ts';

/**
 * A brand-new source added with files only, as docs/adding-a-source.md does it —
 * field-technician visits: an Avro schema, a declaration with a first-time-fix share whose
 * denominator leaves out the visits with no access, a mapping, model entries — and a CSV
 * with good and bad rows replayed twice through the embedded pipeline; then one row
 * corrected, one moved to another minute and one retracted over HTTP (docs/corrections.md).
 * The KPIs, the KQI and the CSI the API answers equal the values computed here, by hand and
 * from the CSV rows.
 */

const AVRO = {
  type: 'record',
  name: 'Visit',
  namespace: 'test',
  fields: [
    { name: 'eventId', type: 'string' },
    { name: 'ts', type: 'long' },
    { name: 'receivedAt', type: 'long' },
    { name: 'service', type: 'string', default: 'field-service' },
    { name: 'region', type: 'string' },
    { name: 'outcome', type: { type: 'enum', name: 'Outcome', symbols: ['fixed', 'not_fixed', 'no_access'] } },
    { name: 'minutes', type: ['null', 'int'], default: null },
  ],
};

const DECLARATION = `name: visit
schema: visit.v1.avsc
origin: partner
kpis:
  - { name: visits, aggregate: count }
  - name: first_time_fix
    aggregate: share
    where: { field: outcome, equals: fixed }
    over: { field: outcome, notEquals: no_access }
    better: higher
  - name: fix_minutes
    aggregate: mean
    field: minutes
    where: { field: outcome, equals: fixed }
    over: { field: outcome, notEquals: no_access }
    better: lower
`;

const MAPPING = `version: 1
source: visit
files: ["visits-*.csv"]
input: { format: csv }
fields:
  eventId: { column: id }
  ts: { column: at, time: { format: iso } }
  region: { column: region }
  outcome: { column: outcome }
  minutes: { column: minutes, type: integer, nullValues: [""] }
`;

// By hand: five valid visits; one with an outcome the enum does not hold (refused by the
// source's validation), one whose minutes are not a number (refused by the mapping).
const CSV = `id,at,region,outcome,minutes
v1,2026-12-01T10:00:10Z,north,fixed,30
v2,2026-12-01T10:00:20Z,north,fixed,50
v3,2026-12-01T10:01:30Z,north,not_fixed,90
v4,2026-12-01T10:02:40Z,north,no_access,5
v5,2026-12-01T10:03:50Z,north,no_access,
v6,2026-12-01T10:04:00Z,north,fixd,20
v7,2026-12-01T10:04:10Z,north,fixed,half an hour
`;

// The model's scoring range of the two KPIs (written into the model copy below).
const FTF_RANGE = { best: 0.9, worst: 0.5 };
const MINUTES_RANGE = { best: 20, worst: 60 };

const VISITS = 5;
const FTF = 2 / 3; // fixed (v1, v2) over visits with access (v1, v2, v3)
const FIX_MINUTES = (30 + 50) / 3; // minutes of fixes over visits with access
const score = (v: number, best: number, worst: number) => Math.max(0, Math.min(100, (100 * (v - worst)) / (best - worst)));
const FTF_SCORE = score(FTF, FTF_RANGE.best, FTF_RANGE.worst);
const MINUTES_SCORE = score(FIX_MINUTES, MINUTES_RANGE.best, MINUTES_RANGE.worst);
const KQI = (3 * FTF_SCORE + 1 * MINUTES_SCORE) / 4;

let pipeline: Pipeline;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cxv-visit-'));
  for (const d of ['avro', 'sources', 'mappings']) await mkdir(path.join(dir, d));
  await writeFile(path.join(dir, 'avro/visit.v1.avsc'), JSON.stringify(AVRO));
  await writeFile(path.join(dir, 'sources/visit.yaml'), DECLARATION);
  await writeFile(path.join(dir, 'mappings/visit-export.yaml'), MAPPING);
  await writeFile(path.join(dir, 'visits-2026-12.csv'), CSV);
  const model = parseYaml(await readFile(path.join(ROOT, 'schemas/model/cx-model.v1.yaml'), 'utf8'));
  model.kpis.visit_first_time_fix = { ...FTF_RANGE };
  model.kpis.visit_fix_minutes = { ...MINUTES_RANGE };
  model.kqis.push({
    name: 'field_service',
    kpis: [
      { kpi: 'visit_first_time_fix', weight: 3 },
      { kpi: 'visit_fix_minutes', weight: 1 },
    ],
  });
  model.csi.kqis.push({ kqi: 'field_service', weight: 10 });
  await writeFile(path.join(dir, 'model.yaml'), stringifyYaml(model));
  loadDeclaredSources(path.join(dir, 'sources'), path.join(dir, 'avro'));
  // The answers' corrected/duplicate counts are asserted: the lookup may take as long as a loaded machine needs.
  pipeline = await startTestPipeline({ CXV_MODEL_FILE: path.join(dir, 'model.yaml'), CXV_INGEST_VERSION_LOOKUP_MS: '60000' });
}, 120_000);
afterAll(async () => {
  await pipeline?.stop();
});

async function replayFile(name = 'visits-2026-12.csv'): Promise<ReplaySummary> {
  const file = path.join(dir, name);
  const resolved = resolveMapping(file, {}, path.join(dir, 'mappings'));
  const definition = getSource('visit') ?? expect.fail('visit is not registered');
  return replay({
    file,
    source: resolved.source,
    rows: mapFile(file, resolved.mapping ?? expect.fail('no mapping')),
    batchSize: 500,
    dryRun: false,
    url: pipeline.url,
    token: testIngestToken(),
    backfill: true,
    maxRetries: 5,
    maxRetryWaitMs: 2000,
    validate: (event) => (definition.input.safeParse(event).success ? undefined : { reason: 'invalid', detail: 'invalid' }),
  });
}

const RANGE = 'service=field-service&from=2026-12-01T10:00:00Z&to=2026-12-01T11:00:00Z&step=1h';

const MIN = 60_000;
const OUTCOMES: readonly string[] = AVRO.fields.flatMap((f) =>
  typeof f.type === 'object' && 'symbols' in f.type ? f.type.symbols : [],
);

interface VisitRow {
  id: string;
  at: string;
  region: string;
  outcome: string;
  minutes: string;
}

/** The CSV above as rows (it has no quoted cells). */
function csvRows(text: string): VisitRow[] {
  const [header = '', ...lines] = text.trim().split('\n');
  const names = header.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((cell, i) => [names[i], cell])) as unknown as VisitRow);
}

const toCsv = (rows: VisitRow[]): string =>
  `id,at,region,outcome,minutes\n${rows.map((r) => [r.id, r.at, r.region, r.outcome, r.minutes].join(',')).join('\n')}\n`;

/** A row becomes a visit when the enum holds its outcome (else ingest refuses it) and its minutes are whole or empty (else the mapping does). */
const isVisit = (r: VisitRow): boolean => OUTCOMES.includes(r.outcome) && /^\d*$/.test(r.minutes);

interface BucketWant {
  visits: number;
  ftf: number | null;
  fixMinutes: number | null;
  kqi: number | null;
}

/**
 * What the API must answer per bucket of `stepMs`, from the rows, by the declaration's
 * definitions: first-time fix = fixed / visits with access; fix minutes = Σ minutes of
 * fixed visits / visits with access that have minutes; the KQI = the model's weighted
 * mean (3 and 1) of the scores of the KPIs that have a value.
 */
function expectedPerBucket(rows: VisitRow[], stepMs: number): Map<string, BucketWant> {
  const groups = new Map<string, VisitRow[]>();
  for (const r of rows.filter(isVisit)) {
    const start = new Date(Math.floor(Date.parse(r.at) / stepMs) * stepMs).toISOString();
    groups.set(start, [...(groups.get(start) ?? []), r]);
  }
  const out = new Map<string, BucketWant>();
  for (const [start, visits] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    const withAccess = visits.filter((v) => v.outcome !== 'no_access');
    const fixed = withAccess.filter((v) => v.outcome === 'fixed');
    const timed = withAccess.filter((v) => v.minutes !== '');
    const ftf = withAccess.length > 0 ? fixed.length / withAccess.length : null;
    const fixMinutes =
      timed.length > 0
        ? fixed.filter((v) => v.minutes !== '').reduce((sum, v) => sum + Number(v.minutes), 0) / timed.length
        : null;
    const scored = [
      ftf === null ? null : { weight: 3, score: score(ftf, FTF_RANGE.best, FTF_RANGE.worst) },
      fixMinutes === null ? null : { weight: 1, score: score(fixMinutes, MINUTES_RANGE.best, MINUTES_RANGE.worst) },
    ].filter((x) => x !== null);
    const weight = scored.reduce((w, x) => w + x.weight, 0);
    const kqi = weight > 0 ? scored.reduce((sum, x) => sum + x.weight * x.score, 0) / weight : null;
    out.set(start, { visits: visits.length, ftf, fixMinutes, kqi });
  }
  return out;
}

const near = (got: number | null | undefined, want: number | null): boolean =>
  want === null ? got === null : typeof got === 'number' && Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want));

interface BucketGot {
  visits: number | null | undefined;
  ftf: number | null | undefined;
  fixMinutes: number | null | undefined;
  kqi: number | null | undefined;
  csi: number | null | undefined;
  csiCoverage: number | undefined;
}

/** The buckets of 10:00–11:00 with visits, as /kpis, /kqis and /csi answer them. */
async function readBuckets(step: string): Promise<Map<string, BucketGot>> {
  const range = `service=field-service&from=2026-12-01T10:00:00Z&to=2026-12-01T11:00:00Z&step=${step}`;
  const [{ body: kpis }, { body: kqis }, { body: csi }] = await Promise.all([
    getJson<{ buckets: Array<{ start: string; kpis: Record<string, number | null> }> }>(`${pipeline.url}/api/v1/kpis?${range}`),
    getJson<{ buckets: Array<{ start: string; kqis: Array<{ kqi: string; score: number | null }> }> }>(
      `${pipeline.url}/api/v1/kqis?${range}`,
    ),
    getJson<{ buckets: Array<{ start: string; csi: number | null; coverage: number }> }>(`${pipeline.url}/api/v1/csi?${range}`),
  ]);
  const out = new Map<string, BucketGot>();
  for (const b of kpis.buckets) {
    if (!b.kpis.visit_visits) continue;
    const start = new Date(b.start).toISOString();
    const kqi = kqis.buckets.find((q) => new Date(q.start).toISOString() === start)?.kqis.find((q) => q.kqi === 'field_service');
    const c = csi.buckets.find((q) => new Date(q.start).toISOString() === start);
    out.set(start, {
      visits: b.kpis.visit_visits,
      ftf: b.kpis.visit_first_time_fix,
      fixMinutes: b.kpis.visit_fix_minutes,
      kqi: kqi?.score,
      csi: c?.csi,
      csiCoverage: c?.coverage,
    });
  }
  return out;
}

/**
 * Waits until the API answers `rows`' values at `step` (corrections reach the CSI when the
 * materializer next scores the minute), then checks every figure.
 */
async function expectAnswers(rows: VisitRow[], step: string, stepMs: number): Promise<void> {
  const want = expectedPerBucket(rows, stepMs);
  const matches = (got: Map<string, BucketGot>) =>
    got.size === want.size &&
    [...want].every(([start, w]) => {
      const g = got.get(start);
      return (
        g !== undefined &&
        g.visits === w.visits &&
        near(g.ftf, w.ftf) &&
        near(g.fixMinutes, w.fixMinutes) &&
        near(g.kqi, w.kqi) &&
        near(g.csi, w.kqi)
      );
    });
  let got = new Map<string, BucketGot>();
  await eventually(
    `the corrected visits at ${step}`,
    async () => {
      got = await readBuckets(step);
      return matches(got) ? true : undefined;
    },
    60_000,
  ).catch(() => undefined); // the checks below say what differs
  expect([...got.keys()]).toEqual([...want.keys()]);
  for (const [start, w] of want) {
    const g = got.get(start) ?? expect.fail(`no bucket ${start}`);
    expect(g.visits, `${start} visits`).toBe(w.visits);
    for (const [name, value, wanted] of [
      ['first-time fix', g.ftf, w.ftf],
      ['fix minutes', g.fixMinutes, w.fixMinutes],
      ['KQI', g.kqi, w.kqi],
      // field_service is the only KQI with data: the CSI is its score, at coverage 10/110
      // (a minute of no-access visits only has no score, and so no CSI).
      ['CSI', g.csi, w.kqi],
    ] as const) {
      if (wanted === null) expect(value, `${start} ${name}`).toBeNull();
      else expect(value, `${start} ${name}`).toBeCloseTo(wanted, 9);
    }
    if (w.kqi !== null) expect(g.csiCoverage, `${start} CSI coverage`).toBeCloseTo(10 / 110, 12);
  }
}

describe('a source added with files only, end to end', () => {
  it('replayed twice: the rows balance, and the second replay changes nothing', async () => {
    const first = await replayFile();
    expect([first.rowsRead, first.accepted, first.rejectedByMapping, first.rejectedByServer]).toEqual([7, VISITS, 1, 1]);
    const second = await replayFile();
    expect(second.accepted).toBe(VISITS);
  });

  it('KPIs, KQI and CSI equal the values computed by hand', async () => {
    const kpis = await eventually(
      'visit KPIs',
      async () => {
        const { body } = await getJson<{ buckets: Array<{ kpis: Record<string, number | null> }> }>(
          `${pipeline.url}/api/v1/kpis?${RANGE}`,
        );
        const k = body.buckets[0]?.kpis;
        return k?.visit_visits === VISITS ? k : undefined;
      },
      60_000,
    );
    expect(kpis.visit_first_time_fix).toBeCloseTo(FTF, 12);
    expect(kpis.visit_fix_minutes).toBeCloseTo(FIX_MINUTES, 12);

    const { body: kqis } = await getJson<{
      buckets: Array<{
        kqis: Array<{ kqi: string; score: number | null; coverage: number; kpis: Array<{ kpi: string; score: number }> }>;
      }>;
    }>(`${pipeline.url}/api/v1/kqis?${RANGE}`);
    const field = kqis.buckets[0]?.kqis.find((q) => q.kqi === 'field_service');
    expect(field?.kpis.map((k) => [k.kpi, k.score])).toEqual([
      ['visit_first_time_fix', expect.closeTo(FTF_SCORE, 9)],
      ['visit_fix_minutes', expect.closeTo(MINUTES_SCORE, 9)],
    ]);
    expect(field?.score).toBeCloseTo(KQI, 9);
    expect(field?.coverage).toBe(1);

    // The CSI of field-service: the only KQI with data there, so the CSI is its score,
    // with coverage 10 / 110 of the CSI's weight.
    const { body: csi } = await getJson<{ buckets: Array<{ csi: number; coverage: number }> }>(
      `${pipeline.url}/api/v1/csi?${RANGE}`,
    );
    expect(csi.buckets[0]?.csi).toBeCloseTo(KQI, 9);
    expect(csi.buckets[0]?.coverage).toBeCloseTo(10 / 110, 12);

    // An hour with a contact but no visit: the visit count is 0, like the built-in counts;
    // the share and the mean have no value.
    const posted = await postJson(`${pipeline.url}/api/v1/events/contact?backfill=true`, [
      {
        eventId: 'c-1',
        ts: '2026-12-01T11:30:00Z',
        service: 'field-service',
        region: 'north',
        channel: 'voice',
        queue: 'dispatch',
        waitSec: 12,
        abandoned: false,
        handleSec: 100,
      },
    ]);
    expect(posted.status).toBe(200);
    const quiet = await eventually(
      'the contact hour',
      async () => {
        const { body } = await getJson<{ buckets: Array<{ kpis: Record<string, number | null> }> }>(
          `${pipeline.url}/api/v1/kpis?service=field-service&from=2026-12-01T11:00:00Z&to=2026-12-01T12:00:00Z&step=1h`,
        );
        return body.buckets[0]?.kpis.answered === 1 ? body.buckets[0].kpis : undefined;
      },
      60_000,
    );
    expect([quiet.visit_visits, quiet.visit_first_time_fix, quiet.visit_fix_minutes]).toEqual([0, null, null]);
  }, 90_000);

  it('one row corrected, one moved to another minute and one retracted over HTTP: KPIs, KQI and CSI are those of the rows as corrected', async () => {
    const rows = csvRows(CSV);
    // The computation from the rows gives the by-hand figures of the file as sent.
    expect(expectedPerBucket(rows, 60 * MIN).get('2026-12-01T10:00:00.000Z')).toEqual({
      visits: VISITS,
      ftf: FTF,
      fixMinutes: FIX_MINUTES,
      kqi: KQI,
    });

    // v3 re-classified (the ticket was closed later: the visit did fix it); v1 re-timed
    // from 10:00:10 to 10:05:10 (another minute, and another 5-minute bucket); v4 retracted.
    const changed: Record<string, Partial<VisitRow>> = { v3: { outcome: 'fixed' }, v1: { at: '2026-12-01T10:05:10Z' } };
    const RETRACTED = 'v4';
    const corrected = rows.map((r) => ({ ...r, ...changed[r.id] }));
    const final = corrected.filter((r) => r.id !== RETRACTED);

    // The changed rows go as a data engineer sends them: a CSV through the source's mapping, posted.
    await writeFile(path.join(dir, 'visits-2026-12-corrections.csv'), toCsv(corrected.filter((r) => r.id in changed)));
    const mapping = resolveMapping(path.join(dir, 'visits-2026-12-corrections.csv'), {}, path.join(dir, 'mappings')).mapping;
    const events: unknown[] = [];
    for await (const r of mapFile(path.join(dir, 'visits-2026-12-corrections.csv'), mapping ?? expect.fail('no mapping')))
      if ('event' in r) events.push(r.event);
    expect(events).toHaveLength(2);
    const posted = await postJson(`${pipeline.url}/api/v1/events/visit?backfill=true`, events);
    expect(posted.status).toBe(200);
    expect(posted.body).toMatchObject({ accepted: 2, rejected: 0, corrected: 2, duplicate: 0 });
    const retraction = await fetch(`${pipeline.url}/api/v1/events/visit/${RETRACTED}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${testIngestToken()}` },
    });
    expect(retraction.status).toBe(202);
    expect(await retraction.json()).toMatchObject({ code: 'RETRACTION_ACCEPTED', eventId: RETRACTED });

    // By hand, the rows as corrected, per 5 minutes — 10:00: v2 fixed 50, v3 fixed 90, v5
    // no access: 3 visits, first-time fix 2/2, fix minutes 140/2 = 70 (score 0), KQI
    // (3·100 + 0)/4 = 75; 10:05: v1 fixed 30: 1 visit, 1/1, 30 (score 75), KQI 93.75.
    expect(expectedPerBucket(final, 5 * MIN)).toEqual(
      new Map([
        ['2026-12-01T10:00:00.000Z', { visits: 3, ftf: 1, fixMinutes: 70, kqi: 75 }],
        ['2026-12-01T10:05:00.000Z', { visits: 1, ftf: 1, fixMinutes: 30, kqi: 93.75 }],
      ]),
    );
    await expectAnswers(final, '5m', 5 * MIN);
    // Over the hour the move cancels out; the correction and the retraction do not.
    await expectAnswers(final, '1h', 60 * MIN);
    // Per minute: 10:00 lost v1 and kept v2; 10:05 has only v1.
    await expectAnswers(final, '1m', MIN);
  }, 240_000);
});
