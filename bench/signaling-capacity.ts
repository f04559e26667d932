import { token, wsUrl } from '../harness/cluster.ts';
import { percentiles, round, sleep } from './lib/stats.ts';
import { pool, RawClient, withTimeout } from './lib/raw-client.ts';
import { allCores, childPids, cpuSeconds, pin, splitCores, startParley, workerPids } from './lib/targets.ts';

/**
 * Signaling without media, distributed mode (signaling, NATS, media-worker as separate processes):
 * - presence fan-out: `lobbyClients` connections subscribe to the lobby; one more joins a room, and we time
 *   how long each lobby client takes to see it (KV put → watch → coalesced lobby push). Repeated `rounds` times.
 * - joins per second: `joins` connections (already open) join rooms of 25, at most `concurrency` at once;
 *   each join is a bus request to the media worker (room, router, peer) plus presence and leases.
 */
export interface SignalingResult {
  lobbyClients: number;
  fanOutMs: ReturnType<typeof percentiles> & { max: number };
  /** Lobby clients that did not see the join within 10 s. */
  fanOutMissed: number;
  joins: number;
  joinsPerSecond: number;
  /** Joins per CPU-second of the signaling process (its CPU time over the join phase, from /proc). */
  joinsPerSecondPerCore: number;
  /** Signaling's CPU (cores) afterwards, holding every membership and doing nothing else. */
  heldSignalingCpu: number;
  /** CPU-seconds per 1,000 joins of each process over the join phase. */
  cpuPerThousandJoins: { signaling: number; mediaWorker: number };
  joinMs: ReturnType<typeof percentiles>;
  /** Joins that failed (e.g. the 5 s media-worker timeout), left out of joins per second. */
  joinErrors: number;
  firstError?: string;
}

const ROOM_SIZE = 25;
const IDLE_MS = 5000;

export async function measureSignaling({
  lobbyClients = 1000,
  rounds = 3,
  joins = 300,
  concurrency = 10,
} = {}): Promise<SignalingResult> {
  const target = await startParley('distributed');
  const clients: RawClient[] = [];
  try {
    const url = async (name: string) => wsUrl(target.url, await token(name));
    const lobby = await pool(lobbyClients, 50, async (i) => {
      const c = await RawClient.open(await url(`lobby${i}`));
      clients.push(c);
      await c.request('subscribeLobby');
      return c;
    });
    process.stderr.write(`  ${lobby.length} lobby clients subscribed\n`);
    await sleep(500); // past the lobby pushes of our own connecting
    const fanOut: number[] = [];
    let missed = 0;
    for (let r = 0; r < rounds; r++) {
      const room = `fanout-${r}-${Date.now()}`;
      const seen = lobby.map((c) =>
        withTimeout(
          'lobby update',
          new Promise<number>((resolve) => {
            c.onNotification = (name, data) => {
              if (name === 'lobby' && (data as { rooms: { roomId: string }[] }).rooms.some((x) => x.roomId === room))
                resolve(performance.now());
            };
          }),
        ).catch(() => undefined),
      );
      const joiner = await RawClient.open(await url(`joiner${r}`));
      clients.push(joiner);
      const t0 = performance.now();
      await joiner.request('join', { room });
      for (const t of await Promise.all(seen)) {
        if (t === undefined) missed++;
        else fanOut.push(t - t0);
      }
      await joiner.request('leave');
      await sleep(300);
    }
    lobby.forEach((c) => c.close());

    const joiners = await pool(joins, 50, async (i) => {
      const c = await RawClient.open(await url(`j${i}`));
      clients.push(c);
      return c;
    });
    const latencies: number[] = [];
    const errors: string[] = [];
    // startDistributed starts the media-worker first, then signaling. Signaling alone on the last core; the
    // tester, NATS and the media-worker with its mediasoup-workers on the rest.
    const [mediaWorkerPid, signalingPid] = target.pids;
    const cores = splitCores();
    pin(signalingPid!, cores.measured);
    const others = [process.pid, mediaWorkerPid!, ...workerPids([mediaWorkerPid!]), ...childPids([process.pid], 'nats-server')];
    for (const pid of others) pin(pid, cores.rest);
    const cpu = () => ({ signaling: cpuSeconds(signalingPid!), mediaWorker: cpuSeconds(mediaWorkerPid!) });
    const cpuBefore = cpu();
    const started = performance.now();
    await pool(joins, concurrency, async (i) => {
      const t = performance.now();
      try {
        await joiners[i]!.request('join', { room: `joins-${Math.floor(i / ROOM_SIZE)}` });
        latencies.push(performance.now() - t);
      } catch (err) {
        errors.push(`join #${i} (room joins-${Math.floor(i / ROOM_SIZE)}): ${(err as Error).message}`);
      }
    });
    const seconds = (performance.now() - started) / 1000;
    const cpuAfter = cpu();
    const used = {
      signaling: cpuAfter.signaling - cpuBefore.signaling,
      mediaWorker: cpuAfter.mediaWorker - cpuBefore.mediaWorker,
    };
    // What the memberships cost while nothing happens (presence and session heartbeats, lease renewals).
    await sleep(IDLE_MS);
    const heldSignalingCpu = round((cpu().signaling - cpuAfter.signaling) / (IDLE_MS / 1000), 3);
    const perThousand = (s: number) => round((s / Math.max(1, latencies.length)) * 1000);
    return {
      lobbyClients,
      fanOutMs: { ...percentiles(fanOut), max: round(Math.max(...fanOut)) },
      fanOutMissed: missed,
      joins,
      joinsPerSecond: Math.round(latencies.length / seconds),
      joinsPerSecondPerCore: Math.round(latencies.length / Math.max(used.signaling, 0.01)),
      heldSignalingCpu,
      cpuPerThousandJoins: { signaling: perThousand(used.signaling), mediaWorker: perThousand(used.mediaWorker) },
      joinErrors: errors.length,
      firstError: errors[0],
      joinMs: percentiles(latencies),
    };
  } finally {
    pin(process.pid, allCores());
    clients.forEach((c) => c.close());
    await target.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [lobbyClients = 1000, joins = 300, concurrency = 10] = process.argv.slice(2).map(Number);
  console.log(JSON.stringify(await measureSignaling({ lobbyClients, joins, concurrency }), null, 2));
}
