import type { ProfileSummary } from '../lib/profile.ts';
import { linearFit } from '../lib/stats.ts';
import { READ_SCALE_TARGET_MS } from '../measure/read-scale.ts';
import { READS_LATENCY_TARGET_MS } from '../measure/reads.ts';
import { type BenchReport, TARGETS } from './types.ts';

/** The Markdown report: figures with their targets beside them, then the detail behind each. */

const n0 = (v: number | undefined): string =>
  v !== undefined && Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a';
const n2 = (v: number | undefined): string => (v !== undefined && Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const ms = (v: number | undefined): string =>
  v !== undefined && Number.isFinite(v) ? `${Math.round(v).toLocaleString('en-US')} ms` : 'n/a';
const kb = (bytes: number | undefined): string =>
  bytes !== undefined && Number.isFinite(bytes) ? `${(bytes / 1024).toFixed(2)} KB` : 'n/a';
const pct = (v: number): string => `${(v * 100).toFixed(1)} %`;
const mark = (met: boolean | undefined): string => (met === undefined ? '–' : met ? 'met' : '**missed**');
const table = (head: string[], rows: string[][]): string[] => [
  `| ${head.join(' | ')} |`,
  `| ${head.map(() => '---').join(' | ')} |`,
  ...rows.map((r) => `| ${r.join(' | ')} |`),
];

export function renderMarkdown(r: BenchReport): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`# cxvitals benchmark (${r.mode})`, '');
  out.push(
    `${m.date} · commit \`${m.commit}\`${m.dirty ? ' (with uncommitted changes)' : ''} · ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB · ${m.os} · Node ${m.node} · librdkafka ${m.librdkafka} · load average at start ${m.loadAverage.join(' / ')} · ${Math.round(r.durationSec)} s`,
    '',
    `Every figure is the median of ${r.settings.runs} run(s); ratios are taken within a run (both sides measured back to back on the same data) and then their median. "Per core" = events ÷ CPU-seconds of the measured process (all its threads: librdkafka's and chDB's included; the broker always runs in a process of its own). The machine is shared and noisy: read ratios before absolute values. Method and caveats: docs/benchmarks.md.`,
    '',
  );
  out.push(...summary(r), '');
  if (r.consume) out.push(...consumeSection(r), '');
  if (r.ingest) out.push(...ingestSection(r), '');
  if (r.freshness) out.push(...freshnessSection(r), '');
  if (r.memory) out.push(...memorySection(r), '');
  if (r.growth || r.ingest) out.push(...growthSection(r), '');
  out.push(...profileSection(r));
  const errors = Object.entries(r.errors);
  if (errors.length > 0) out.push('', '## Failed measurements', '', ...errors.map(([phase, e]) => `- ${phase}: ${e}`));
  return `${out.join('\n')}\n`;
}

