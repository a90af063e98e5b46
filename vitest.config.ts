import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Real Kafka/ClickHouse containers need a Docker engine: `npm run test:containers` (vitest.containers.config.ts).
    // The reliability suite (faults, minutes of load) runs on its own: `npm run test:reliability` (vitest.reliability.config.ts).
    // tests/multiprocess (the scale-out test: aggregator processes, one killed, one added) is part of it.
    exclude: [...configDefaults.exclude, 'tests/containers/**', 'tests/reliability/**'],
    // Each test file in its own process: chDB binds one data path per process, and
    // native clients (librdkafka) are easier to reason about in isolation.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
