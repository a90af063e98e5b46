import { runWorker } from '../lib/worker-host.ts';
import type { ReadScaleRun } from '../workers/read-scale.ts';

/**
 * Read at scale (issue 17): one service's KPIs, KQIs and CSI at step=1d over 90 days with
 * millions of raw events stored, from the aggregates and by the alternative's SQL over raw
 * rows, in one process. Target: ≤ 200 ms for the pipeline's reads.
 */

export const READ_SCALE_TARGET_MS = 200;

export async function measureReadScale(o: {
  events: number;
  days: number;
  rounds: number;
  log: (line: string) => void;
}): Promise<ReadScaleRun> {
  const run = await runWorker<ReadScaleRun>(
    'read-scale',
    { events: o.events, days: o.days, regions: 4, rounds: o.rounds },
    { timeoutMs: 3_600_000, maxOldSpaceMb: 8_000 },
  );
  const r = run;
  o.log(
    `  ${r.events.toLocaleString('en-US')} raw events over ${r.days} days (${r.regions} regions), ${r.windowRows.toLocaleString('en-US')} window rows; generated in ${r.generateSec.raw.toFixed(0)} s (raw) and ${r.generateSec.windows.toFixed(0)} s (windows)`,
  );
  o.log(
    `  before the rollup (one-minute rows): KPIs ${r.oneMinute.kpisMs.toFixed(0)} ms, KQIs ${r.oneMinute.kqisMs.toFixed(0)} ms, CSI ${r.oneMinute.csiMs.toFixed(0)} ms; rolling ${r.days} days up took ${r.rollupSec.toFixed(1)} s`,
  );
  o.log(
    `  step=1d, medians of ${o.rounds}, days rolled up: pipeline KPIs ${r.pipeline.kpisMs.toFixed(0)} ms, KQIs ${r.pipeline.kqisMs.toFixed(0)} ms, CSI ${r.pipeline.csiMs.toFixed(0)} ms; alternative KPIs over raw rows ${r.alternative.kpisMs.toFixed(0)} ms (×${(r.alternative.kpisMs / r.pipeline.kpisMs).toFixed(1)} the pipeline's KPIs); day 1 Serviceability ${r.check.pipeline} vs ${r.check.alternative}`,
  );
  o.log(`  one CSI read, query by query: ${r.csiQueries.map((q) => `${q.table} ${q.ms.toFixed(0)} ms`).join(', ')}`);
  return run;
}