function summary(r: BenchReport): string[] {
  const rows: string[][] = [];
  const c = r.consume;
  if (c) {
    for (const [client, f] of Object.entries(c.byClient))
      rows.push(['1', `raw consume (${client})`, `${n0(f.rawPerCoreSec)} ev/s/core`, '–', '–']);
    const f = c.byClient[c.faster];
    rows.push([
      '2',
      `aggregator, full model into ClickHouse (${c.faster}, the faster)`,
      `${n0(f?.aggregatorPerCoreSec)} ev/s/core`,
      `≥ ${n0(TARGETS.aggregatorPerCoreSec)}`,
      mark((f?.aggregatorPerCoreSec ?? 0) >= TARGETS.aggregatorPerCoreSec),
    ]);
    rows.push([
      '2',
      `aggregator ÷ raw consume (${c.faster})`,
      n2(f?.aggregatorToRaw),
      `≥ ${TARGETS.aggregatorToRaw}`,
      mark((f?.aggregatorToRaw ?? 0) >= TARGETS.aggregatorToRaw),
    ]);
    rows.push([
      '5',
      `aggregator ÷ alternative, throughput (${c.faster})`,
      n2(f?.aggregatorToAlternative),
      `≥ ${TARGETS.aggregatorToAlternative}`,
      mark((f?.aggregatorToAlternative ?? 0) >= TARGETS.aggregatorToAlternative),
    ]);
  }
  const i = r.ingest;
  if (i) {
    for (const [client, f] of Object.entries(i.byClient))
      rows.push(['1', `raw produce (${client})`, `${n0(f.producePerCoreSec)} ev/s/core`, '–', '–']);
    const f = i.byClient[i.faster];
    rows.push([
      '3',
      `ingest over HTTP (${i.faster}, the faster)`,
      `${n0(f?.ingestPerCoreSec)} ev/s/core`,
      `≥ ${n0(TARGETS.ingestPerCoreSec)}`,
      mark((f?.ingestPerCoreSec ?? 0) >= TARGETS.ingestPerCoreSec),
    ]);
    rows.push([
      '3',
      `ingest ÷ raw produce (${i.faster})`,
      n2(f?.ingestToProduce),
      `≥ ${TARGETS.ingestToProduce}`,
      mark((f?.ingestToProduce ?? 0) >= TARGETS.ingestToProduce),
    ]);
  }
  const fr = r.freshness;
  if (fr) {
    rows.push([
      '4',
      `freshness p50 / p99 from window close (${fr.client})`,
      `${ms(fr.pipeline.p50Ms)} / ${ms(fr.pipeline.p99Ms)}`,
      `p99 ≤ ${ms(TARGETS.freshnessP99Ms)}`,
      mark(fr.pipeline.p99Ms <= TARGETS.freshnessP99Ms && fr.pipeline.missing === 0),
    ]);
    rows.push([
      '5',
      'alternative freshness p50 / p99',
      `${ms(fr.alternative.p50Ms)} / ${ms(fr.alternative.p99Ms)}`,
      'pipeline ahead',
      mark(fr.pipeline.p99Ms <= fr.alternative.p99Ms),
    ]);
  }
  const mem = r.memory;
  if (mem) {
    const largest = mem.byKeys[mem.byKeys.length - 1];
    rows.push([
      '6',
      `memory per key at ${n0(largest?.keys)} keys (heap, open / written)`,
      `${kb(largest?.open.heapBytesPerKey)} / ${kb(largest?.written.heapBytesPerKey)}`,
      `≤ ${kb(TARGETS.memoryBytesPerKey)}`,
      mark((largest?.open.heapBytesPerKey ?? Number.POSITIVE_INFINITY) <= TARGETS.memoryBytesPerKey),
    ]);
    rows.push([
      '6',
      `memory per key at ${n0(largest?.keys)} keys (RSS, open)`,
      kb(largest?.open.rssBytesPerKey),
      `≤ ${kb(TARGETS.memoryBytesPerKey)}`,
      mark((largest?.open.rssBytesPerKey ?? Number.POSITIVE_INFINITY) <= TARGETS.memoryBytesPerKey),
    ]);
  }
  const linear = growthVerdicts(r);
  for (const v of linear) rows.push(['7', v.what, v.value, v.target ?? 'linear', v.verdict]);
  const raw = r.rawInsert?.median;
  if (raw) {
    rows.push([
      '8',
      'raw_events write, JSONEachRow objects → TabSeparated lines (CPU per row)',
      `${raw.jsonUsCpu.toFixed(1)} → ${raw.tsvUsCpu.toFixed(1)} µs (×${n2(raw.cpuRatio)} less CPU, ×${n2(raw.wallRatio)} less wall)`,
      '–',
      '–',
    ]);
  }
  const scale = r.readScale;
  if (scale) {
    const slowest = Math.max(scale.pipeline.kpisMs, scale.pipeline.kqisMs, scale.pipeline.csiMs);
    rows.push([
      '9',
      `read at scale: one service at step=1d over ${scale.days} days, ${n0(scale.events)} raw events (KPIs / KQIs / CSI from the aggregates, days rolled up)`,
      `${ms(scale.pipeline.kpisMs)} / ${ms(scale.pipeline.kqisMs)} / ${ms(scale.pipeline.csiMs)}`,
      `≤ ${ms(READ_SCALE_TARGET_MS)}`,
      mark(slowest <= READ_SCALE_TARGET_MS),
    ]);
    rows.push([
      '9',
      `read at scale, the same before the daily rollup (one-minute rows); rolling ${scale.days} days up`,
      scale.oneMinute
        ? `${ms(scale.oneMinute.kpisMs)} / ${ms(scale.oneMinute.kqisMs)} / ${ms(scale.oneMinute.csiMs)}; ${n2(scale.rollupSec ?? Number.NaN)} s`
        : 'n/a',
      '–',
      '–',
    ]);
    rows.push([
      '9',
      "read at scale: the alternative's KPIs by SQL over raw rows ÷ the pipeline's KPIs",
      `${ms(scale.alternative.kpisMs)} (×${n2(scale.alternative.kpisMs / scale.pipeline.kpisMs)})`,
      'pipeline ahead',
      mark(scale.pipeline.kpisMs <= scale.alternative.kpisMs),
    ]);
  }
  const reads = r.reads;
  if (reads) {
    // Issue 15: health and ingest answer in milliseconds while the heaviest read the limits allow runs 8 at once.
    const under = `under ${reads.concurrency} heaviest reads at once (${n0(reads.heaviestRead.cells)} cells each)`;
    rows.push([
      '10',
      `/livez p99 ${under}; idle`,
      `${ms(reads.loaded.livez.p99Ms)}; ${ms(reads.idle.livez.p99Ms)}`,
      `< ${ms(READS_LATENCY_TARGET_MS)}`,
      mark(reads.loaded.livez.p99Ms < READS_LATENCY_TARGET_MS),
    ]);
    rows.push([
      '10',
      `ingest POST p99 ${under}; idle (answers with corrected/duplicate counts, loaded)`,
      `${ms(reads.loaded.ingest.p99Ms)}; ${ms(reads.idle.ingest.p99Ms)} (${n0(reads.loaded.ingest.classified)} of ${n0(reads.loaded.ingest.n)})`,
      `< ${ms(READS_LATENCY_TARGET_MS)}`,
      mark(reads.loaded.ingest.p99Ms < READS_LATENCY_TARGET_MS),
    ]);
  }
  const out = ['## Figures and targets', '', ...table(['#', 'figure', 'value', 'target', ''], rows)];
  if (c || i) {
    out.push('', `**Faster client on the hot paths:** ${fasterClient(r)}`);
  }
  return out;
}

