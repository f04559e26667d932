import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { measureBrowserJoin } from '../../bench/browser-join.ts';
import { measureForwarding } from '../../bench/capacity.ts';
import { measureRequestLatency } from '../../bench/request-latency.ts';
import { measureRoomCost } from '../../bench/room-cost.ts';
import { measureSignaling } from '../../bench/signaling-capacity.ts';
import type { ParticipantResult } from '../../scripts/loadtest/run.ts';
import { repoRoot } from '../../harness/processes.ts';

/**
 * Smoke sizes of `npm run bench` and the load-test CLI: they still run end to end and report something
 * sane. The numbers are meaningless at these sizes and are not checked against anything.
 */
describe('benchmarks (smoke sizes)', () => {
  it('browser join → first frame and newcomer → every picture: baseline, embedded and distributed', async () => {
    const rows = await measureBrowserJoin({ joins: 2 });
    expect(rows.map((r) => r.target)).toEqual(['bare mediasoup', 'Parley embedded', 'Parley distributed']);
    for (const r of rows) expect(r.firstFrameMs.n).toBe(2);
    for (const r of rows) expect(r.firstFrameMs.p50).toBeGreaterThan(r.joinMs.p50);
    for (const r of rows) expect(r.phasesP50.transportConnected).toBeGreaterThan(r.phasesP50.recvTransport);
    // A newcomer to a room of cameras saw every one of them (timeJoinAll throws when one is missing).
    for (const r of rows) expect(r.crowd.everyFrameMs.n).toBe(1);
    for (const r of rows) expect(r.crowd.everyFrameMs.p50).toBeGreaterThanOrEqual(r.crowd.firstFrameMs.p50);
  }, 120_000);

  it('request round trip: in-process and NATS', async () => {
    const rows = await measureRequestLatency({ requests: 20 });
    expect(rows.map((r) => r.op)).toEqual(['connectTransport', 'createTransport']);
    for (const r of rows) expect(r.ratioP50).toBeGreaterThan(0);
  });

  it('forwarding: bare mediasoup and the full stack forward the same plain-RTP streams (meeting mix, through a pipe)', async () => {
    const results = await measureForwarding({
      scenarios: ['meeting', 'pipe'],
      publishers: 2,
      consumerSteps: { meeting: [8], pipe: [8] },
      windowMs: 1000,
    });
    expect(results.map((r) => [r.target, r.scenario])).toEqual([
      ['bare mediasoup', 'meeting'],
      ['Parley distributed', 'meeting'],
      ['bare mediasoup', 'pipe'],
      ['Parley distributed', 'pipe'],
    ]);
    // Every target's worker alone on the last core, the tester elsewhere: not only the first target's (the tester
    // pins itself, and a core count read from its own affinity afterwards put later workers on its core).
    const last = os.cpus().length - 1;
    const elsewhere = last <= 1 ? '0' : `0-${last - 1}`; // as the kernel lists them
    for (const r of results) expect(r.cores).toEqual({ worker: String(last), tester: elsewhere });
    for (const r of results) {
      expect(r.steps[0]!.consumers).toBe(8);
      expect(r.steps[0]!.packetsOutPerSecond).toBeGreaterThan(0);
      expect(r.steps[0]!.workerCpu).toBeGreaterThan(0);
    }
    // Through a pipe both workers forward: the publishers' sends each stream once, the subscribers' to everyone.
    for (const r of results.filter((r) => r.scenario === 'pipe')) expect(r.steps[0]!.sourceWorkerCpu).toBeGreaterThan(0);
  }, 150_000);

  it('cost by room size: every participant consumes every other, and a full media-worker spills the room', async () => {
    // One consumer per worker: the second arrival fills the first instance (two microphones, two cameras consumed).
    const rows = await measureRoomCost({ sizes: [2, 5], windowMs: 1000, env: { MEDIA_MAX_CONSUMERS_PER_WORKER: '2' } });
    expect(rows.map((r) => [r.participants, r.consumers, r.error])).toEqual([
      [2, 4, undefined], // each consumes the other's microphone and camera
      [5, 5 * 4 + 4 * 4, undefined], // 5 microphones and 4 cameras, each consumed by everyone else
    ]);
    expect(rows[0]!.instances).toBe(1);
    // Placement heard at once that the first instance was full (not at its next heartbeat) and sent the later arrivals on.
    expect(rows[1]!.instances).toBe(2);
    for (const r of rows) expect(r.packetsOutPerSecond).toBeGreaterThan(0);
  }, 120_000);

  it('signaling: presence fan-out and joins without media', async () => {
    const r = await measureSignaling({ lobbyClients: 20, rounds: 1, joins: 10 });
    expect(r.fanOutMs.n).toBe(20);
    expect(r.joinMs.n + r.joinErrors).toBe(10);
    // The CPU accounting found the signaling and media-worker processes (both did work for the joins).
    expect(r.joinsPerSecondPerCore).toBeGreaterThan(0);
    expect(r.cpuPerThousandJoins.signaling).toBeGreaterThan(0);
    expect(r.cpuPerThousandJoins.mediaWorker).toBeGreaterThan(0);
  });

  it('load-test CLI: publishers and subscribers against a local server, --json', async () => {
    const cli = [
      '--import',
      'tsx',
      'scripts/loadtest.ts',
      '--publishers',
      '1',
      '--subscribers',
      '1',
      '--duration',
      '4s',
      '--json',
    ];
    const { stdout } = await promisify(execFile)(process.execPath, cli, { cwd: repoRoot, timeout: 60_000 });
    const results = JSON.parse(stdout) as ParticipantResult[];
    expect(results.map((r) => r.role)).toEqual(['publisher', 'subscriber']);
    expect(results.every((r) => r.errors.length === 0 && r.joinMs !== undefined)).toBe(true);
    expect(results[1]!.consumers).toBe(2);
    expect(results[1]!.inKbps).toBeGreaterThan(0);
  });
});
