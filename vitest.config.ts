import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration suites share one Redis and one PostgreSQL; files run one at a time so their
    // queues and databases do not interfere, tests inside a file still run in order.
    fileParallelism: false,
    pool: 'forks',
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