function fasterClient(r: BenchReport): string {
  const parts: string[] = [];
  const c = r.consume;
  if (c) {
    const [a, b] = Object.entries(c.byClient);
    if (a && b)
      parts.push(
        `aggregator: ${a[0]} ${n0(a[1].aggregatorPerCoreSec)} vs ${b[0]} ${n0(b[1].aggregatorPerCoreSec)} ev/s/core (${c.faster}); raw consume: ${a[0]} ${n0(a[1].rawPerCoreSec)} vs ${b[0]} ${n0(b[1].rawPerCoreSec)}`,
      );
  }
  const i = r.ingest;
  if (i) {
    const [a, b] = Object.entries(i.byClient);
    if (a && b)
      parts.push(
        `ingest: ${a[0]} ${n0(a[1].ingestPerCoreSec)} vs ${b[0]} ${n0(b[1].ingestPerCoreSec)} ev/s/core (${i.faster}); raw produce: ${a[0]} ${n0(a[1].producePerCoreSec)} vs ${b[0]} ${n0(b[1].producePerCoreSec)}`,
      );
  }
  return parts.join('; ');
}

function growthVerdicts(r: BenchReport): Array<{ what: string; value: string; verdict: string; target?: string }> {
  const out: Array<{ what: string; value: string; verdict: string; target?: string }> = [];
  const rates = r.ingest?.rates ?? [];
  if (rates.length >= 2) {
    const costs = rates.map((p) => p.cpuUsPerEvent);
    const spread = Math.max(...costs) / Math.min(...costs);
    out.push({
      what: 'ingest CPU per event from ¼ to full rate',
      value: `${costs.map((c) => c.toFixed(1)).join(' → ')} µs`,
      verdict: spread <= 1.3 ? 'linear' : `**not linear** (×${spread.toFixed(2)})`,
    });
  }
  const mem = r.memory?.byKeys ?? [];
  if (mem.length >= 2) {
    const fit = linearFit(
      mem.map((p) => p.keys),
      mem.map((p) => p.open.heapBytesPerKey * p.keys),
    );
    out.push({
      what: 'memory vs keys (heap)',
      value: `${kb(fit.slope)}/key, R² ${fit.r2.toFixed(4)}`,
      verdict: fit.r2 >= 0.99 ? 'linear' : '**not linear**',
    });
  }
  const eng = r.growth?.engine ?? [];
  if (eng.length >= 2) {
    const costs = eng.map((p) => p.cpuUsPerEvent);
    const spread = Math.max(...costs) / Math.min(...costs);
    out.push({
      what: `in-memory aggregation CPU per event, ${n0(eng[0]?.keys)} → ${n0(eng[eng.length - 1]?.keys)} keys`,
      value: `${costs.map((c) => c.toFixed(1)).join(' → ')} µs`,
      verdict: spread <= 1.3 ? 'linear' : `**grows** (×${spread.toFixed(2)} per event)`,
    });
    const flushes = eng.map((p) => p.flushUsPerEvent ?? Number.NaN);
    if (flushes.every(Number.isFinite)) {
      // Most keys ÷ fewest: at few keys a flush writes about a window per event, so the
      // cost may fall with keys; what must not happen is a rise with the windows held.
      const growth = (flushes[flushes.length - 1] ?? Number.NaN) / (flushes[0] ?? Number.NaN);
      out.push({
        what: `flush bookkeeping per event, windows held for the lateness, ${n0(eng[0]?.keys)} → ${n0(eng[eng.length - 1]?.keys)} keys`,
        value: `${flushes.map((c) => c.toFixed(2)).join(' → ')} µs`,
        target: 'flat',
        verdict: growth <= 1.3 ? `flat (×${growth.toFixed(2)})` : `**grows** (×${growth.toFixed(2)} per event)`,
      });
    }
  }
  const agg = r.growth?.aggregator ?? [];
  if (agg.length >= 2) {
    const costs = agg.map((p) => p.cpuUsPerEvent);
    const spread = Math.max(...costs) / Math.min(...costs);
    out.push({
      what: `aggregator CPU per event, ${n0(agg[0]?.keys)} → ${n0(agg[agg.length - 1]?.keys)} keys`,
      value: `${costs.map((c) => c.toFixed(1)).join(' → ')} µs`,
      target: `≤ ×${TARGETS.aggregatorGrowth}`,
      verdict: spread <= TARGETS.aggregatorGrowth ? 'met' : `**missed** (×${spread.toFixed(2)} per event)`,
    });
  }
  return out;
}

