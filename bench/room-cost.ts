import { loadTestToken } from '../harness/cluster.ts';
import { readableLines } from '../harness/processes.ts';
import { RegistryReader } from '../harness/registry.ts';
import { sample } from './capacity.ts';
import { RtpPeer } from './rtp/peer.ts';
import type { Publication } from './rtp/peer.ts';
import { pool } from './lib/raw-client.ts';
import { round, sleep } from './lib/stats.ts';
import { rssBytes, startParley, workerPids } from './lib/targets.ts';

/**
 * How cost grows with the size of a room: CPU and memory per participant for rooms of 2, 10, 50 and 200, each
 * on a fresh Parley distributed deployment of two media-worker instances (one mediasoup worker each, the
 * deployed consumer limit per worker), driven by the plain-RTP tester (bench/rtp/).
 *
 * A participant is what a Discord-style voice room with cameras has: everyone publishes a microphone, of
 * which TALKING are unmuted (the others paused, as a muted client pauses its producer); the first CAMERAS
 * also publish a camera (VP8, 3 simulcast layers); everyone consumes every other participant's microphone
 * and camera, cameras at the smallest layer (grid tiles). Participants arrive one by one: each consumes
 * everyone already there and is consumed by them. Consumers grow as N², packets only as N.
 */
export interface RoomCost {
  participants: number;
  consumers: number;
  /** Consumers of unmuted producers: the streams that carry packets. */
  liveStreams: number;
  packetsOutPerSecond: number;
  /** Media-worker instances the room's participants were placed on (placement spills a full instance). */
  instances: number;
  /** Consumers on each of them, most first. */
  consumersByInstance: number[];
  /** Share of one core, all mediasoup workers, over the window. */
  workerCpu: number;
  /** Share of one core: signaling, NATS and the media-workers' Node processes, holding the room. */
  controlCpu: number;
  /** Growth of resident memory over the empty deployment, MiB. */
  workerMemoryMb: number;
  controlMemoryMb: number;
  lossPct: number;
  setupSeconds: number;
  perParticipant: { workerCpuPct: number; controlCpuPct: number; memoryKb: number };
  /** Why the room stopped growing before its size (a request failed): the figures are of the room as it was. */
  error?: string;
}

export const ROOM_SIZES = [2, 10, 50, 200];
const TALKING = 2;
const CAMERAS = 4;
const MICROPHONE: Publication = { kind: 'audio', bitsPerSecond: 32_000 };
const CAMERA: Publication = {
  kind: 'video',
  layers: [
    { bitsPerSecond: 150_000, fps: 30 },
    { bitsPerSecond: 500_000, fps: 30 },
    { bitsPerSecond: 1_500_000, fps: 30 },
  ],
};
/** Consumes in flight at once while a newcomer and everyone already there consume each other. */
const CONCURRENCY = 16;

export async function measureRoomCost({
  sizes = ROOM_SIZES,
  windowMs = 5000,
  env = {},
}: {
  sizes?: number[];
  windowMs?: number;
  /** Extra variables for the deployment (the smoke test lowers MEDIA_MAX_CONSUMERS_PER_WORKER to force a spill). */
  env?: NodeJS.ProcessEnv;
} = {}): Promise<RoomCost[]> {
  const results: RoomCost[] = [];
  for (const size of sizes) {
    const target = await startParley('distributed', env, { mediaWorkers: 2 });
    try {
      results.push(await measureRoom(target, size, windowMs));
      const r = results.at(-1)!;
      // Why it stopped, in the servers' words.
      if (r.error)
        for (const p of target.cluster.processes) process.stderr.write(`${readableLines(p.output()).slice(-12).join('\n')}\n`);
      process.stderr.write(
        `  room of ${r.participants}${r.error ? ` (stopped ${r.error})` : ''}: ${r.consumers} consumers on ${r.instances} instance(s) (${r.consumersByInstance.join(' + ')}), worker ${round(r.workerCpu * 100, 1)}% of a core, control ${round(r.controlCpu * 100, 1)}%, memory +${r.workerMemoryMb} / +${r.controlMemoryMb} MiB, loss ${r.lossPct}%, set up in ${r.setupSeconds} s\n`,
      );
    } finally {
      await target.stop();
    }
  }
  return results;
}

