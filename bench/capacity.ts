import { loadTestToken } from '../harness/cluster.ts';
import type { CounterSnapshot, StreamCounter } from './rtp/counter.ts';
import { RtpPeer } from './rtp/peer.ts';
import type { Publication } from './rtp/peer.ts';
import { percentiles, round, sleep } from './lib/stats.ts';
import { affinity, allCores, cpuSeconds, pin, SIDES, splitCores, startBaseline, startParley, workerPids } from './lib/targets.ts';
import type { Target } from './lib/targets.ts';

/**
 * Forwarding capacity of one mediasoup worker pinned to one core, measured with the plain-RTP tester
 * (bench/rtp/: generated VP8 simulcast and Opus, received streams counted by sequence number, no WebRTC stack)
 * for the bare baseline script and for Parley distributed, in one run. Everything else (the tester, signaling,
 * NATS, the media-worker's Node process) is pinned to the other core(s). Subscribers are added in steps, each
 * consuming every producer of the room; at each step the worker's CPU (from /proc), the tester's CPU, loss and
 * jitter (RFC 3550, per stream) are taken over `windowMs`, until loss passes 5 % or the worker's core is full.
 *
 * Scenarios: `audio` (Opus, 32 kbit/s, 50 packets/s); `video` (VP8 in 3 simulcast layers of 150 k / 500 k /
 * 1.5 Mbit/s at 30 fps, every consumer at the top layer); `meeting` (what a viewer in a big meeting receives:
 * every publisher's audio and video, one video at the top layer, three at the middle one, the rest at the
 * smallest); `pipe` (`video` with the publishers on one worker and the subscribers on another, the measured one:
 * bare mediasoup's pipeToRouter between two workers, Parley's cascade between two media-worker instances).
 */
export type Scenario = 'audio' | 'video' | 'meeting' | 'pipe';
export const SCENARIOS: readonly Scenario[] = ['audio', 'video', 'meeting', 'pipe'];

export interface ForwardingStep {
  consumers: number;
  /** Packets the worker sent per second (received + lost, counted at the receivers). */
  packetsOutPerSecond: number;
  /** Share of one core used by the mediasoup worker over the window. */
  workerCpu: number;
  /** `pipe`: share of a core used by the publishers' worker (receiving, and sending each producer once). */
  sourceWorkerCpu?: number;
  /** Worker CPU per forwarded stream, in % of a core. */
  cpuPerConsumerPct: number;
  /** Share of one core used by this process (the tester). */
  testerCpu: number;
  /** Share of one core used by the target's own processes (signaling, NATS, the media-worker's Node process). */
  controlCpu: number;
  lossPct: number;
  /** Streams that received nothing in the window (counted as lost in full in `lossPct`). */
  silentStreams: number;
  /** 95th percentile over the streams of RFC 3550 interarrival jitter, ms. */
  jitterP95Ms: number;
  outboundMbps: number;
  /** consume + resumeConsumer round trips of the consumers this step added (with the publishers stopped), p95 ms. */
  consumeP95Ms: number;
}

export interface ForwardingResult {
  target: string;
  scenario: Scenario;
  steps: ForwardingStep[];
  /** Marginal worker CPU per added consumer (slope of the fit), % of a core. */
  marginalPctPerConsumer: number;
  /** 1 core / marginal cost, after the fixed cost: an extrapolation when no step saturated the core. */
  consumersPerCoreEstimate: number;
  /** Most consumers measured with loss < 1 % and jitter p95 < 30 ms. */
  maxMeasuredUnder1pct: number;
  /** Packets out per second per worker core at that step (packets/s ÷ worker CPU). */
  packetsPerSecondPerCore: number;
  /** Where the measured worker and the tester were allowed to run (read back from the kernel after pinning). */
  cores: { worker: string; tester: string };
  /** Why the ramp stopped early, if a request failed (e.g. a timeout under load). */
  error?: string;
}