function consumeSection(r: BenchReport): string[] {
  const c = r.consume;
  if (!c) return [];
  const out = [
    '## (1) (2) (5) Consume, aggregate, and the alternative on the same stream',
    '',
    `${n0(c.stream.events)} events (half probe results, a quarter contacts, 15 % surveys, 10 % social posts) over ${c.stream.keys} (service, region) keys and ${c.stream.spanMs / 60_000} minutes of event time, preloaded once; every consumer reads all of it from the beginning with a new group. The aggregator's clock runs from its first batch until every window is written and the CSI rows are materialised; its stored totals are checked against the stream.`,
    '',
    ...table(
      [
        'client',
        'raw consume ev/s/core (ev/s)',
        'aggregator ev/s/core (ev/s)',
        'alternative ev/s/core (ev/s)',
        'aggregator ÷ raw',
        'aggregator ÷ alternative',
        'verified',
      ],
      Object.entries(c.byClient).map(([client, f]) => [
        client,
        `${n0(f.rawPerCoreSec)} (${n0(f.rawPerSec)})`,
        `${n0(f.aggregatorPerCoreSec)} (${n0(f.aggregatorPerSec)})`,
        `${n0(f.alternativePerCoreSec)} (${n0(f.alternativePerSec)})`,
        n2(f.aggregatorToRaw),
        n2(f.aggregatorToAlternative),
        f.verified ? 'yes' : '**no**',
      ]),
    ),
    '',
    `Reading one key's KPIs over the whole span (${c.stream.spanMs / 60_000} one-minute buckets): from the aggregates ${ms(c.byClient[c.faster]?.aggregatorReadMs)}, by SQL over the raw rows ${ms(c.byClient[c.faster]?.alternativeReadMs)} (${c.faster}). The alternative pays at every read what the aggregator pays once.`,
    '',
    `Where the aggregator (${c.faster}) waited on ClickHouse during the measured span (median wall time per run; "read T": queries whose first table is T, counted in the rows column):`,
    '',
    ...table(
      ['table', 'rows', 'statements', 'wall time'],
      (c.byClient[c.faster]?.inserts ?? []).map((i) => [
        i.table,
        n0(i.rows),
        i.statements === undefined ? '–' : n0(i.statements),
        ms(i.ms),
      ]),
    ),
  ];
  if (c.withoutRawEvents) {
    const base = c.byClient[c.faster]?.aggregatorPerCoreSec ?? Number.NaN;
    out.push(
      '',
      `Ablation (one run, ${c.faster}): the same aggregator with the raw_events insert skipped reaches ${n0(c.withoutRawEvents.perCoreSec)} ev/s/core (×${n2(c.withoutRawEvents.perCoreSec / base)} the full figure).`,
    );
  }
  return out;
}

function ingestSection(r: BenchReport): string[] {
  const i = r.ingest;
  if (!i) return [];
  return [
    '## (3) Ingest over HTTP',
    '',
    'NDJSON bodies of 1,000 events, 4 requests in flight, to `POST /api/v1/events/{source}` of a process running only the ingest role (validation, Avro, Kafka acknowledgement); CPU counted in that process only. Raw produce: the same events already encoded, same batch and concurrency, through the Bus port.',
    '',
    ...table(
      ['client', 'ingest ev/s/core (ev/s)', 'request p99', 'raw produce ev/s/core', 'ingest ÷ raw produce'],
      Object.entries(i.byClient).map(([client, f]) => [
        client,
        `${n0(f.ingestPerCoreSec)} (${n0(f.ingestPerSec)})`,
        ms(f.p99Ms),
        n0(f.producePerCoreSec),
        n2(f.ingestToProduce),
      ]),
    ),
  ];
}

