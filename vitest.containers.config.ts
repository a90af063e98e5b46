import { defineConfig } from 'vitest/config';

/**
 * `npm run test:containers`: the testcontainers suites (tests/containers/) — the services
 * against real Kafka and ClickHouse containers, the image and the compose stack. Opt-in with
 * CXV_CONTAINER_TESTS=1 where a Docker engine exists; without it each suite reports as skipped
 * with the reason. Kept out of `npm test` (vitest.config.ts), whose CI has no Docker engine.
 */
export default defineConfig({
  test: {
    include: ['tests/containers/**/*.test.ts'],
    pool: 'forks',
    // One suite at a time: each starts its own containers.
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 600_000,
    reporters: ['verbose'],
  },
});