export interface ForwardingOptions {
  scenarios?: Scenario[];
  publishers?: number;
  /** Consumer counts to step through, per scenario (rounded up to whole subscribers). */
  consumerSteps?: Partial<Record<Scenario, number[]>>;
  windowMs?: number;
}

const LAYERS = [
  { bitsPerSecond: 150_000, fps: 30 },
  { bitsPerSecond: 500_000, fps: 30 },
  { bitsPerSecond: 1_500_000, fps: 30 },
];
const AUDIO: Publication = { kind: 'audio', bitsPerSecond: 32_000 };
const VIDEO: Publication = { kind: 'video', layers: LAYERS };
const PUBLISHES: Record<Scenario, Publication[]> = { audio: [AUDIO], video: [VIDEO], meeting: [AUDIO, VIDEO], pipe: [VIDEO] };
const DEFAULT_STEPS: Record<Scenario, number[]> = {
  audio: [250, 500, 1000, 2000],
  video: [100, 200, 400, 600],
  meeting: [200, 400, 800, 1200],
  pipe: [100, 200, 400, 600],
};
const LOSS_CRITERION_PCT = 1;
const JITTER_CRITERION_MS = 30;
/** Past this the curve has shown what it can: stop adding load. */
const GIVE_UP_LOSS_PCT = 5;
/** A step whose consumers take longer than this to set up says the control plane is the limit: stop there. */
const STEP_SETUP_LIMIT_MS = 60_000;

export async function measureForwarding(options: ForwardingOptions = {}): Promise<ForwardingResult[]> {
  const results: ForwardingResult[] = [];
  for (const scenario of options.scenarios ?? SCENARIOS) {
    const pipe = scenario === 'pipe';
    const starts = [
      () => startBaseline({ pipe }),
      () => startParley('distributed', { MEDIA_MAX_CONSUMERS_PER_WORKER: '100000' }, { pipe }),
    ];
    for (const start of starts) {
      const target = await start();
      try {
        results.push(await rampUp(target, scenario, options));
      } finally {
        pin(process.pid, allCores());
        await target.stop();
      }
    }
  }
  return results;
}