function freshnessSection(r: BenchReport): string[] {
  const f = r.freshness;
  if (!f) return [];
  const s = f.settings;
  return [
    '## (4) (5) Freshness, side by side with the alternative',
    '',
    `${n0(s.eventsPerSec)} events/s posted to ingest for ${s.durationSec} s over ${s.keys} keys, event time running ${s.speed}× the wall clock; ${s.tracked} keys tracked per window. A window closes when the first acknowledged event at or past its end + ${s.outOfOrdernessMs / 1000} s (the out-of-orderness) is in: that is when the watermark passes its end. "Readable" = the window's CSI through \`GET /api/v1/csi\`, complete (every probe sample counted, and the value no longer changing), or the alternative's KPIs-by-SQL read counting every event sent. Client ${f.client}, default settings otherwise.`,
    '',
    ...table(
      ['', 'windows', 'p50 from close', 'p99 from close', 'max', 'never readable'],
      [
        [
          'pipeline',
          n0(f.pipeline.samples),
          ms(f.pipeline.p50Ms),
          ms(f.pipeline.p99Ms),
          ms(f.pipeline.maxMs),
          n0(f.pipeline.missing),
        ],
        [
          'alternative',
          n0(f.alternative.samples),
          ms(f.alternative.p50Ms),
          ms(f.alternative.p99Ms),
          ms(f.alternative.maxMs),
          n0(f.alternative.missing),
        ],
      ],
    ),
    '',
    ...(f.breakdown
      ? [
          `Where the pipeline's time goes (${n0(f.breakdown.windows)} windows): from close to the window's last row stored in ClickHouse (the closing event through Kafka to the aggregator, the watermark, the flush and its inserts; \`written_at\`) p50 ${ms(f.breakdown.stored.p50Ms)}, p99 ${ms(f.breakdown.stored.p99Ms)}; from stored to readable through the API p50 ${ms(f.breakdown.read.p50Ms)}, p99 ${ms(f.breakdown.read.p99Ms)}, one \`GET /api/v1/csi\` taking p50 ${ms(f.breakdown.csiAnswer.p50Ms)}, p99 ${ms(f.breakdown.csiAnswer.p99Ms)} (${n0(f.breakdown.csiAnswer.requests)} reads)${f.breakdown.storedBeforeClose > 0 ? `; ${n0(f.breakdown.storedBeforeClose)} windows had their final counts stored by a checkpoint before they closed` : ''}.`,
          '',
        ]
      : []),
    `Ingest request latency meanwhile: p50 ${ms(f.ingestLatency.p50Ms)}, p99 ${ms(f.ingestLatency.p99Ms)}. CSI of the same windows, pipeline vs alternative: largest difference ${n2(f.csiAgreement.maxAbsDiff)} points over ${f.csiAgreement.compared} windows (the pipeline's percentiles are 1 % sketches). With events in real time, a window closes ${s.outOfOrdernessMs / 1000} s after its end, so a reader sees its CSI about ${s.outOfOrdernessMs / 1000} s + the figures above after the minute ends.`,
  ];
}

function memorySection(r: BenchReport): string[] {
  const mem = r.memory;
  if (!mem) return [];
  const row = (label: string, p: (typeof mem.byKeys)[number]) => [
    label,
    n0(p.keys),
    n0(p.windows),
    kb(p.open.heapBytesPerKey),
    kb(p.open.rssBytesPerKey),
    kb(p.written.heapBytesPerKey),
    kb(p.written.rssBytesPerKey),
  ];
  return [
    '## (6) Memory per active window key',
    '',
    'A WindowEngine with every KPI family, fed decoded events in a fresh process (`--expose-gc`); a full GC before and after; (heap used, RSS) after − before, ÷ keys. A key is one (service, region, segment[, channel, queue]) tuple of one source, the four sources taking turns, one event per key unless stated; it holds one window per family its source feeds (probe feeds two). "Open": before the first write (the raw rows of its events still pending). "Written": after the write, kept for the allowed lateness.',
    '',
    ...table(
      ['keys', 'count', 'windows', 'heap/key open', 'RSS/key open', 'heap/key written', 'RSS/key written'],
      [
        ...mem.byKeys.map((p) => row('mixed', p)),
        ...mem.bySource.map((p) => row(`${p.only} only`, p)),
        row(`mixed, ${mem.tenEventsPerKey.eventsPerKey} events/key`, mem.tenEventsPerKey),
      ],
    ),
  ];
}

