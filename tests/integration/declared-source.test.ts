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
 * with good and bad rows replayed twice through the embedded pipeline. The KPIs, the KQI
 * and the CSI the API answers equal the values computed here by hand.
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

const VISITS = 5;
const FTF = 2 / 3; // fixed (v1, v2) over visits with access (v1, v2, v3)
const FIX_MINUTES = (30 + 50) / 3; // minutes of fixes over visits with access
const score = (v: number, best: number, worst: number) => Math.max(0, Math.min(100, (100 * (v - worst)) / (best - worst)));
const FTF_SCORE = score(FTF, 0.9, 0.5);
const MINUTES_SCORE = score(FIX_MINUTES, 20, 60);
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
  model.kpis.visit_first_time_fix = { best: 0.9, worst: 0.5 };
  model.kpis.visit_fix_minutes = { best: 20, worst: 60 };
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
  pipeline = await startTestPipeline({ CXV_MODEL_FILE: path.join(dir, 'model.yaml') });
}, 120_000);
afterAll(async () => {
  await pipeline?.stop();
});

async function replayFile(): Promise<ReplaySummary> {
  const file = path.join(dir, 'visits-2026-12.csv');
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
});