async function rampUp(target: Target, scenario: Scenario, options: ForwardingOptions): Promise<ForwardingResult> {
  const { publishers = 10, windowMs = 5000 } = options;
  const steps = options.consumerSteps?.[scenario] ?? DEFAULT_STEPS[scenario];
  const room = `fwd-${scenario}-${Date.now()}`;
  const peers: RtpPeer[] = [];
  const subscribers: RtpPeer[] = [];
  // Stopped while a step's consumers are set up: on a 2-core machine the tester shares a core with the control
  // plane, and its sending and counting starved the requests (consume p95 of 600 ms even for bare mediasoup at
  // 800 meeting consumers). The window measures forwarding only once every stream runs again.
  let sending = true;
  const clock = setInterval(() => {
    const now = performance.now();
    if (sending) for (const p of peers) p.tick(now);
  }, 5);
  try {
    const [worker, ...others] = target.sides ? [target.sides.b] : workerPids(target.pids);
    if (!worker || others.length) throw new Error(`${target.name}: expected one mediasoup worker`);
    // The pipe's sending side: the publishers' worker.
    const source = target.sides ? [target.sides.a] : [];
    // The measured worker alone on the last core; the tester and the target's other processes on the rest.
    const cores = splitCores();
    pin(worker, cores.measured);
    for (const pid of [process.pid, ...target.pids, ...source]) pin(pid, cores.rest);
    const pinned = { worker: affinity(worker), tester: affinity(process.pid) };

    const producers: { id: string; kind: 'audio' | 'video' }[] = [];
    for (let i = 0; i < publishers; i++) {
      const peer = await joinPeer(target, room, `pub${i}`, target.sides && SIDES[0]);
      peers.push(peer);
      for (const publication of PUBLISHES[scenario])
        producers.push({ id: await peer.publish(publication), kind: publication.kind });
    }
    const results: ForwardingStep[] = [];
    try {
      for (const wanted of steps) {
        const setupStarted = performance.now();
        const consumeMs: number[] = [];
        sending = false;
        while (subscribers.length * producers.length < wanted) {
          if (performance.now() - setupStarted > STEP_SETUP_LIMIT_MS) {
            throw new Error(
              `setting up ${wanted} consumers took over ${STEP_SETUP_LIMIT_MS / 1000} s (consume p95 ${percentiles(consumeMs).p95} ms)`,
            );
          }
          const peer = await joinPeer(target, room, `sub${subscribers.length}`, target.sides && SIDES[1]);
          peers.push(peer);
          subscribers.push(peer);
          consumeMs.push(...(await subscribe(peer, producers, scenario)));
        }
        sending = true;
        await sleep(3_500); // every new consumer has had its layer's key frame (3 s apart, or asked for)
        const streams = subscribers.flatMap((s) => [...s.received.values()].map((r) => r.counter));
        const step = {
          ...(await sample([worker], target.pids, streams, windowMs, source)),
          consumeP95Ms: percentiles(consumeMs).p95,
        };
        results.push(step);
        process.stderr.write(
          `  ${target.name}, ${scenario}: ${step.consumers} consumers, ${step.packetsOutPerSecond} packets/s out, worker ${round(step.workerCpu * 100, 1)}% of a core, control ${round(step.controlCpu * 100, 1)}%, tester ${round(step.testerCpu * 100, 1)}%, loss ${step.lossPct}% (${step.silentStreams} silent), jitter p95 ${step.jitterP95Ms} ms, consume p95 ${step.consumeP95Ms} ms\n`,
        );
        if (step.lossPct > GIVE_UP_LOSS_PCT || step.workerCpu > 0.97) break;
      }
    } catch (err) {
      const error = `after ${results.at(-1)?.consumers ?? 0} consumers: ${err instanceof Error ? err.message : String(err)}`;
      process.stderr.write(`  ${target.name}, ${scenario}: stopped ${error}\n`);
      return { ...summarize(target.name, scenario, results, pinned), error };
    }
    return summarize(target.name, scenario, results, pinned);
  } finally {
    clearInterval(clock);
    for (const p of peers) p.close();
  }
}

function joinPeer(target: Target, room: string, name: string, region?: string): Promise<RtpPeer> {
  const jwt = target.needsToken ? loadTestToken(name) : Promise.resolve(undefined);
  return jwt.then((t) => RtpPeer.join(target.url, room, t, region));
}

/**
 * Every producer; in a meeting the first video at the top layer, the next three at the middle, the rest smallest.
 * Returns how long each consume (with its resume) took.
 */
async function subscribe(peer: RtpPeer, producers: { id: string; kind: 'audio' | 'video' }[], scenario: Scenario) {
  let videos = 0;
  const took: number[] = [];
  for (const p of producers) {
    const started = performance.now();
    const consumerId = await peer.consume(p.id, p.kind);
    took.push(performance.now() - started);
    if (scenario !== 'meeting' || p.kind !== 'video') continue;
    const layer = videos === 0 ? 2 : videos <= 3 ? 1 : 0;
    videos++;
    if (layer < 2) await peer.preferLayer(consumerId, layer);
  }
  return took;
}

/**
 * Over `windowMs`: the CPU of the mediasoup `workers` (share of one core, summed), of the `control` processes,
 * of the `source` workers (the pipe's sending side, if any) and of this process (the tester), and what the
 * `streams` received.
 */