/** CPU µs per event = perEventUs + perRowUs × window rows per event, fitted by least squares (docs/sizing.md uses it). */
export function perRowFit(
  points: ReadonlyArray<{ cpuUsPerEvent: number; windowRows: number; events?: number }>,
): { perEventUs: number; perRowUs: number; r2: number; predicted: number[] } | undefined {
  const xs = points.map((p) => p.windowRows / (p.events ?? Number.NaN));
  const ys = points.map((p) => p.cpuUsPerEvent);
  if (points.length < 2 || xs.some((x) => !Number.isFinite(x))) return undefined;
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const mx = mean(xs);
  const my = mean(ys);
  const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  if (sxx === 0) return undefined;
  const perRowUs = xs.reduce((a, x, i) => a + (x - mx) * ((ys[i] ?? 0) - my), 0) / sxx;
  const perEventUs = my - perRowUs * mx;
  const predicted = xs.map((x) => perEventUs + perRowUs * x);
  const ssTot = ys.reduce((a, y) => a + (y - my) ** 2, 0);
  const ssRes = ys.reduce((a, y, i) => a + (y - (predicted[i] ?? 0)) ** 2, 0);
  return { perEventUs, perRowUs, r2: ssTot === 0 ? 1 : 1 - ssRes / ssTot, predicted };
}

function growthSection(r: BenchReport): string[] {
  const out = ['## (7) Growth', ''];
  const rates = r.ingest?.rates ?? [];
  if (rates.length > 0) {
    out.push(
      'Ingest (rdkafka), CPU per event as the offered rate grows:',
      '',
      ...table(
        ['offered ev/s', 'achieved ev/s', 'CPU µs/event', 'request p99'],
        rates.map((p) => [n0(p.offeredPerSec), n0(p.achievedPerSec), p.cpuUsPerEvent.toFixed(1), ms(p.p99Ms)]),
      ),
      '',
    );
  }
  const g = r.growth;
  if (g) {
    out.push(
      'In-memory aggregation (WindowEngine + families, no I/O), 200,000 events spread over more keys:',
      '',
      ...table(
        ['keys', 'windows', 'CPU µs/event', 'flushes, windows held: µs/event'],
        g.engine.map((p) => [n0(p.keys), n0(p.windows), p.cpuUsPerEvent.toFixed(1), p.flushUsPerEvent?.toFixed(2) ?? '–']),
      ),
      '',
    );
    if (g.aggregator.length > 0) {
      out.push(
        `Whole aggregator (${g.client}, Kafka → ClickHouse), the same stream size over more keys:`,
        '',
        ...table(
          ['keys', 'ev/s/core', 'CPU µs/event', 'window rows written', 'verified'],
          g.aggregator.map((p) => [
            n0(p.keys),
            n0(p.perCoreSec),
            p.cpuUsPerEvent.toFixed(1),
            n0(p.windowRows),
            p.verified ? 'yes' : '**no**',
          ]),
        ),
        '',
      );
      const fit = perRowFit(g.aggregator);
      if (fit)
        out.push(
          `A least-squares fit over these runs (CPU per event against window rows per event): **${fit.perEventUs.toFixed(1)} µs per event plus ${fit.perRowUs.toFixed(1)} µs per window row** (R² ${fit.r2.toFixed(3)}; it predicts ${fit.predicted.map((v) => v.toFixed(0)).join(' / ')} µs per event against the measured ${g.aggregator.map((p) => p.cpuUsPerEvent.toFixed(0)).join(' / ')}).`,
          '',
        );
    }
  }
  if (g && g.aggregator.some((p) => p.inserts && p.inserts.length > 0)) out.push(...waitsByKeys(g.aggregator), '');
  if (r.memory) out.push('Memory against keys: see (6); the fit is in the summary table.');
  return out;
}

/** Where the aggregator waited on ClickHouse at each key count: a row per table, a column per key count. */
function waitsByKeys(points: NonNullable<BenchReport['growth']>['aggregator']): string[] {
  const tables = [...new Set(points.flatMap((p) => (p.inserts ?? []).map((i) => i.table)))];
  const at = (p: (typeof points)[number], table: string) => p.inserts?.find((i) => i.table === table);
  const total = (table: string) => points.reduce((a, p) => a + (at(p, table)?.ms ?? 0), 0);
  tables.sort((a, b) => total(b) - total(a));
  return [
    'Where the whole aggregator waited on ClickHouse at each key count (wall time; rows in brackets; "read T": queries whose first table is T):',
    '',
    ...table(
      ['table', ...points.map((p) => `${n0(p.keys)} keys`)],
      [
        ...tables.map((t) => [
          t,
          ...points.map((p) => {
            const i = at(p, t);
            return i ? `${ms(i.ms)} (${n0(i.rows)})` : '–';
          }),
        ]),
        ['**all**', ...points.map((p) => `**${ms((p.inserts ?? []).reduce((a, i) => a + i.ms, 0))}**`)],
      ],
    ),
  ];
}

