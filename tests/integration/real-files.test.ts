import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pipeline } from '../../services/app.ts';
import { createMetricFeedReader } from '../../services/goals/feeds.ts';
import { mapFile } from '../../services/replay/map-file.ts';
import { type ReplaySummary, replay } from '../../services/replay/replay.ts';
import { resolveMapping } from '../../services/replay/resolve.ts';
import { mergeWindows, windowKpis } from '../../services/shared/kpi/window.ts';
import { readKpiBuckets } from '../../services/shared/vitals/buckets.ts';
import { eventually, getJson, startTestPipeline, testIngestToken } from '../support/pipeline.ts';
import { type RealFile, realFilePath, runsWithRealFile } from '../support/real-data.ts';

/**
 * The four real files (tests/support/real-data.ts says where each is), replayed through the product's own
 * replay path (mapping → HTTP ingest → backfill topic → aggregator → ClickHouse), twice:
 * the stored counts match the file (rows in = events stored + rejected with reasons),
 * the second replay changes nothing, and the KPIs equal values computed here from the
 * raw file with nothing but string splitting.
 */

const EVER = { from: Date.UTC(1980, 0, 1), to: Date.UTC(2100, 0, 1) };

let pipeline: Pipeline;

beforeAll(async () => {
  // A backlog limit well below a file's size: ingest paces the replay with 429s, and the
  // replay pauses longer than the idle time (1 s here) between its batches, as a busy
  // pipeline makes it do. The rest of the file must still count.
  pipeline = await startTestPipeline({ CXV_INGEST_MAX_BUS_BACKLOG_BYTES: '300000' });
}, 120_000);
afterAll(async () => {
  await pipeline?.stop();
});

async function replayTwice(file: RealFile): Promise<{ first: ReplaySummary; second: ReplaySummary; source: string }> {
  const full = realFilePath(file);
  const resolved = resolveMapping(full, {});
  const run = async () => {
    const rows = resolved.mapping ? mapFile(full, resolved.mapping) : undefined;
    if (!rows) throw new Error(`no mapping for ${file}`);
    return replay({
      file: full,
      source: resolved.source,
      rows,
      batchSize: 500,
      dryRun: false,
      url: pipeline.url,
      token: testIngestToken(),
      backfill: true,
      maxRetries: 30,
      maxRetryWaitMs: 2000,
    });
  };
  const first = await run();
  await storedEvents(resolved.source, first.accepted);
  const second = await run();
  return { first, second, source: resolved.source };
}

/** Waits until raw_events holds exactly `n` distinct events of the source, then checks it stays so. */
async function storedEvents(source: string, n: number): Promise<number> {
  const count = async () => {
    const [r] = await pipeline.store.query<{ n: string }>(
      `SELECT uniqExact(event_id) AS n FROM ${pipeline.store.table('raw_events')} WHERE source = {source:String}`,
      { source },
    );
    return Number(r?.n ?? 0);
  };
  return eventually(`${n} ${source} events stored`, async () => ((await count()) === n ? n : undefined), 90_000);
}

async function kpisOf(service: string) {
  const buckets = await readKpiBuckets(pipeline.store, {
    services: [service],
    region: undefined,
    segment: undefined,
    ...EVER,
    stepSec: 31 * 86_400,
  });
  return windowKpis(mergeWindows(buckets.map((b) => b.accumulators)));
}

const csv = (file: RealFile, encoding: BufferEncoding = 'utf8') =>
  readFileSync(realFilePath(file), encoding)
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '');

function expectBalanced(s: ReplaySummary, rows: number) {
  expect(s.failure).toBeUndefined();
  expect(s.rowsRead).toBe(rows);
  expect(s.accepted + s.rejectedByMapping + s.rejectedByServer).toBe(rows);
}