export async function sample(
  workers: number[],
  control: number[],
  streams: StreamCounter[],
  windowMs: number,
  source: number[] = [],
): Promise<Omit<ForwardingStep, 'consumeP95Ms'>> {
  const seconds = (pids: number[]) => pids.reduce((n, pid) => n + cpuSeconds(pid), 0);
  const before = {
    at: performance.now(),
    worker: seconds(workers),
    control: seconds(control),
    source: seconds(source),
    tester: process.cpuUsage(),
    counters: streams.map((c) => c.snapshot()),
  };
  await sleep(windowMs);
  const after = streams.map((c) => c.snapshot());
  const elapsed = (performance.now() - before.at) / 1000;
  const tester = process.cpuUsage(before.tester);
  const workerCpu = (seconds(workers) - before.worker) / elapsed;
  const sum = (f: (b: CounterSnapshot, a: CounterSnapshot) => number) =>
    after.reduce((n, a, i) => n + f(before.counters[i]!, a), 0);
  const expected = sum((b, a) => a.expected - b.expected);
  const received = sum((b, a) => a.received - b.received);
  const lossPct = expected > 0 ? Math.max(0, ((expected - received) / expected) * 100) : 0;
  // A stream that received nothing in the window counts as lost in full, not as absent.
  const silent = after.filter((a, i) => a.received === before.counters[i]!.received).length;
  return {
    consumers: streams.length,
    packetsOutPerSecond: Math.round(expected / elapsed),
    workerCpu: round(workerCpu, 3),
    ...(source.length ? { sourceWorkerCpu: round((seconds(source) - before.source) / elapsed, 3) } : {}),
    cpuPerConsumerPct: round((workerCpu * 100) / Math.max(1, streams.length), 4),
    testerCpu: round((tester.user + tester.system) / 1e6 / elapsed, 2),
    controlCpu: round((seconds(control) - before.control) / elapsed, 2),
    lossPct: round(silent > 0 ? Math.max(lossPct, (silent / streams.length) * 100) : lossPct, 2),
    silentStreams: silent,
    jitterP95Ms: percentiles(after.map((a) => a.jitterMs)).p95,
    outboundMbps: round((sum((b, a) => a.bytes - b.bytes) * 8) / elapsed / 1e6, 1),
  };
}

function summarize(
  target: string,
  scenario: Scenario,
  steps: ForwardingStep[],
  cores: ForwardingResult['cores'],
): ForwardingResult {
  // Least-squares line through (consumers, worker CPU): the slope is the marginal cost of a consumer.
  const n = Math.max(1, steps.length);
  const mx = steps.reduce((s, p) => s + p.consumers, 0) / n;
  const my = steps.reduce((s, p) => s + p.workerCpu, 0) / n;
  const sxy = steps.reduce((s, p) => s + (p.consumers - mx) * (p.workerCpu - my), 0);
  const sxx = steps.reduce((s, p) => s + (p.consumers - mx) ** 2, 0);
  const slope = sxx > 0 ? sxy / sxx : my / mx;
  const intercept = my - slope * mx;
  const good = steps.filter((s) => s.lossPct < LOSS_CRITERION_PCT && s.jitterP95Ms < JITTER_CRITERION_MS);
  const best = good.at(-1);
  return {
    target,
    scenario,
    steps,
    marginalPctPerConsumer: round(slope * 100, 4),
    consumersPerCoreEstimate: slope > 0 ? Math.round((1 - Math.max(0, intercept)) / slope) : Number.NaN,
    maxMeasuredUnder1pct: best?.consumers ?? 0,
    packetsPerSecondPerCore: best && best.workerCpu > 0 ? Math.round(best.packetsOutPerSecond / best.workerCpu) : 0,
    cores,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const scenarios = process.argv.slice(2).filter((a): a is Scenario => SCENARIOS.includes(a as Scenario));
  const results = await measureForwarding({ scenarios: scenarios.length ? scenarios : undefined });
  for (const r of results) {
    console.log(
      `${r.target}, ${r.scenario}: ${r.maxMeasuredUnder1pct} consumers at < 1% loss (${r.packetsPerSecondPerCore} packets/s per core); ${r.marginalPctPerConsumer}% of a core per consumer → ≈${r.consumersPerCoreEstimate}/core`,
    );
    console.table(r.steps);
  }
  process.exit(0);
}
