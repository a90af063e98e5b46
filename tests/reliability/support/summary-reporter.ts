import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';
import type { ScenarioFigures } from './figures.ts';

/**
 * Prints one table after the reliability suite: per scenario, the load held, the faults
 * injected, events lost and counted twice, the outcome and the duration; and writes it to
 * bench/results/reliability-latest.{md,json} for the README's figures. The crash test
 * (tests/reliability/crash.test.ts) predates the figures channel: its row is described
 * from its specification and its outcome.
 */

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');

const CRASH: Omit<ScenarioFigures, 'lost' | 'duplicated'> = {
  scenario: 'aggregator SIGKILLed at random points',
  load: '5,000 events in 40 batches (probe + contact), 589 corrections (counts, time moved up to 2 min, some to another region), 324 retractions, 11,000 re-sends incl. superseded versions: 16,913 messages',
  faults: 'SIGKILL of the aggregator process ≥ 4 times, restarted each time',
  notes: [
    'stored totals (last version of every event not retracted) and the raw rows of the live events asserted exactly against the ground truth',
  ],
};

interface Row extends ScenarioFigures {
  file: string;
  test: string;
  outcome: string;
  seconds: number;
}

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const rows: Row[] = [];
    for (const module of modules) {
      const file = path.relative(ROOT, module.moduleId);
      for (const test of module.children.allTests()) {
        const outcome = test.result().state;
        const figures = test.meta().reliability;
        const seconds = (test.diagnostic()?.duration ?? 0) / 1000;
        const base =
          figures ??
          (file.endsWith('crash.test.ts')
            ? { ...CRASH, lost: outcome === 'passed' ? 0 : Number.NaN, duplicated: outcome === 'passed' ? 0 : Number.NaN }
            : { scenario: test.name, load: '', faults: '', lost: Number.NaN, duplicated: Number.NaN, notes: [] });
        rows.push({ ...base, file, test: test.name, outcome, seconds });
      }
    }
    if (rows.length === 0) return;
    const cell = (s: string) => s.replaceAll('|', '\\|');
    const num = (n: number) => (Number.isFinite(n) ? String(n) : '?');
    const lines = [
      '| scenario | load held | faults injected | lost | counted twice | result | time |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...rows.map(
        (r) =>
          `| ${cell(r.scenario)} | ${cell(r.load)} | ${cell(r.faults)} | ${num(r.lost)} | ${num(r.duplicated)} | ${r.outcome} | ${Math.round(r.seconds)} s |`,
      ),
    ];
    const notes = rows.filter((r) => r.notes.length > 0).map((r) => `- ${r.scenario}: ${r.notes.join('; ')}`);
    const total = rows.reduce((s, r) => s + r.seconds, 0);
    const text = [
      '',
      `Reliability suite — ${new Date().toISOString()} — ${rows.length} scenario(s), ${Math.round(total)} s`,
      '',
      ...lines,
      '',
      ...notes,
      '',
    ].join('\n');
    process.stdout.write(text);
    const out = path.join(ROOT, 'bench', 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, 'reliability-latest.md'), text);
    writeFileSync(path.join(out, 'reliability-latest.json'), `${JSON.stringify(rows, null, 2)}\n`);
  }
}