function profileTable(title: string, p: ProfileSummary, lead: string[] = []): string[] {
  return [
    `### ${title}`,
    '',
    ...lead.flatMap((l) => [l, '']),
    `JavaScript thread, ${ms(p.totalMs)} sampled. By area:`,
    '',
    ...table(
      ['area', 'self time', 'share'],
      p.areas.slice(0, 10).map((a) => [a.area, ms(a.selfMs), pct(a.share)]),
    ),
    '',
    'Top functions by self time:',
    '',
    ...table(
      ['function', 'where', 'self time', 'share'],
      p.functions.slice(0, 15).map((f) => [`\`${f.name}\``, f.where.replace(/:1$/, ''), ms(f.selfMs), pct(f.share)]),
    ),
    '',
  ];
}

function profileSection(r: BenchReport): string[] {
  const out: string[] = [];
  if (r.consume?.profile?.profile) out.push(...profileTable(`Aggregator (${r.consume.faster})`, r.consume.profile.profile));
  const g = r.growth?.profile;
  if (g) {
    out.push(
      ...profileTable(`Aggregator at ${n0(g.keys)} keys (${r.growth?.client})`, g.profile, [
        `${n0(g.events)} events made ${n0(g.windowRows)} window rows and ${n0(g.csiRows)} CSI rows (${n2(g.windowRows / g.events)} and ${n2(g.csiRows / g.events)} per event; ${n2(r.consume?.profile ? (r.consume.profile.windowRows ?? 0) / r.consume.profile.events : Number.NaN)} window rows per event at ${n0(r.consume?.stream.keys)} keys). CPU ${g.cpuUsPerEvent.toFixed(1)} µs per event with the profiler on. Waited on ClickHouse: ${[
          ...g.inserts,
        ]
          .sort((a, b) => b.ms - a.ms)
          .slice(0, 5)
          .map((i) => `${i.table} ${ms(i.ms)}`)
          .join(', ')}.`,
      ]),
    );
  }
  if (r.ingest?.profile) out.push(...profileTable('Ingest (rdkafka)', r.ingest.profile));
  if (out.length === 0) return [];
  return [
    '## Where the time goes',
    '',
    '"(idle)" is the JavaScript thread waiting — on chDB inserts and queries, on librdkafka, on the network — whose own threads do that work and are counted in the per-core figures but not sampled here. Reading and what would move the targets: docs/benchmarks.md.',
    '',
    ...missedTargets(r),
    ...out,
  ];
}

const shareOf = (p: ProfileSummary | undefined, area: string): number | undefined => p?.areas.find((a) => a.area === area)?.share;
const pctOr = (v: number | undefined): string => (v === undefined ? 'n/a' : pct(v));

