/**
 * Soak (not in CI): `npm run soak [-- --bots 6 --minutes 10 --churn-seconds 20 --kill-worker-minutes 3 --full-suites]`.
 * Starts nats-server, a media-worker (2 mediasoup workers) and Node + Deno signaling, keeps `--bots` bots in one
 * room (publishing, consuming), and every `--churn-seconds` makes one leave and a fresh one join (timing the
 * newcomer's first decoded frame) and one toggle its camera. Every `--kill-worker-minutes` it SIGKILLs a mediasoup
 * worker and times until everyone decodes again. Every 30 s it prints error counts, recovery times, room
 * counts and RSS. `--full-suites` first runs the toggle (100 toggles) and leak (200 cycles) suites at full size.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { Bot } from '../bots/bot.ts';
import { waitFor } from '../harness/wait.ts';
import { startDistributed, token } from '../harness/cluster.ts';
import { RegistryReader } from '../harness/registry.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const BOTS = arg('bots', 6);
const MINUTES = arg('minutes', 10);
const CHURN_S = arg('churn-seconds', 20);
const KILL_MIN = arg('kill-worker-minutes', 3);
const ROOM = 'soak';

if (process.argv.includes('--full-suites')) {
  for (const [file, env] of [
    ['test/integration/toggle-regression.test.ts', { PARLEY_TOGGLES: '100' }],
    ['test/integration/leaks.test.ts', { PARLEY_LEAK_CYCLES: '200' }],
  ] as const) {
    console.log(`full-size suite: ${file} ${JSON.stringify(env)}`);
    const run = spawnSync('npx', ['vitest', 'run', file], { stdio: 'inherit', env: { ...process.env, ...env } });
    if (run.status !== 0) console.log(`FAILED: ${file}`);
  }
}

const rssMiB = (pid: number | undefined) => {
  try {
    return Math.round(Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024);
  } catch {
    return NaN;
  }
};

const cluster = await startDistributed({ signaling: ['node', 'deno'], env: { MEDIA_WORKERS: '2' } });
const registry = await RegistryReader.open(cluster.nats!.url);
const errors: Record<string, number> = {};
const count = (what: string, err: unknown) => {
  errors[what] = (errors[what] ?? 0) + 1;
  console.log(`error (${what}): ${err instanceof Error ? err.message : String(err)}`);
};
const joinTimes: number[] = [];
const recoveries: number[] = [];
let serial = 0;

async function newBot(): Promise<Bot> {
  const name = `Soak${serial++}`;
  const bot = await Bot.join({ url: cluster.signaling[serial % 2]!, room: ROOM, name, token: await token(name) });
  await bot.publish({ shared: true });
  return bot;
}
const decoded = async (bot: Bot) => (await bot.stats()).videoFramesDecoded;

const bots: Bot[] = [];
for (let i = 0; i < BOTS; i++) bots.push(await newBot());
const rssStart = {
  media: rssMiB(cluster.processes[0]!.child.pid),
  node: rssMiB(cluster.processes[1]!.child.pid),
  deno: rssMiB(cluster.processes[2]!.child.pid),
};
const endAt = Date.now() + MINUTES * 60_000;
let nextKill = Date.now() + KILL_MIN * 60_000;
let nextReport = Date.now() + 30_000;

const report = async () => {
  const [load] = await registry.loads().catch(() => []);
  const rss = {
    media: rssMiB(cluster.processes[0]!.child.pid),
    node: rssMiB(cluster.processes[1]!.child.pid),
    deno: rssMiB(cluster.processes[2]!.child.pid),
  };
  const workers = (load?.perWorker ?? []).map((w) => rssMiB(w.pid));
  const p = (xs: number[], q: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))] : NaN);
  console.log(
    `[${new Date().toISOString()}] bots ${bots.length}, errors ${JSON.stringify(errors)}, join→first frame p50 ${p(joinTimes, 0.5)} ms p95 ${p(joinTimes, 0.95)} ms (${joinTimes.length}), ` +
      `worker-kill recoveries ${JSON.stringify(recoveries)} ms, load ${JSON.stringify(load && { routers: load.routers, transports: load.transports, producers: load.producers, consumers: load.consumers })}, ` +
      `RSS MiB ${JSON.stringify(rss)} (start ${JSON.stringify(rssStart)}), mediasoup workers ${JSON.stringify(workers)}`,
  );
};

while (Date.now() < endAt) {
  await new Promise((r) => setTimeout(r, CHURN_S * 1000));
  // Churn: the oldest leaves, a newcomer joins and must see video.
  try {
    await bots.shift()!.leave();
    const started = Date.now();
    const bot = await newBot();
    bots.push(bot);
    await waitFor('the newcomer to decode video', async () => (await decoded(bot)) > 0, 10_000);
    joinTimes.push(Date.now() - started);
  } catch (err) {
    count('churn', err);
  }
  // Toggle: one bot turns its camera off and on.
  const toggler = bots[Math.floor(Math.random() * bots.length)]!;
  await toggler
    .unpublish('camera')
    .then(() => toggler.publish({ audio: false, video: true, shared: true }))
    .catch((err) => count('toggle', err));
  // Chaos: kill a mediasoup worker and time until every bot decodes again.
  if (Date.now() > nextKill) {
    nextKill = Date.now() + KILL_MIN * 60_000;
    const [load] = await registry.loads();
    const victim = load?.perWorker[0];
    if (victim) {
      const killedAt = Date.now();
      process.kill(victim.pid, 'SIGKILL');
      // Frames already in flight must not count as recovery.
      await new Promise((r) => setTimeout(r, 300));
      // A bot moved off the dead worker counts frames on a new transport from zero, so look for progress now.
      const progressing = async () => {
        const first = await Promise.all(bots.map(decoded));
        await new Promise((r) => setTimeout(r, 500));
        return (await Promise.all(bots.map(decoded))).every((d, i) => d > first[i]!);
      };
      await waitFor('every bot to decode again', progressing, 20_000)
        .then(() => recoveries.push(Date.now() - killedAt))
        .catch((err) => count('worker-kill recovery', err));
    }
  }
  for (const bot of bots) errors.botRequests = (errors.botRequests ?? 0) + bot.requestErrors.splice(0).length;
  if (Date.now() > nextReport) {
    nextReport = Date.now() + 30_000;
    await report();
  }
}
await report();
bots.forEach((b) => b.close());
await registry.close();
await cluster.stop();
process.exit(0);
