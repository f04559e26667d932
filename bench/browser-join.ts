import type { Browser, Page } from 'playwright-core';
// Type only (erased): brings the page's `window.bench` declaration into this program.
import type { JoinPhases } from './baseline/client.ts';
import { launchChromium } from '../harness/browser.ts';
import { token, wsUrl } from '../harness/cluster.ts';
import { buildBenchPage } from './lib/page.ts';
import { percentiles, sleep } from './lib/stats.ts';
import { startBaseline, startParley } from './lib/targets.ts';
import type { Target } from './lib/targets.ts';

/**
 * Join → first remote video frame in headless Chromium: the bare baseline, Parley embedded and Parley
 * distributed, in one run with joins interleaved (baseline, embedded, distributed, baseline, …) so the
 * machine's noise falls on all three alike. One page per target publishes Chromium's fake camera; another
 * page joins, consumes it, times the first painted frame and leaves, `joins` times.
 */
export interface JoinResult {
  target: string;
  joinMs: ReturnType<typeof percentiles>;
  firstFrameMs: ReturnType<typeof percentiles>;
  /** Median ms from the join's start to the end of each step: where the time goes. */
  phasesP50: JoinPhases;
  /** A newcomer to a room of ROOM_PUBLISHERS cameras: its first and its last picture. */
  crowd: { firstFrameMs: ReturnType<typeof percentiles>; everyFrameMs: ReturnType<typeof percentiles> };
}

/** The room a newcomer joins in the second measurement: this many cameras, each consumed at once. */
export const ROOM_PUBLISHERS = 10;

export async function measureBrowserJoin({ joins = 20, crowdJoins = Math.ceil(joins / 2) } = {}): Promise<JoinResult[]> {
  await buildBenchPage();
  const targets: Target[] = [];
  let browser: Browser | undefined;
  try {
    targets.push(await startBaseline(), await startParley('embedded'), await startParley('distributed'));
    browser = await launchChromium();
    const pageOrigin = targets[0]!.url; // the baseline server serves the bench page
    const runs = await Promise.all(targets.map(async (t) => ({ target: t, ...(await preparePages(browser!, pageOrigin, t)) })));
    // 2 warm-up joins per target: the page's first JIT and codec set-up.
    const samples = await interleaved(runs, joins, 2, async (run, i) =>
      run.joiner.evaluate((u) => window.bench.timeJoin(u), await socketUrl(run.target, `joiner-${i}`)),
    );
    const crowd = await measureCrowd(runs, crowdJoins);
    return targets.map((t) => {
      const s = samples.get(t.name)!;
      return {
        target: t.name,
        joinMs: percentiles(s.map((r) => r.joinMs)),
        firstFrameMs: percentiles(s.map((r) => r.firstFrameMs)),
        phasesP50: medians(s.map((r) => r.phases)),
        crowd: crowd.get(t.name)!,
      };
    });
  } finally {
    await browser?.close();
    await Promise.all(targets.map((t) => t.stop()));
  }
}

/** The same pages, now with ROOM_PUBLISHERS cameras in the room (small ones: three rooms' encoders share 2 cores). */
async function measureCrowd(runs: Run[], joins: number) {
  for (const run of runs)
    for (let k = 1; k < ROOM_PUBLISHERS; k++) {
      const url = await socketUrl(run.target, `publisher-${k}`);
      await run.publisher.evaluate((u) => window.bench.publish(u, { width: 320, height: 180 }), url);
    }
  const samples = await interleaved(runs, joins, 1, async (run, i) => {
    const url = await socketUrl(run.target, `newcomer-${i}`);
    return run.joiner.evaluate(([u, n]) => window.bench.timeJoinAll(u, n), [url, ROOM_PUBLISHERS] as const);
  });
  return new Map(
    [...samples].map(([name, s]) => [
      name,
      { firstFrameMs: percentiles(s.map((r) => r.firstFrameMs)), everyFrameMs: percentiles(s.map((r) => r.everyFrameMs)) },
    ]),
  );
}

interface Run {
  target: Target;
  publisher: Page;
  joiner: Page;
}

/**
 * `rounds` measurements per target, interleaved (baseline, embedded, distributed, baseline, …) so the machine's
 * noise falls on all alike, after `warmUp` rounds that are dropped.
 */
async function interleaved<T>(runs: Run[], rounds: number, warmUp: number, measure: (run: Run, i: number) => Promise<T>) {
  const samples = new Map(runs.map((r) => [r.target.name, [] as T[]]));
  for (let i = 0; i < rounds + warmUp; i++) {
    for (const run of runs) {
      const result = await measure(run, i);
      if (i < warmUp) continue;
      samples.get(run.target.name)!.push(result);
      // Let the previous joiner's leave settle so joins do not overlap.
      await sleep(50);
    }
  }
  return samples;
}

function medians(samples: JoinPhases[]): JoinPhases {
  const keys = Object.keys(samples[0] ?? {}) as (keyof JoinPhases)[];
  return Object.fromEntries(keys.map((k) => [k, percentiles(samples.map((s) => s[k] ?? NaN)).p50])) as unknown as JoinPhases;
}

async function preparePages(browser: Browser, origin: string, target: Target): Promise<{ publisher: Page; joiner: Page }> {
  const open = async () => {
    const page = await (await browser.newContext()).newPage();
    page.on('pageerror', (err) => console.error(`[bench page] ${err.message}`));
    await page.goto(origin);
    await page.waitForFunction(() => 'bench' in window);
    return page;
  };
  const [publisher, joiner] = [await open(), await open()];
  await publisher.evaluate((u) => window.bench.publish(u), await socketUrl(target, 'publisher'));
  return { publisher, joiner };
}

async function socketUrl(target: Target, name: string): Promise<string> {
  return target.needsToken ? wsUrl(target.url, await token(name)) : wsUrl(target.url, '').replace(/&token=$/, '');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await measureBrowserJoin({ joins: Number(process.argv[2] ?? 20) });
  console.table(
    rows.map((r) => ({
      target: r.target,
      'join p50': r.joinMs.p50,
      'first frame p50': r.firstFrameMs.p50,
      'first frame p95': r.firstFrameMs.p95,
      n: r.firstFrameMs.n,
    })),
  );
  console.table(Object.fromEntries(rows.map((r) => [r.target, r.phasesP50])));
  console.table(
    rows.map((r) => ({
      target: r.target,
      [`${ROOM_PUBLISHERS} cameras: first p50`]: r.crowd.firstFrameMs.p50,
      'every picture p50': r.crowd.everyFrameMs.p50,
      'every picture p95': r.crowd.everyFrameMs.p95,
      n: r.crowd.everyFrameMs.n,
    })),
  );
}
