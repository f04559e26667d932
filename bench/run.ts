import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../harness/processes.ts';
import { ROOM_PUBLISHERS, measureBrowserJoin } from './browser-join.ts';
import { measureForwarding } from './capacity.ts';
import { measureRequestLatency } from './request-latency.ts';
import { measureRoomCost } from './room-cost.ts';
import { measureSignaling } from './signaling-capacity.ts';
import { ratio } from './lib/stats.ts';

/**
 * `npm run bench [-- --smoke] [-- --out file]`: every benchmark in one run, a table on stdout and the raw
 * figures in bench/results.json. Ratios compare figures measured in this same run. `--smoke` runs tiny sizes
 * (seconds each) to check that everything still works; its numbers mean nothing.
 */
const smoke = process.argv.includes('--smoke');
const outArg = process.argv.indexOf('--out');
const out = outArg > 0 ? process.argv[outArg + 1]! : path.join(repoRoot, 'bench', smoke ? 'results.smoke.json' : 'results.json');

const sizes = smoke
  ? {
      joins: 3,
      requests: 30,
      forwarding: {
        publishers: 2,
        consumerSteps: { audio: [4, 8], video: [4, 8], meeting: [8, 16], pipe: [4, 8] },
        windowMs: 1500,
      },
      signaling: { lobbyClients: 50, rounds: 1, joins: 20 },
      roomCost: { sizes: [2, 4], windowMs: 1500 },
    }
  : {
      joins: 24,
      requests: 500,
      forwarding: { publishers: 10, windowMs: 5000 },
      signaling: { lobbyClients: 1000, rounds: 3, joins: 300 },
      roomCost: {},
    };

const timed = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
  const t = performance.now();
  process.stderr.write(`bench: ${name}…\n`);
  const result = await run();
  process.stderr.write(`bench: ${name} done in ${Math.round((performance.now() - t) / 1000)} s\n`);
  return result;
};

const started = performance.now();
const browser = await timed('browser join → first frame', () => measureBrowserJoin({ joins: sizes.joins }));
const latency = await timed('request round trip', () => measureRequestLatency({ requests: sizes.requests }));
const forwarding = await timed('forwarding capacity', () => measureForwarding(sizes.forwarding));
const signaling = await timed('signaling capacity', () => measureSignaling(sizes.signaling));
const roomCost = await timed('cost per participant by room size', () => measureRoomCost(sizes.roomCost));

const machine = `${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, load ${os
  .loadavg()
  .map((l) => l.toFixed(2))
  .join(' ')}`;
