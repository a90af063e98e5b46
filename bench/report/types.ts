import type { ConsumePhase } from '../measure/consume.ts';
import type { FreshnessResult } from '../measure/freshness.ts';
import type { GrowthPhase } from '../measure/growth.ts';
import type { IngestPhase } from '../measure/ingest.ts';
import type { MemoryPhase } from '../measure/memory.ts';
import type { RawInsertPhase } from '../measure/raw-insert.ts';
import type { ReadsResult } from '../measure/reads.ts';
import type { ReadScaleRun } from '../workers/read-scale.ts';
import type { Machine } from './machine.ts';

/** Everything one `npm run bench` measured: written as JSON, rendered as Markdown. */
export interface BenchReport {
  machine: Machine;
  mode: 'full' | 'quick';
  settings: { runs: number; events: number; ingestEvents: number; freshnessSec: number; memoryKeys: number[] };
  durationSec: number;
  consume?: ConsumePhase;
  ingest?: IngestPhase;
  freshness?: FreshnessResult;
  reads?: ReadsResult;
  rawInsert?: RawInsertPhase;
  readScale?: ReadScaleRun;
  memory?: MemoryPhase;
  growth?: GrowthPhase;
  errors: Record<string, string>;
}

/** The issues' targets (8, then 17 for an operator's scale): goals printed beside the figures, never asserted. */
export const TARGETS = {
  aggregatorPerCoreSec: 150_000,
  aggregatorToRaw: 0.6,
  /** Issue 17: at least 1.5 × the raw-rows + SQL alternative's throughput. */
  aggregatorToAlternative: 1.5,
  ingestPerCoreSec: 100_000,
  /** Issue 17: ingest at least 0.6 of raw produce with the same client. */
  ingestToProduce: 0.6,
  /** Issue 17: window close → CSI readable within 1 s at p99 (issue 8 asked 2 s). */
  freshnessP99Ms: 1_000,
  memoryBytesPerKey: 2_048,
  /** Issue 17: the aggregator's CPU per event at the most keys ÷ at the fewest. */
  aggregatorGrowth: 1.5,
} as const;
