import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * `npm test`: the gates (type check, Deno check, lint and format), every suite (vitest's unit, integration and
 * browser end-to-end projects, and mediasoup's own test suite against the worker we built), then one plain line
 * `N passed, N failed` summing them all.
 */
interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-test-'));
const extraArgs = process.argv.slice(2);

/** Checks that pass or fail as a whole; each counts as one test. */
const gates: { name: string; command: string[] }[] = [
  { name: 'typecheck (tsc --noEmit, every tier, bench, scripts, tests)', command: ['npx', 'tsc', '--noEmit', '-p', '.'] },
  { name: 'deno check (the Deno entry)', command: ['npx', 'deno', 'check', 'signaling/deno.ts'] },
  { name: 'lint and format (biome check)', command: ['npx', 'biome', 'check', '--error-on-warnings', '.'] },
];

const suites: { name: string; command: string[]; report: string }[] = [
  {
    name: 'vitest',
    command: [
      'npx',
      'vitest',
      'run',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${out}/vitest.json`,
      ...extraArgs,
    ],
    report: `${out}/vitest.json`,
  },
  {
    name: 'mediasoup worker self-test',
    command: ['bash', 'media-worker/worker-build/selftest.sh', `${out}/mediasoup.json`],
    report: `${out}/mediasoup.json`,
  },
];

const total: Counts = { passed: 0, failed: 0, skipped: 0 };
console.log('\n=== gates ===');
for (const gate of gates) {
  const run = spawnSync(gate.command[0]!, gate.command.slice(1), { stdio: 'inherit' });
  const ok = run.status === 0;
  console.log(`${ok ? 'passed' : 'FAILED'}: ${gate.name}`);
  total[ok ? 'passed' : 'failed'] += 1;
}
for (const suite of suites) {
  console.log(`\n=== ${suite.name} ===`);
  const run = spawnSync(suite.command[0]!, suite.command.slice(1), { stdio: 'inherit' });
  const counts = readJestStyleReport(suite.report);
  if (!counts) {
    // A runner that died before writing its report still counts as a failure, never as silence.
    console.log(`${suite.name}: no report (exit ${run.status ?? run.signal})`);
    total.failed += 1;
    continue;
  }
  // A runner can fail outside any test (a crashed test process, an unhandled error): that is a failure too.
  if (run.status !== 0 && counts.failed === 0) {
    console.log(`${suite.name}: exited ${run.status ?? run.signal} with errors outside the tests (see above): 1 failure`);
    counts.failed = 1;
  }
  console.log(`${suite.name}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
  total.passed += counts.passed;
  total.failed += counts.failed;
  total.skipped += counts.skipped;
}

fs.rmSync(out, { recursive: true, force: true });
console.log(`${total.skipped} skipped`);
console.log(`${total.passed} passed, ${total.failed} failed`);
process.exit(total.failed > 0 ? 1 : 0);

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
