import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * `npm test`: every suite (vitest's unit, integration and browser end-to-end projects, and mediasoup's own
 * test suite against the worker we built), then one plain line `N passed, N failed` summing them all.
 */
interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-test-'));
const extraArgs = process.argv.slice(2);

const suites: { name: string; command: string[]; report: string }[] = [
  {
    name: 'vitest',
    command: ['npx', 'vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}/vitest.json`, ...extraArgs],
    report: `${out}/vitest.json`,
  },
  {
    name: 'mediasoup worker self-test',
    command: ['bash', 'media-worker/worker-build/selftest.sh', `${out}/mediasoup.json`],
    report: `${out}/mediasoup.json`,
  },
];

const total: Counts = { passed: 0, failed: 0, skipped: 0 };
let exitCode = 0;
for (const suite of suites) {
  console.log(`\n=== ${suite.name} ===`);
  const run = spawnSync(suite.command[0]!, suite.command.slice(1), { stdio: 'inherit' });
  const counts = readJestStyleReport(suite.report);
  if (run.status !== 0) exitCode = 1;
  if (!counts) {
    // A runner that died before writing its report still counts as a failure, never as silence.
    console.log(`${suite.name}: no report (exit ${run.status ?? run.signal})`);
    total.failed += 1;
    continue;
  }
  // A runner can fail outside any test (a crashed worker process, an unhandled error): that is a failure too.
  if (run.status !== 0 && counts.failed === 0) {
    console.log(`${suite.name}: exited ${run.status ?? run.signal} with errors outside the tests (see above); counted as 1 failure`);
    for (const file of unfinishedFiles(suite.report)) console.log(`  not finished cleanly: ${file}`);
    counts.failed = 1;
  }
  console.log(`${suite.name}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
  total.passed += counts.passed;
  total.failed += counts.failed;
  total.skipped += counts.skipped;
}

fs.rmSync(out, { recursive: true, force: true });
if (total.failed > 0) exitCode = 1;
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(exitCode);

/** vitest's json reporter writes jest's report shape, so one reader serves both. */
function readJestStyleReport(file: string): Counts | null {
  if (!fs.existsSync(file)) return null;
  const report = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, number>;
  return {
    passed: report.numPassedTests ?? 0,
    failed: report.numFailedTests ?? 0,
    skipped: (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0),
  };
}

/** Test files the report does not mark as passed or failed: where a runner process died. */
function unfinishedFiles(file: string): string[] {
  const report = JSON.parse(fs.readFileSync(file, 'utf8')) as { testResults?: { name: string; status: string; message?: string }[] };
  return (report.testResults ?? [])
    .filter((r) => r.status !== 'passed' || r.message)
    .map((r) => `${path.relative(process.cwd(), r.name)} (${r.status}${r.message ? `: ${r.message.slice(0, 200)}` : ''})`);
}
