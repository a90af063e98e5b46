import { Worker as Thread } from 'node:worker_threads';
import { DEFAULT_READ_LIMITS } from '../../services/api/read-limits.ts';
import { loadModel } from '../../services/model/load.ts';
import { Worker } from '../lib/worker-host.ts';
import type { LoopDelay, ReadsServerInfo } from '../workers/reads-server.ts';

/**
 * Issue 15, finding 2: eight CSI reads over 9,999 one-minute buckets held /livez for
 * 8.9 s and an ingest POST for 9.2 s. This phase runs the heaviest read the limits now
 * allow (CSI without a segment filter: 1 + segments series, as many one-minute buckets
 * as CXV_READ_MAX_CELLS permits) eight at once, continuously, against the product as
 * `npm start` runs it with days of windows in its store, and measures /livez and an
 * ingest POST (10 probe results) before (idle) and during, in the same run. The reads
 * are sent and their answers received on a thread of their own, so that taking in
 * megabytes of answers does not delay the probe's own timings; the server's event-loop
 * delay over each stretch says how long its callbacks waited.
 */

export interface LatencySummary {
  n: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** /livez and an ingest POST answer within this (p99) while the heaviest reads run (issue 15). */
export const READS_LATENCY_TARGET_MS = 100;

export interface ReadsResult {
  days: number;
  /** Heaviest reads running at once in the loaded stretch. */
  concurrency: number;
  rows: { kpi: number; probe: number };
  heaviestRead: { url: string; buckets: number; series: number; cells: number; bytes: number; idleMs: number };
  oneBucketMore: { status: number; code: string };
  idle: { livez: LatencySummary; ingest: IngestSummary; loopDelay: LoopDelay };
  loaded: { livez: LatencySummary; ingest: IngestSummary; loopDelay: LoopDelay; reads: LatencySummary & { non200: number } };
  ratios: { livezP99: number; ingestP99: number };
}

/** Ingest POSTs: their latency, and how many answers carried the corrected/duplicate counts. */
type IngestSummary = LatencySummary & { classified: number };

const MINUTE = 60_000;

function summary(values: number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
  return { n: sorted.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted.at(-1) ?? Number.NaN };
}

async function timed(f: () => Promise<Response>): Promise<{ ms: number; status: number; bytes: number; body: ArrayBuffer }> {
  const start = performance.now();
  const res = await f();
  const body = await res.arrayBuffer();
  return { ms: performance.now() - start, status: res.status, bytes: body.byteLength, body };
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** `concurrency` loops each reading `url` again as soon as it is answered, until told to stop. */
const READERS = `
const { parentPort, workerData } = require('node:worker_threads');
let running = true;
parentPort.on('message', () => { running = false; });
(async () => {
  const times = [];
  let non200 = 0;
  await Promise.all(Array.from({ length: workerData.concurrency }, async () => {
    while (running) {
      const start = performance.now();
      const res = await fetch(workerData.url, { headers: workerData.headers });
      await res.arrayBuffer();
      if (res.status === 200) times.push(performance.now() - start);
      else non200 += 1;
    }
  }));
  parentPort.postMessage({ times, non200 });
})();
`;

/** /livez and an ingest POST, one after the other, every `everyMs`, for `seconds`. */
async function probe(info: ReadsServerInfo, seconds: number, everyMs: number) {
  const livez: number[] = [];
  const ingest: number[] = [];
  /** Answers that carried the corrections/duplicates counts (the store told within CXV_INGEST_VERSION_LOOKUP_MS). */
  let classified = 0;
  const until = performance.now() + seconds * 1000;
  let i = 0;
  while (performance.now() < until) {
    const live = await timed(() => fetch(`${info.url}/livez`));
    if (live.status !== 200) throw new Error(`/livez answered ${live.status}`);
    livez.push(live.ms);
    const now = Date.now();
    const events = Array.from({ length: 10 }, (_, k) => ({
      eventId: `bench-reads-${process.pid}-${i}-${k}`,
      ts: now - 1000,
      service: 'voice',
      region: 'bench',
      probeId: 'bench-reads',
      probeType: 'active',
      success: k % 10 !== 0,
    }));
    i += 1;
    const post = await timed(() =>
      fetch(`${info.url}/api/v1/events/probe`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${info.ingestToken}` },
        body: JSON.stringify(events),
      }),
    );
    if (post.status !== 200) throw new Error(`ingest answered ${post.status}`);
    ingest.push(post.ms);
    if ((JSON.parse(new TextDecoder().decode(post.body)) as { classified?: boolean }).classified) classified += 1;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return { livez: summary(livez), ingest: { ...summary(ingest), classified } };
}

export async function measureReads(o: {
  days: number;
  concurrency: number;
  seconds: number;
  log: (line: string) => void;
}): Promise<ReadsResult> {
  const model = await loadModel();
  const series = 1 + Object.keys(model.segments).length;
  // CXV_BENCH_READS_PROFILE=<dir>: a CPU profile of the server (where its event loop goes), written as it stops.
  const profileDir = process.env.CXV_BENCH_READS_PROFILE;
  const worker = new Worker<{ stopped: true }>('reads-server', { days: o.days }, profileDir ? { cpuProfileDir: profileDir } : {});
  try {
    const info = (await worker.ready) as ReadsServerInfo;
    o.log(
      `   store: ${info.rows.kpi.toLocaleString('en-US')} kpi_1m + ${info.rows.probe.toLocaleString('en-US')} probe_kpi_1m rows (${o.days} days, seeded in ${info.seedSec.toFixed(1)} s)`,
    );
    const read = { authorization: `Bearer ${info.readToken}` };
    const to = Math.floor(Date.now() / MINUTE) * MINUTE;
    const url = (n: number) => `${info.url}/api/v1/csi?from=${to - n * MINUTE}&to=${to}&step=1m`;
    const cellBuckets = Math.floor(DEFAULT_READ_LIMITS.maxCells / series);
    const over = await fetch(url(cellBuckets + 1), { headers: read });
    const overBody = (await over.json()) as { code?: string };
    // The cell limit, or the answer-size limit if that binds first: scaled down from the size the 400 names.
    let buckets = cellBuckets;
    let heavy = await timed(() => fetch(url(buckets), { headers: read }));
    for (let attempt = 0; heavy.status === 400 && attempt < 3; attempt += 1) {
      const answer = await fetch(url(buckets), { headers: read });
      const message = ((await answer.json()) as { message?: string }).message ?? '';
      const bytes = Number(/The answer is ([\d,]+) bytes/.exec(message)?.[1]?.replaceAll(',', '') ?? Number.NaN);
      if (!Number.isFinite(bytes)) break;
      buckets = Math.floor((buckets * DEFAULT_READ_LIMITS.maxResponseBytes * 0.97) / bytes);
      o.log(`   ${message.slice(0, 90)}…: trying ${buckets} buckets`);
      heavy = await timed(() => fetch(url(buckets), { headers: read }));
    }
    if (heavy.status !== 200) throw new Error(`the heaviest allowed read answered ${heavy.status}`);
    o.log(
      `   heaviest allowed read: CSI, ${buckets} one-minute buckets × ${series} series = ${buckets * series} cells: ${heavy.ms.toFixed(0)} ms idle, ${(heavy.bytes / 1e6).toFixed(1)} MB; one bucket more → ${over.status} ${overBody.code}`,
    );

    await worker.request<LoopDelay>({ loopDelay: 'reset' });
    const idle = { ...(await probe(info, o.seconds, 50)), loopDelay: await worker.request<LoopDelay>({ loopDelay: 'read' }) };
    o.log(
      `   idle: /livez p50 ${idle.livez.p50Ms.toFixed(1)} p99 ${idle.livez.p99Ms.toFixed(1)} ms, ingest POST p50 ${idle.ingest.p50Ms.toFixed(1)} p99 ${idle.ingest.p99Ms.toFixed(1)} ms (${idle.livez.n} each; ${idle.ingest.classified} answers with corrected/duplicate counts); server event-loop delay p99 ${idle.loopDelay.p99Ms.toFixed(1)} ms, max ${idle.loopDelay.maxMs.toFixed(1)} ms`,
    );

    const readers = new Thread(READERS, {
      eval: true,
      workerData: { url: url(buckets), headers: read, concurrency: o.concurrency },
    });
    const answered = new Promise<{ times: number[]; non200: number }>((resolve, reject) => {
      readers.once('message', resolve);
      readers.once('error', reject);
    });
    await new Promise((r) => setTimeout(r, 2000));
    await worker.request<LoopDelay>({ loopDelay: 'reset' });
    const loaded = { ...(await probe(info, o.seconds, 50)), loopDelay: await worker.request<LoopDelay>({ loopDelay: 'read' }) };
    readers.postMessage('stop');
    const { times: readTimes, non200 } = await answered;
    await readers.terminate();
    const reads = { ...summary(readTimes), non200 };
    o.log(
      `   ${o.concurrency} heaviest reads at once: /livez p50 ${loaded.livez.p50Ms.toFixed(1)} p99 ${loaded.livez.p99Ms.toFixed(1)} ms (max ${loaded.livez.maxMs.toFixed(1)}), ingest POST p50 ${loaded.ingest.p50Ms.toFixed(1)} p99 ${loaded.ingest.p99Ms.toFixed(1)} ms (max ${loaded.ingest.maxMs.toFixed(1)}; ${loaded.ingest.classified} of ${loaded.ingest.n} with counts); server event-loop delay p99 ${loaded.loopDelay.p99Ms.toFixed(1)} ms, max ${loaded.loopDelay.maxMs.toFixed(1)} ms; reads: ${reads.n} answered, p50 ${reads.p50Ms.toFixed(0)} ms, p99 ${reads.p99Ms.toFixed(0)} ms, ${non200} not 200`,
    );
    const ratios = { livezP99: loaded.livez.p99Ms / idle.livez.p99Ms, ingestP99: loaded.ingest.p99Ms / idle.ingest.p99Ms };
    o.log(`   loaded / idle p99: /livez ×${ratios.livezP99.toFixed(2)}, ingest ×${ratios.ingestP99.toFixed(2)}`);
    return {
      days: o.days,
      concurrency: o.concurrency,
      rows: info.rows,
      heaviestRead: {
        url: url(buckets).replace(info.url, ''),
        buckets,
        series,
        cells: buckets * series,
        bytes: heavy.bytes,
        idleMs: heavy.ms,
      },
      oneBucketMore: { status: over.status, code: overBody.code ?? '' },
      idle,
      loaded: { ...loaded, reads },
      ratios,
    };
  } finally {
    await worker.finish().catch(() => {});
    // A profiled server writes its profile as it exits: give it that time before the kill.
    for (let waited = 0; profileDir && waited < 30_000 && isAlive(worker.pid); waited += 250) {
      await new Promise((r) => setTimeout(r, 250));
    }
    worker.kill();
  }
}
