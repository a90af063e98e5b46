import type { RunnerTask } from 'vitest';

/**
 * What each scenario reports besides pass/fail: the load it held, the faults it injected
 * and the events it lost. Carried in the test's meta (serialisable), read by the summary
 * reporter. Record before asserting, so a failing run still shows its figures.
 */
export interface ScenarioFigures {
  scenario: string;
  load: string;
  faults: string;
  /** Acknowledged events missing from the store (must be 0). */
  lost: number;
  /** Events counted more than once (must be 0). */
  duplicated: number;
  /** Further figures worth a line (latencies, memory, how long recovery took). */
  notes: string[];
}

declare module 'vitest' {
  interface TaskMeta {
    reliability?: ScenarioFigures;
  }
}

export function recordFigures(task: RunnerTask, figures: ScenarioFigures): void {
  task.meta.reliability = figures;
}

export const count = (n: number): string => Math.round(n).toLocaleString('en-US');
