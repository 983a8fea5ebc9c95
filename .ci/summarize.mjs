// Print the plain "N passed, N failed" line CI reads, from vitest's JSON report; exit non-zero
// on any failure, on zero tests, or when vitest itself failed.
import { readFileSync } from 'node:fs';

const [reportPath, vitestStatus] = process.argv.slice(2);
let report;
try {
  report = JSON.parse(readFileSync(reportPath, 'utf8'));
} catch (e) {
  console.log('0 passed, 0 failed');
  console.error(`no vitest JSON report at ${reportPath}: ${e.message}`);
  process.exit(1);
}
const passed = report.numPassedTests ?? 0;
// A failed test fails its describe blocks and file too: count tests, plus files that failed with no
// failed test (an import error or a failing hook), which report no test at all.
const brokenFiles = (report.testResults ?? []).filter(
  (f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed'),
).length;
const failed = (report.numFailedTests ?? 0) + brokenFiles;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
// A skipped test is not a passed one: this project does not ship skips.
if (failed > 0 || skipped > 0 || passed === 0 || Number(vitestStatus) !== 0) process.exit(1);
