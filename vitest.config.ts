import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Fault tests append their rows here (inherited by the worker processes); the summary reporter prints them.
process.env.BP_FAULT_REPORT ??= join(tmpdir(), `bp-fault-report-${process.pid}.jsonl`);

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
