import { runWorker } from '../lib/worker-host.ts';
import type { MemoryRun } from '../workers/memory.ts';

/**
 * Figure (6) and the keys half of (7) for memory: bytes per active window key at each
 * key count, in a fresh process each (heap and RSS deltas around a full GC); per source
 * at one key count; and with ten events per key, which shows the part that grows with
 * events rather than keys.
 */

export interface MemoryPhase {
  byKeys: MemoryRun[];
  bySource: MemoryRun[];
  tenEventsPerKey: MemoryRun;
}

const options = { exposeGc: true, maxOldSpaceMb: 16_000, timeoutMs: 600_000 };

export async function measureMemory(o: { keys: number[]; log: (line: string) => void }): Promise<MemoryPhase> {
  const byKeys: MemoryRun[] = [];
  for (const keys of o.keys) {
    const run = await runWorker<MemoryRun>('memory', { keys, eventsPerKey: 1 }, options);
    o.log(
      `  ${keys.toLocaleString('en-US')} keys: ${Math.round(run.open.heapBytesPerKey)} B heap/key open, ${Math.round(run.written.heapBytesPerKey)} B written`,
    );
    byKeys.push(run);
  }
  const sourceKeys = Math.min(100_000, Math.max(...o.keys));
  const bySource: MemoryRun[] = [];
  for (const only of ['probe', 'contact', 'survey', 'social'] as const) {
    bySource.push(await runWorker<MemoryRun>('memory', { keys: sourceKeys, eventsPerKey: 1, only }, options));
  }
  const tenEventsPerKey = await runWorker<MemoryRun>('memory', { keys: 10_000, eventsPerKey: 10 }, options);
  return { byKeys, bySource, tenEventsPerKey };
}
