import { defineConfig } from 'vitest/config';

/**
 * The reliability suite (tests/reliability): each scenario runs a known stream through
 * real processes, injects a fault, and checks the stored totals against the ground
 * truth. One file at a time — they load the machine, and the sustained-load scenario
 * measures against the machine's own ceiling — and one summary table at the end
 * (tests/reliability/support/summary-reporter.ts). Bounded: about 8 minutes in all.
 */
export default defineConfig({
  test: {
    include: ['tests/reliability/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
    reporters: ['default', './tests/reliability/support/summary-reporter.ts'],
  },
});
