import type { Bot } from '../bots/bot.ts';
import { inbound, joinBot, untilReceiving } from './lib/bots.ts';
import { round, sleep } from './lib/stats.ts';
import { cpuSeconds, startBaseline, startParley, workerPids } from './lib/targets.ts';
import type { Target } from './lib/targets.ts';

/**
 * Forwarding capacity of one mediasoup worker (one core): the same streams forwarded by Parley's full stack
 * (distributed: signaling, NATS, media-worker with MEDIA_WORKERS=1) and by the bare baseline script, in one
 * run. `publishers` bots publish audio + video (320x180@15, one layer); subscriber bots are added in steps,
 * each consuming every stream, and at each step the worker's CPU (from /proc), the tester's CPU and the
 * receivers' loss are sampled over `windowMs`.
 *
 * The receivers are real WebRTC stacks (libwebrtc via wrtc: ICE, DTLS, SRTP, jitter buffer, decoding), so on
 * a 2-core machine the tester saturates long before the worker does: the consumers per core figure is the
 * linear fit of worker CPU against consumers, extrapolated to one core, and says so.
 */
export interface ForwardingStep {
  consumers: number;
  /** Share of one core used by the mediasoup worker over the window. */
  workerCpu: number;
  /** Worker CPU per forwarded stream, in % of a core. */
  cpuPerConsumerPct: number;
  /** Share of one core used by this process (the bots). */
  testerCpu: number;
  lossPct: number;
  nacks: number;
  plis: number;
  inboundMbps: number;
}

export interface ForwardingResult {
  target: string;
  steps: ForwardingStep[];
  /** Marginal worker CPU per added consumer (slope of the fit), % of a core. */
  marginalPctPerConsumer: number;
  /** 1 core / marginal cost, after the fixed cost at the first step: an extrapolation. */
  consumersPerCoreEstimate: number;
  /** Most consumers measured with loss < 1%. */
  maxMeasuredUnder1pct: number;
}

export interface ForwardingOptions {
  publishers?: number;
  /** Subscriber counts to step through; consumers = subscribers × publishers × 2. */
  subscriberSteps?: number[];
  windowMs?: number;
}

export async function measureForwarding(options: ForwardingOptions = {}): Promise<ForwardingResult[]> {
  const results: ForwardingResult[] = [];
  for (const start of [startBaseline, () => startParley('distributed', { MEDIA_MAX_CONSUMERS_PER_WORKER: '100000' })]) {
    const target = await start();
    try {
      results.push(await rampUp(target, options));
    } finally {
      await target.stop();
    }
  }
  return results;
}

async function rampUp(
  target: Target,
  { publishers = 4, subscriberSteps = [2, 4, 8, 12], windowMs = 5000 }: ForwardingOptions,
): Promise<ForwardingResult> {
  const room = `fwd-${Date.now()}`;
  const bots: Bot[] = [];
  const subscribers: Bot[] = [];
  try {
    for (let i = 0; i < publishers; i++) {
      const bot = await joinBot(target, room, `pub${i}`, false);
      bots.push(bot);
      // Shared sources: the drawing and tone run once; each publisher still encodes (see docs/BENCHMARKS.md).
      await bot.publish({ shared: true });
    }
    const workers = workerPids(target.pids);
    if (workers.length !== 1) throw new Error(`${target.name}: expected one mediasoup worker, found ${workers.length}`);
    const steps: ForwardingStep[] = [];
    for (const count of subscriberSteps) {
      while (subscribers.length < count) {
        const bot = await joinBot(target, room, `sub${subscribers.length}`);
        subscribers.push(bot);
        bots.push(bot);
      }
      await Promise.all(subscribers.map((b) => untilReceiving(b, publishers * 2)));
      await sleep(2000); // past the key-frame burst of the newest consumers
      steps.push(await sample(workers[0]!, subscribers, windowMs));
      process.stderr.write(
        `  ${target.name}: ${steps.at(-1)!.consumers} consumers, worker ${round(steps.at(-1)!.workerCpu * 100, 1)}% of a core, loss ${steps.at(-1)!.lossPct}%\n`,
      );
    }
    return summarize(target.name, steps);
  } finally {
    bots.forEach((b) => b.close());
  }
}

async function sample(workerPid: number, subscribers: Bot[], windowMs: number): Promise<ForwardingStep> {
  const before = {
    at: performance.now(),
    worker: cpuSeconds(workerPid),
    tester: process.cpuUsage(),
    rx: await inbound(subscribers),
  };
  await sleep(windowMs);
  const rx = await inbound(subscribers);
  const seconds = (performance.now() - before.at) / 1000;
  const tester = process.cpuUsage(before.tester);
  const consumers = (await Promise.all(subscribers.map((b) => b.stats()))).reduce((n, s) => n + s.consumers, 0);
  const workerCpu = (cpuSeconds(workerPid) - before.worker) / seconds;
  const received = rx.packets - before.rx.packets;
  const lost = Math.max(0, rx.packetsLost - before.rx.packetsLost);
  return {
    consumers,
    workerCpu: round(workerCpu, 3),
    cpuPerConsumerPct: round((workerCpu * 100) / consumers, 3),
    testerCpu: round((tester.user + tester.system) / 1e6 / seconds, 2),
    lossPct: round((100 * lost) / Math.max(1, received + lost), 2),
    nacks: rx.nacks - before.rx.nacks,
    plis: rx.plis - before.rx.plis,
    inboundMbps: round(((rx.bytes - before.rx.bytes) * 8) / seconds / 1e6, 2),
  };
}

function summarize(target: string, steps: ForwardingStep[]): ForwardingResult {
  // Least-squares line through (consumers, worker CPU): the slope is the marginal cost of a consumer.
  const n = steps.length;
  const mx = steps.reduce((s, p) => s + p.consumers, 0) / n;
  const my = steps.reduce((s, p) => s + p.workerCpu, 0) / n;
  const sxy = steps.reduce((s, p) => s + (p.consumers - mx) * (p.workerCpu - my), 0);
  const sxx = steps.reduce((s, p) => s + (p.consumers - mx) ** 2, 0);
  const slope = sxx > 0 ? sxy / sxx : my / mx;
  const intercept = my - slope * mx;
  return {
    target,
    steps,
    marginalPctPerConsumer: round(slope * 100, 4),
    consumersPerCoreEstimate: slope > 0 ? Math.round((1 - Math.max(0, intercept)) / slope) : NaN,
    maxMeasuredUnder1pct: Math.max(0, ...steps.filter((s) => s.lossPct < 1).map((s) => s.consumers)),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const results = await measureForwarding();
  for (const r of results) {
    console.log(
      `${r.target}: ${r.marginalPctPerConsumer}% of a core per consumer → ≈${r.consumersPerCoreEstimate} consumers/core (measured up to ${r.maxMeasuredUnder1pct} at < 1% loss)`,
    );
    console.table(r.steps);
  }
  process.exit(0);
}
