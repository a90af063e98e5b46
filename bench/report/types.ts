import type { ConsumePhase } from '../measure/consume.ts';
import type { FreshnessResult } from '../measure/freshness.ts';
import type { GrowthPhase } from '../measure/growth.ts';
import type { IngestPhase } from '../measure/ingest.ts';
import type { MemoryPhase } from '../measure/memory.ts';
import type { ReadsResult } from '../measure/reads.ts';
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
  memory?: MemoryPhase;
  growth?: GrowthPhase;
  errors: Record<string, string>;
}

/** The targets: goals printed beside the figures, never asserted. */
export const TARGETS = {
  aggregatorPerCoreSec: 150_000,
  aggregatorToRaw: 0.6,
  ingestPerCoreSec: 100_000,
  freshnessP99Ms: 2_000,
  memoryBytesPerKey: 2_048,
} as const;