/** For each missed target this run measured: where its time went, from the figures above, and what would move it. */
function missedTargets(r: BenchReport): string[] {
  const lines: string[] = [];
  const c = r.consume;
  const f = c?.byClient[c.faster];
  if (c && f && (f.aggregatorToRaw < TARGETS.aggregatorToRaw || f.aggregatorToAlternative < TARGETS.aggregatorToAlternative)) {
    const p = c.profile?.profile;
    const waits = [...f.inserts].sort((a, b) => b.ms - a.ms).slice(0, 3);
    lines.push(
      `- **(2) (5) aggregator throughput** (${n2(f.aggregatorToRaw)} of raw consume, ${n2(f.aggregatorToAlternative)} of the alternative): the JavaScript thread idle ${pctOr(shareOf(p, '(idle)'))} (waiting on chDB), in the garbage collector ${pctOr(shareOf(p, '(garbage collector)'))}; the longest waits ${waits.map((i) => `${i.table} ${ms(i.ms)} (${n0(i.rows)} rows)`).join(', ')}. Each event's payload is written twice (raw_events and event_versions); what would move it: one payload write per event, and fewer objects per event on the hot path.`,
    );
  }
  const agg = r.growth?.aggregator ?? [];
  const costs = agg.map((p) => p.cpuUsPerEvent);
  if (agg.length >= 2 && Math.max(...costs) / Math.min(...costs) > TARGETS.aggregatorGrowth) {
    const fit = perRowFit(agg);
    const g = r.growth?.profile;
    const waited = (pick: (table: string) => boolean) =>
      (g?.inserts ?? []).filter((i) => pick(i.table)).reduce((a, i) => a + i.ms, 0);
    const all = waited(() => true);
    const csi = waited((t) => t === 'csi_1m');
    const readBack = waited((t) => t === 'read kpi_1m' || t === 'read probe_kpi_1m');
    const windows = waited((t) => t === 'kpi_1m' || t === 'probe_kpi_1m');
    lines.push(
      `- **(7) aggregator CPU per event against keys** (×${n2(Math.max(...costs) / Math.min(...costs))}): with more keys each event makes more window rows, and ${fit ? `a window row costs ${fit.perRowUs.toFixed(0)} µs against ${fit.perEventUs.toFixed(0)} µs an event (the fit in (7))` : 'window rows cost more than events (see (7))'}${g ? `. Of the ${ms(all)} the aggregator waited on ClickHouse at ${n0(g.keys)} keys, the CSI rows took ${ms(csi)} (${pct(csi / all)}) to insert and ${ms(readBack)} (${pct(readBack / all)}) to read back the minutes just written; the window rows ${ms(windows)} (${pct(windows / all)}); the garbage collector had ${pctOr(shareOf(g.profile, '(garbage collector)'))} of the JavaScript thread` : ''}. What would move it: the CSI scored from the rows the flush just wrote (no read back) or by a role of its own off the aggregator's cores, a smaller stored explanation per CSI row, and fewer objects per window row.`,
    );
  }
  const i = r.ingest;
  const fi = i?.byClient[i.faster];
  if (i && fi && fi.ingestToProduce < TARGETS.ingestToProduce) {
    lines.push(
      `- **(3) ingest ÷ raw produce** (${n2(fi.ingestToProduce)}): zod ${pctOr(shareOf(i.profile, 'zod'))} of the JavaScript thread, the garbage collector ${pctOr(shareOf(i.profile, '(garbage collector)'))}, the ingest service ${pctOr(shareOf(i.profile, 'services/ingest'))}. What would move it: a validator compiled from the same schemas for valid records, and Avro encoded straight from the parsed body.`,
    );
  }
  const b = r.freshness?.breakdown;
  if (r.freshness && b && r.freshness.pipeline.p99Ms > TARGETS.freshnessP99Ms) {
    lines.push(
      `- **(4) freshness p99** (${ms(r.freshness.pipeline.p99Ms)}): close → stored p99 ${ms(b.stored.p99Ms)}, stored → readable p99 ${ms(b.read.p99Ms)}, one \`GET /api/v1/csi\` p99 ${ms(b.csiAnswer.p99Ms)} under the load. What would move it: the CSI materialised in the flush that writes the window (no separate tick), and a lighter CSI read.`,
    );
  }
  const mem = r.memory?.byKeys[r.memory.byKeys.length - 1];
  if (mem && mem.open.rssBytesPerKey > TARGETS.memoryBytesPerKey) {
    lines.push(
      `- **(6) RSS per open key** (${kb(mem.open.rssBytesPerKey)} against ${kb(mem.open.heapBytesPerKey)} of heap, whose target is met): the difference is the allocator's and the heap's slack over the live objects. What would move it: fewer, larger allocations per window (state in typed arrays rather than objects).`,
    );
  }
  const scale = r.readScale;
  if (scale && Math.max(scale.pipeline.kpisMs, scale.pipeline.kqisMs, scale.pipeline.csiMs) > READ_SCALE_TARGET_MS) {
    const queries = scale.csiQueries ?? [];
    lines.push(
      `- **(9) read at scale** (KPIs / KQIs / CSI ${ms(scale.pipeline.kpisMs)} / ${ms(scale.pipeline.kqisMs)} / ${ms(scale.pipeline.csiMs)}; the alternative's KPIs ${ms(scale.alternative.kpisMs)}, ×${n2(scale.alternative.kpisMs / scale.pipeline.kpisMs)} the pipeline's, in the same phase): one CSI read is ${queries.length} queries one after another, ${ms(queries.reduce((a, q) => a + q.ms, 0))} in all (the slowest ${[
        ...queries,
      ]
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 3)
        .map((q) => `${q.table} ${ms(q.ms)}`)
        .join(', ')}). What would move it: the rollup check and each table's day and minute reads as one query.`,
    );
  }
  return lines.length === 0
    ? []
    : ['Missed targets: where their time went in this run, and what would move them.', '', ...lines, ''];
}
