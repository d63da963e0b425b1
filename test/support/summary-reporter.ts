import type { Reporter, TestModule } from 'vitest/node';
import { readFaultReport } from './fault-report.ts';

/**
 * Prints the fault suite's report (when fault tests ran) and one plain closing line,
 * `Tests: N passed, N failed, N skipped`, that any CI can read.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    const faults = process.env.BP_FAULT_REPORT ? readFaultReport(process.env.BP_FAULT_REPORT) : [];
    if (faults.length > 0) {
      const lines = [
        '',
        'Fault suite report',
        '',
        '| fault | accepted | published | failed with reason | lost | duplicated |',
        '| --- | --- | --- | --- | --- | --- |',
      ];
      for (const f of faults)
        lines.push(
          `| ${f.fault} | ${f.accepted} | ${f.published} | ${f.failedWithReason} | ${f.lost} | ${f.duplicated} |`,
        );
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    const counts = { passed: 0, failed: 0, skipped: 0, pending: 0 };
    for (const mod of modules) {
      for (const test of mod.children.allTests()) counts[test.result().state] += 1;
      // A file that failed to load has no tests to count but must still fail the line.
      if (mod.state() === 'failed' && [...mod.children.allTests()].length === 0) counts.failed += 1;
    }
    counts.failed += unhandledErrors.length;
    process.stdout.write(
      `\nTests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped + counts.pending} skipped\n`,
    );
  }
}
