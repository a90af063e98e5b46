import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { RESULTS_DIR } from './lib/worker-host.ts';
import { CLIENTS, measureConsume } from './measure/consume.ts';
import { measureFreshness } from './measure/freshness.ts';
import { measureGrowth } from './measure/growth.ts';
import { comcastFile, measureComcast, measureIncidentQuality } from './measure/incidents.ts';
import { measureIngest } from './measure/ingest.ts';
import { measureMemory } from './measure/memory.ts';
import { measureRawInsert } from './measure/raw-insert.ts';
import { measureReadScale } from './measure/read-scale.ts';
import { measureReads } from './measure/reads.ts';
import { describeMachine } from './report/machine.ts';
import { renderMarkdown } from './report/markdown.ts';
import type { BenchReport } from './report/types.ts';

/**
 * `npm run bench [-- --quick] [--runs N] [--only consume,ingest,freshness,memory,growth] [--no-profile]`
 *
 * A program, not a test: it measures, prints, and writes bench/results/<stamp>.{md,json}
 * (and latest.{md,json} for a full run of every phase). Everything runs on loopback in
 * child processes (bench/worker.ts); the broker is always a process of its own.
 */

const PHASES = ['consume', 'ingest', 'freshness', 'memory', 'growth', 'incidents', 'reads', 'raw-insert', 'read-scale'] as const;
type Phase = (typeof PHASES)[number];

function parseArgs(argv: string[]) {
  const has = (flag: string) => argv.includes(flag);
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
  };
  const quick = has('--quick');
  const only = value('--only')
    ?.split(',')
    .map((s) => s.trim()) as Phase[] | undefined;
  for (const p of only ?? [])
    if (!PHASES.includes(p)) throw new Error(`--only: unknown phase ${p} (phases: ${PHASES.join(', ')})`);
  return {
    quick,
    phases: new Set<Phase>(only ?? PHASES),
    runs: Number(value('--runs') ?? (quick ? 1 : 3)),
    events: quick ? 40_000 : 120_000,
    ingestEvents: quick ? 30_000 : 150_000,
    freshnessSec: quick ? 25 : 90,
    memoryKeys: quick ? [10_000, 50_000] : [10_000, 100_000, 1_000_000],
    engineKeys: quick ? [1_000, 10_000] : [1_000, 10_000, 100_000],
    aggregatorKeys: quick ? [] : [1_000, 10_000, 100_000],
    profile: !quick && !has('--no-profile'),
    /** Ingest at a quarter and half of its ceiling: too short to mean anything in a quick run. */
    rateSweep: !quick,
    complete: only === undefined,
  };
}

const args = parseArgs(process.argv.slice(2));
const log = (line: string) => process.stdout.write(`${line}\n`);
const started = performance.now();
const report: BenchReport = {
  machine: await describeMachine(),
  mode: args.quick ? 'quick' : 'full',
  settings: {
    runs: args.runs,
    events: args.events,
    ingestEvents: args.ingestEvents,
    freshnessSec: args.freshnessSec,
    memoryKeys: args.memoryKeys,
  },
  durationSec: 0,
  errors: {},
};
log(
  `cxvitals bench (${report.mode}): ${report.machine.cpu}, ${report.machine.cores} cores, Node ${report.machine.node}, commit ${report.machine.commit}`,
);

async function phase<T>(name: Phase, work: () => Promise<T>): Promise<T | undefined> {
  if (!args.phases.has(name)) return undefined;
  const t = performance.now();
  log(`== ${name}`);
  try {
    const value = await work();
    log(`   ${name} done in ${Math.round((performance.now() - t) / 1000)} s`);
    return value;
  } catch (err) {
    report.errors[name] = (err as Error).message;
    log(`   ${name} FAILED: ${(err as Error).message}`);
    return undefined;
  }
}

report.consume = await phase('consume', () =>
  measureConsume({ runs: args.runs, events: args.events, keys: 64, profile: args.profile, ablation: !args.quick, log }),
);
report.ingest = await phase('ingest', () =>
  measureIngest({ runs: args.runs, events: args.ingestEvents, profile: args.profile, rateSweep: args.rateSweep, log }),
);
report.freshness = await phase('freshness', () =>
  measureFreshness({ client: 'rdkafka', durationSec: args.freshnessSec, eventsPerSec: 1000, speed: 10 }),
);
report.memory = await phase('memory', () => measureMemory({ keys: args.memoryKeys, log }));
report.growth = await phase('growth', () =>
  measureGrowth({
    engineKeys: args.engineKeys,
    aggregatorKeys: args.aggregatorKeys,
    events: args.events,
    client: report.consume?.faster ?? CLIENTS[0] ?? 'rdkafka',
    profile: args.profile,
    log,
  }),
);
if (report.growth && report.consume) {
  // The consume phase's run is the first point of the key sweep.
  const f = report.consume.byClient[report.growth.client];
  if (f && report.growth.aggregator.length > 0) {
    report.growth.aggregator.unshift({
      keys: report.consume.stream.keys,
      events: report.consume.stream.events,
      perCoreSec: f.aggregatorPerCoreSec,
      cpuUsPerEvent: 1e6 / f.aggregatorPerCoreSec,
      windowRows: report.consume.runs.find((r) => r.client === report.growth?.client)?.aggregator.windowRows ?? 0,
      verified: f.verified,
      inserts: f.inserts,
    });
  }
}
await phase('incidents', async () => {
  const quality = await measureIncidentQuality({ quietDays: args.quick ? 1 : 2, outageHours: args.quick ? 3 : 6, log });
  await measureComcast(comcastFile(), log);
  return quality;
});
// The heaviest read the limits allow, 8 at once, against /livez and ingest (issue 15, finding 2).
report.reads = await phase('reads', () =>
  measureReads({ days: args.quick ? 2 : 7, concurrency: 8, seconds: args.quick ? 10 : 20, log }),
);
// The raw_events write as JSONEachRow row objects (before) and TabSeparated lines (now), side by side (issue 17).
report.rawInsert = await phase('raw-insert', () =>
  measureRawInsert({ events: args.quick ? 40_000 : 120_000, batch: 5_000, rounds: args.quick ? 3 : 5, log }),
);
// One service's KPIs, KQIs and CSI at step=1d over 90 days, aggregates against raw rows (issue 17).
report.readScale = await phase('read-scale', () =>
  measureReadScale({ events: args.quick ? 1_000_000 : 10_000_000, days: 90, rounds: args.quick ? 3 : 5, log }),
);
report.durationSec = (performance.now() - started) / 1000;

mkdirSync(RESULTS_DIR, { recursive: true });
const markdown = renderMarkdown(report);
const stamp = report.machine.date.replace(/[:.]/g, '-');
const base = path.join(RESULTS_DIR, `${stamp}-${report.mode}`);
writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(`${base}.md`, markdown);
const latest = report.mode === 'full' && args.complete ? 'latest' : `${report.mode}-latest`;
writeFileSync(path.join(RESULTS_DIR, `${latest}.json`), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(path.join(RESULTS_DIR, `${latest}.md`), markdown);
log('');
log(markdown);
log(
  `written: ${path.relative(process.cwd(), base)}.{md,json} and ${path.relative(process.cwd(), path.join(RESULTS_DIR, latest))}.{md,json} in ${Math.round(report.durationSec)} s`,
);
process.exit(Object.keys(report.errors).length > 0 ? 1 : 0);
