import { defineConfig } from 'vitest/config';

/** The multi-process scale-out test alone (see the note in vitest.config.ts). */
export default defineConfig({
  test: {
    include: ['tests/multiprocess/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