describe('real files replayed twice through the product', () => {
  it.runIf(runsWithRealFile('bank-callcenter-1999-08-01.csv'))(
    'bank call center: ASA, service level and abandonment as computed from the file',
    async () => {
      const lines = csv('bank-callcenter-1999-08-01.csv');
      const header = lines[0]?.split(',') ?? [];
      const col = (name: string) => header.indexOf(name);
      const rows = lines.slice(1).map((l) => l.split(','));
      // Independent reading of the README's outcome rules: AGENT = answered; HANG with a
      // queue time = abandoned from the queue; HANG without = left in the IVR; PHANTOM = not a call.
      const answered = rows.filter((r) => r[col('outcome')] === 'AGENT');
      const queuedHang = rows.filter((r) => r[col('outcome')] === 'HANG' && Number(r[col('q_time')]) > 0);
      const short = queuedHang.filter((r) => Number(r[col('q_time')]) < 5);
      const abandoned = queuedHang.length - short.length;
      const waitAnswered = answered.reduce((s, r) => s + Number(r[col('q_time')]), 0);
      const within20 = answered.filter((r) => Number(r[col('q_time')]) <= 20).length;

      const { first, second } = await replayTwice('bank-callcenter-1999-08-01.csv');
      expectBalanced(first, rows.length);
      expect(first.accepted).toBe(answered.length + queuedHang.length);
      expect(second.accepted).toBe(first.accepted);
      await storedEvents('contact', first.accepted);

      const k = await eventually('bank KPIs', async () => {
        const v = await kpisOf('retail-banking');
        return v.answered === answered.length ? v : undefined;
      });
      expect(k.offered).toBe(answered.length + abandoned);
      expect(k.asa_sec).toBeCloseTo(waitAnswered / answered.length, 9);
      expect(k.service_level).toBeCloseTo(within20 / (answered.length + abandoned), 12);
      expect(k.abandonment_rate).toBeCloseTo(abandoned / (answered.length + abandoned), 12);

      // A Customer Care goal bound to the day reads exactly the API's numbers for it.
      const day = { from: Date.UTC(1999, 7, 1), to: Date.UTC(1999, 7, 2) };
      const feeds = createMetricFeedReader({ store: pipeline.store, excuseRetroactive: false, model: pipeline.model });
      const care = { service: 'retail-banking' };
      const rate = await feeds.read({ kind: 'kpi', name: 'abandonment_rate', filters: care }, day.from, day.to);
      expect([rate.ratio, rate.value, rate.numerator, rate.denominator]).toEqual([true, 719 / 2230, 719, 2230]);
      expect([rate.numerator, rate.denominator]).toEqual([abandoned, answered.length + abandoned]);
      const asa = await feeds.read({ kind: 'kpi', name: 'asa_sec', filters: care }, day.from, day.to);
      const fromApi = await getJson<{ buckets: Array<{ kpis: Record<string, number | null> }> }>(
        `${pipeline.url}/api/v1/kpis?service=retail-banking&from=1999-08-01T00:00:00Z&to=1999-08-02T00:00:00Z&step=1d`,
      );
      expect(fromApi.status).toBe(200);
      expect(fromApi.body.buckets.map((b) => b.kpis.asa_sec)).toEqual([asa.value]);
      expect(asa.value).toBeCloseTo(waitAnswered / answered.length, 9);
    },
    240_000,
  );

  it('Starlink pings: packet loss weighted by packets sent', async () => {
    const lines = csv('starlink-ping.csv');
    const header = lines[0]?.split(',') ?? [];
    const rows = lines.slice(1).map((l) => l.split(','));
    const sent = rows.reduce((s, r) => s + Number(r[header.indexOf('packets_send')]), 0);
    const lost = rows.reduce(
      (s, r) => s + (Number(r[header.indexOf('packet_loss')]) * Number(r[header.indexOf('packets_send')])) / 100,
      0,
    );

    const { first, second } = await replayTwice('starlink-ping.csv');
    expectBalanced(first, rows.length);
    expect(second.accepted).toBe(first.accepted);
    await storedEvents('probe', first.accepted);
    const k = await eventually('Starlink KPIs', async () => {
      const v = await kpisOf('satellite-broadband');
      return v.packet_loss_pct !== null ? v : undefined;
    });
    expect(k.packet_loss_pct).toBeCloseTo((100 * lost) / sent, 9);
  }, 240_000);

  it('retail survey: NPS from the answered recommendation scores', async () => {
    const lines = csv('retail-nps-survey.csv', 'latin1');
    const header = (lines[0] ?? '').split(',').map((h) => h.replaceAll('"', ''));
    const npsAt = header.indexOf('nps');
    const tAt = header.indexOf('t');
    // Quoted comments hold commas: take the nps column (3rd) from the left and t (last) from the right.
    const rows = lines.slice(1).map((l) => {
      const cells = l.split(',');
      return { nps: cells[npsAt] ?? '', t: cells[cells.length - (header.length - tAt)] ?? '' };
    });
    const scored = rows.filter((r) => r.nps !== 'NA' && r.t !== 'NA').map((r) => Number(r.nps));
    const promoters = scored.filter((s) => s >= 9).length;
    const detractors = scored.filter((s) => s <= 6).length;

    const { first, second } = await replayTwice('retail-nps-survey.csv');
    expectBalanced(first, rows.length);
    expect(first.accepted).toBe(scored.length);
    expect(second.accepted).toBe(first.accepted);
    await storedEvents('survey', first.accepted);
    const k = await eventually('survey KPIs', async () => {
      const v = await kpisOf('retail-store');
      return v.nps !== null ? v : undefined;
    });
    expect(k.nps).toBeCloseTo((100 * (promoters - detractors)) / scored.length, 9);
  }, 240_000);

  it.runIf(runsWithRealFile('comcast-complaints-2015.csv'))(
    'Comcast complaints: every complaint a post, counted once',
    async () => {
      const { first, second } = await replayTwice('comcast-complaints-2015.csv');
      expect(first.failure).toBeUndefined();
      expect(first.accepted + first.rejectedByMapping + first.rejectedByServer).toBe(first.rowsRead);
      expect(first.rowsRead).toBe(2224);
      expect(second.accepted).toBe(first.accepted);
      await storedEvents('social', first.accepted);
      const k = await eventually('social volume', async () => {
        const v = await kpisOf('comcast-fixed');
        return v.social_volume === first.accepted ? v : undefined;
      });
      expect(k.social_volume).toBe(first.accepted);
    },
    240_000,
  );
});
