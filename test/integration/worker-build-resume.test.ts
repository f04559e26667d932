import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../harness/processes.ts';

/**
 * A newcomer's first build of the mediasoup worker (media-worker/worker-build/build.sh, about 15 minutes on 2
 * busy cores) is interrupted as a person would do it: Ctrl-C to the whole process group after some compile steps.
 * The next run resumes the same build tree instead of starting from zero (ninja counts only what is left), and
 * both runs show progress with an estimate. The real compiler runs, in a cache directory of the test's own; the
 * test stops the second run too, so it costs a minute or two of compiling, not a whole build.
 */
const STEPS_BEFORE_INTERRUPT = 12;

interface Run {
  output: string;
  /** Every "step done/total" progress line, in order. */
  steps: { step: number; total: number }[];
}

/** Starts build.sh, sends SIGINT to its process group once `stop` holds, and resolves when it has exited. */
function buildUntil(cache: string, stop: (run: Run) => boolean, timeoutMs: number): Promise<Run> {
  const child = spawn('nice', ['-n', '10', 'bash', 'media-worker/worker-build/build.sh'], {
    cwd: repoRoot,
    env: { ...process.env, XDG_CACHE_HOME: cache, PARLEY_WORKER_REBUILD: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const run: Run = { output: '', steps: [] };
  let interrupted = false;
  const interrupt = () => {
    if (interrupted) return;
    interrupted = true;
    process.kill(-child.pid!, 'SIGINT');
  };
  const onData = (b: Buffer) => {
    run.output += b.toString();
    run.steps = [...run.output.matchAll(/\[worker-build\] step (\d+)\/(\d+)/g)].map((m) => ({
      step: Number(m[1]),
      total: Number(m[2]),
    }));
    if (stop(run)) interrupt();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const timer = setTimeout(interrupt, timeoutMs);
  return new Promise((resolve) =>
    child.once('close', () => {
      clearTimeout(timer);
      resolve(run);
    }),
  );
}

describe('an interrupted mediasoup-worker build', () => {
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-worker-build-'));
  afterAll(() => fs.rmSync(cache, { recursive: true, force: true }));

  it('resumes where it stopped, with progress and an estimate', { timeout: 20 * 60_000 }, async () => {
    const first = await buildUntil(cache, (r) => (r.steps.at(-1)?.step ?? 0) >= STEPS_BEFORE_INTERRUPT, 12 * 60_000);
    expect(first.output, first.output).toMatch(/building mediasoup-worker/);
    const reached = first.steps.at(-1);
    expect(reached?.step, first.output).toBeGreaterThanOrEqual(STEPS_BEFORE_INTERRUPT);
    expect(first.output).toMatch(/step \d+\/\d+ \(\d+%\), .* so far, about .* left/);
    expect(first.output).toMatch(/interrupted: the next run resumes this build/);
    expect(first.output).not.toMatch(/ERROR/);
    expect(fs.existsSync(path.join(cache, 'parley/mediasoup-worker')), 'the build tree is kept').toBe(true);

    const second = await buildUntil(cache, (r) => r.steps.length > 0, 5 * 60_000);
    expect(second.output, second.output).toMatch(/resuming the interrupted build/);
    expect(second.output).not.toMatch(/meson setup/);
    const resumed = second.steps[0]!;
    console.log(
      `interrupted at step ${reached!.step}/${reached!.total}; the next run had ${resumed.total} steps left (${reached!.total - resumed.total} not redone)`,
    );
    // What finished before the interrupt is not built again (the ones in flight at the interrupt may be).
    expect(resumed.total).toBeLessThanOrEqual(reached!.total - STEPS_BEFORE_INTERRUPT + 4);
  });
});