const base = browser[0]!;
const BARE = 'bare mediasoup';
const rows: [string, string, string][] = [
  ...browser.map((r): [string, string, string] => [
    `join → first frame, ${r.target} (Chromium, n=${r.firstFrameMs.n})`,
    `p50 ${r.firstFrameMs.p50} ms, p95 ${r.firstFrameMs.p95} ms (join ${r.joinMs.p50} ms)`,
    r === base
      ? 'baseline'
      : `p50 ×${ratio(r.firstFrameMs.p50, base.firstFrameMs.p50)}, p95 ×${ratio(r.firstFrameMs.p95, base.firstFrameMs.p95)}`,
  ]),
  ...browser.map((r): [string, string, string] => [
    `newcomer to ${ROOM_PUBLISHERS} cameras → every picture, ${r.target} (Chromium, n=${r.crowd.everyFrameMs.n})`,
    `p50 ${r.crowd.everyFrameMs.p50} ms, p95 ${r.crowd.everyFrameMs.p95} ms (first picture p50 ${r.crowd.firstFrameMs.p50} ms)`,
    r === base
      ? 'baseline'
      : `p50 ×${ratio(r.crowd.everyFrameMs.p50, base.crowd.everyFrameMs.p50)}, p95 ×${ratio(r.crowd.everyFrameMs.p95, base.crowd.everyFrameMs.p95)}`,
  ]),
  ...latency.map((l): [string, string, string] => [
    `request round trip, ${l.op} (n=${l.nats.n})`,
    `in-process p50 ${l.inProcess.p50} / p99 ${l.inProcess.p99} ms; NATS p50 ${l.nats.p50} / p99 ${l.nats.p99} ms`,
    `NATS/in-process p50 ×${l.ratioP50}, p99 ×${l.ratioP99}`,
  ]),
];
for (const r of forwarding) {
  const bare = r.target === BARE ? undefined : forwarding.find((b) => b.scenario === r.scenario && b.target === BARE);
  const top = r.steps.find((s) => s.consumers === r.maxMeasuredUnder1pct) ?? r.steps.at(-1);
  const bareAtSame = bare?.steps.find((s) => s.consumers === top?.consumers);
  // Through a pipe: the subscribers' worker against the same target's worker forwarding the same video directly.
  const direct = r.scenario === 'pipe' ? forwarding.find((d) => d.scenario === 'video' && d.target === r.target) : undefined;
  const viaPipe = direct
    ? `; per consumer ×${ratio(r.marginalPctPerConsumer, direct.marginalPctPerConsumer)} of direct video`
    : '';
  rows.push([
    `forwarding, ${r.scenario}, ${r.target} (1 worker on 1 core, plain-RTP tester)`,
    `${r.maxMeasuredUnder1pct} consumers at < 1% loss, jitter p95 < 30 ms (${r.packetsPerSecondPerCore} packets/s per core); ` +
      `${r.marginalPctPerConsumer}% of a core per consumer; largest step ${r.steps.at(-1)?.consumers ?? 0}: worker ${Math.round((r.steps.at(-1)?.workerCpu ?? 0) * 100)}%, loss ${r.steps.at(-1)?.lossPct ?? 0}%` +
      (r.error ? `; stopped: ${r.error.slice(0, 80)}` : ''),
    !bare
      ? `baseline${viaPipe}`
      : `per consumer ×${ratio(r.marginalPctPerConsumer, bare.marginalPctPerConsumer)}` +
        (top && bareAtSame ? `; at ${top.consumers}: worker CPU ×${ratio(top.workerCpu, bareAtSame.workerCpu)}` : '') +
        viaPipe,
  ]);
}
rows.push(
  [
    `presence fan-out, ${signaling.lobbyClients} lobby clients (n=${signaling.fanOutMs.n})`,
    `p50 ${signaling.fanOutMs.p50} ms, p95 ${signaling.fanOutMs.p95} ms, max ${signaling.fanOutMs.max} ms; ${signaling.fanOutMissed} missed`,
    'includes the 100 ms lobby coalescing',
  ],
  [
    `joins, no media (${signaling.joins}, 10 at once)`,
    `${signaling.joinsPerSecond} joins/s, join p50 ${signaling.joinMs.p50} ms, p95 ${signaling.joinMs.p95} ms, p99 ${signaling.joinMs.p99} ms; ` +
      `${signaling.joinsPerSecondPerCore} joins per signaling CPU-second (CPU-s per 1,000 joins: signaling ${signaling.cpuPerThousandJoins.signaling}, media-worker ${signaling.cpuPerThousandJoins.mediaWorker})`,
    `${signaling.joinErrors} failed${signaling.firstError ? ` (${signaling.firstError.slice(0, 60)}…)` : ''}`,
  ],
);

const smallest = roomCost[0];
for (const r of roomCost) {
  const per = r.perParticipant;
  rows.push([
    `room of ${r.participants}: ${r.consumers} consumers (${r.liveStreams} carrying media), on ${r.instances} media-worker instance(s) (${r.consumersByInstance.join(' + ')})`,
    `per participant: worker ${per.workerCpuPct}% of a core, control plane ${per.controlCpuPct}%, memory ${per.memoryKb} KiB; ` +
      `room: worker ${Math.round(r.workerCpu * 100)}%, ${r.packetsOutPerSecond} packets/s, loss ${r.lossPct}%, set up in ${r.setupSeconds} s` +
      (r.error ? `; stopped: ${r.error.slice(0, 80)}` : ''),
    !smallest || r === smallest
      ? 'baseline'
      : `per participant ×${ratio(per.workerCpuPct, smallest.perParticipant.workerCpuPct)} worker CPU, ×${ratio(per.memoryKb, smallest.perParticipant.memoryKb)} memory`,
  ]);
}

const table = ['| measurement | result | ratio |', '| --- | --- | --- |', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
console.log(
  `\n${machine}; total ${Math.round((performance.now() - started) / 1000)} s${smoke ? ' (SMOKE SIZES: numbers mean nothing)' : ''}\n\n${table}`,
);
fs.writeFileSync(
  out,
  JSON.stringify(
    { at: new Date().toISOString(), machine, smoke, browser, latency, forwarding, signaling, roomCost, table },
    null,
    2,
  ),
);
console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
process.exit(0);