async function measureRoom(target: Awaited<ReturnType<typeof startParley>>, size: number, windowMs: number): Promise<RoomCost> {
  const workers = workerPids(target.pids);
  const control = target.pids;
  const memory = () => ({
    workers: workers.reduce((n, pid) => n + rssBytes(pid), 0),
    control: control.reduce((n, pid) => n + rssBytes(pid), 0),
  });
  const empty = memory();
  const room = `cost-${size}-${Date.now()}`;
  const peers: RtpPeer[] = [];
  const sending = new Set<string>();
  const clock = setInterval(() => {
    const now = performance.now();
    for (const p of peers) p.tick(now);
  }, 5);
  const started = performance.now();
  let error: string | undefined;
  try {
    const published: Published[] = [];
    for (let i = 0; i < size && !error; i++) {
      try {
        published.push(...(await arrive(target.url, room, i, peers, published, sending)));
      } catch (err) {
        error = `after ${i} of ${size} participants: ${err instanceof Error ? err.message : String(err)}`;
      }
      if ((i + 1) % 25 === 0 && i + 1 < size) {
        const consumers = peers.reduce((n, p) => n + p.received.size, 0);
        process.stderr.write(
          `  room of ${size}: ${i + 1} in, ${consumers} consumers, ${round((performance.now() - started) / 1000, 1)} s\n`,
        );
      }
    }
    const setupSeconds = round((performance.now() - started) / 1000, 1);
    await sleep(3_500); // every consumer has had its layer's key frame
    const live = peers.flatMap((p) => [...p.received.values()].filter((r) => sending.has(r.producerId)).map((r) => r.counter));
    const step = await sample(workers, control, live, windowMs);
    const grown = memory();
    const workerMemory = grown.workers - empty.workers;
    const controlMemory = grown.control - empty.control;
    const consumers = peers.reduce((n, p) => n + p.received.size, 0);
    const participants = peers.length;
    return {
      participants,
      consumers,
      liveStreams: live.length,
      packetsOutPerSecond: step.packetsOutPerSecond,
      ...(await instancesUsed(target.cluster.nats!.url)),
      workerCpu: step.workerCpu,
      controlCpu: step.controlCpu,
      workerMemoryMb: round(workerMemory / 2 ** 20, 1),
      controlMemoryMb: round(controlMemory / 2 ** 20, 1),
      lossPct: step.lossPct,
      setupSeconds,
      perParticipant: {
        workerCpuPct: round((step.workerCpu * 100) / participants, 3),
        controlCpuPct: round((step.controlCpu * 100) / participants, 3),
        memoryKb: Math.round((workerMemory + controlMemory) / 1024 / participants),
      },
      ...(error && { error }),
    };
  } finally {
    clearInterval(clock);
    for (const p of peers) p.close();
  }
}

/** Participant `i` joins, publishes, and it and everyone already there consume each other; returns its producers. */
async function arrive(url: string, room: string, i: number, peers: RtpPeer[], published: Published[], sending: Set<string>) {
  const peer = await RtpPeer.join(url, room, await loadTestToken(`cost${i}`));
  peers.push(peer);
  const own: Published[] = [{ id: await peer.publish(MICROPHONE), kind: 'audio' }];
  if (i < TALKING) sending.add(own[0]!.id);
  else await peer.mute(own[0]!.id);
  if (i < CAMERAS) {
    own.push({ id: await peer.publish(CAMERA), kind: 'video' });
    sending.add(own[1]!.id);
  }
  const others = peers.filter((other) => other !== peer);
  const views: [RtpPeer, Published][] = [
    ...published.map((p): [RtpPeer, Published] => [peer, p]),
    ...others.flatMap((other) => own.map((p): [RtpPeer, Published] => [other, p])),
  ];
  await pool(views.length, CONCURRENCY, (k) => watch(...views[k]!));
  return own;
}

interface Published {
  id: string;
  kind: 'audio' | 'video';
}

/** Consumes `p` as a grid tile: a camera at its smallest layer. */
async function watch(viewer: RtpPeer, p: Published): Promise<void> {
  const consumerId = await viewer.consume(p.id, p.kind);
  if (p.kind === 'video') await viewer.preferLayer(consumerId, 0);
}

/** Media-worker instances holding consumers, from the registry placement reads (one room per deployment). */
async function instancesUsed(natsUrl: string): Promise<Pick<RoomCost, 'instances' | 'consumersByInstance'>> {
  const registry = await RegistryReader.open(natsUrl);
  try {
    const counts = (await registry.loads()).map((l) => l.consumers).filter((n) => n > 0);
    return { instances: counts.length, consumersByInstance: counts.sort((a, b) => b - a) };
  } finally {
    await registry.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const sizes = process.argv.slice(2).map(Number).filter(Boolean);
  const rows = await measureRoomCost({ sizes: sizes.length ? sizes : undefined });
  console.table(rows.map(({ perParticipant, ...r }) => ({ ...r, ...perParticipant })));
  process.exit(0);
}
