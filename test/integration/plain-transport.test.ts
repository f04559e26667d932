import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rtpTesters, TEST_LAYERS } from '../../harness/rtp-testers.ts';
import { windowLossPct } from '../../bench/rtp/counter.ts';
import { loadTestToken, startDistributed, token, wsUrl } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { TestClient } from '../../harness/ws-client.ts';
import { waitFor } from '../../harness/wait.ts';
import type { ClientResponse } from '../../protocol/client.ts';

/**
 * The load tester's plain RTP path (issue #19): `createPlainTransport` only with the `loadTest` grant, and what a
 * tester peer does with it against the real stack — generated VP8 in three simulcast layers and Opus produced on
 * one plain transport, consumed onto another and counted by sequence number.
 */
const ROOM = 'plain';

describe('plain RTP transports for load testers', () => {
  let cluster: Cluster;
  const clients: TestClient[] = [];
  const code = (r: ClientResponse) => (r.ok ? 'OK' : r.error.code);
  const member = async (jwt: string) => {
    const client = await TestClient.open(wsUrl(cluster.signaling[0]!, jwt));
    clients.push(client);
    expect(code(await client.request('join', { room: ROOM }))).toBe('OK');
    return client;
  };
  let testers: ReturnType<typeof rtpTesters>;
  const tester = (name: string) => testers.join(name);

  beforeAll(async () => {
    cluster = await startDistributed();
    testers = rtpTesters(cluster.signaling[0]!, ROOM);
  });
  afterAll(async () => {
    testers?.close();
    for (const c of clients) c.close();
    await cluster?.stop();
  });

  it('refuses createPlainTransport without the loadTest grant (FORBIDDEN), and the connection keeps working', async () => {
    const plain = await member(await token('Plain'));
    const refused = await plain.request('createPlainTransport', {});
    expect(refused.ok ? 'OK' : refused.error).toMatchObject({ code: 'FORBIDDEN' });
    expect(code(await plain.request('ping', {}))).toBe('OK');
    expect(code(await plain.request('createTransport', { direction: 'recv' }))).toBe('OK');
    // Not joined: NOT_JOINED before any grant is read.
    const outsider = await TestClient.open(wsUrl(cluster.signaling[0]!, await loadTestToken('Outsider')));
    clients.push(outsider);
    const early = await outsider.request('createPlainTransport', {});
    expect(early.ok ? 'OK' : early.error.code).toBe('NOT_JOINED');
  });

  it('refuses what only WebRTC transports do, another peer’s plain transport, and a 5th transport', async () => {
    const client = await member(await loadTestToken('Prober'));
    const created = await client.request('createPlainTransport', {});
    expect(created.ok).toBe(true);
    const { id } = (created.ok ? created.data : {}) as { id: string };
    const connect = await client.request('connectTransport', { transportId: id, dtlsParameters: { fingerprints: [] } });
    const restart = await client.request('restartIce', { transportId: id });
    expect([code(connect), code(restart)]).toEqual(['BAD_REQUEST', 'BAD_REQUEST']);

    const other = await member(await loadTestToken('Other'));
    const produce = await other.request('produce', {
      transportId: id,
      kind: 'audio',
      source: 'microphone',
      rtpParameters: {
        codecs: [{ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: 100 }],
        encodings: [{ ssrc: 7 }],
      },
    });
    expect(code(produce)).toBe('NOT_FOUND');
    const more = [];
    for (let i = 0; i < 4; i++) more.push(code(await client.request('createPlainTransport', {})));
    expect(more).toEqual(['OK', 'OK', 'OK', 'LIMIT']);
  });

  it('forwards generated simulcast VP8 and Opus to a plain consumer without loss, at the layer it prefers', async () => {
    const publisher = await tester('Rtp-publisher');
    const viewer = await tester('Rtp-viewer');
    const camera = await publisher.publish({ kind: 'video', layers: TEST_LAYERS });
    const microphone = await publisher.publish({ kind: 'audio', bitsPerSecond: 32_000 });
    const video = await viewer.consume(camera, 'video');
    await viewer.consume(microphone, 'audio');
    const counters = [...viewer.received.values()];
    await waitFor('both streams to arrive', () => counters.every((c) => c.counter.received > 20), 10_000);

    const rate = async (ms: number) => {
      const before = counters.map((c) => c.counter.snapshot());
      const started = performance.now();
      await new Promise((r) => setTimeout(r, ms));
      const seconds = (performance.now() - started) / 1000;
      return counters.map((c, i) => {
        const after = c.counter.snapshot();
        return {
          kbps: ((after.bytes - before[i]!.bytes) * 8) / 1000 / seconds,
          lossPct: windowLossPct(before[i]!, after),
          jitterMs: after.jitterMs,
        };
      });
    };
    const [top, audio] = await rate(3_000);
    console.log(`top layer: ${JSON.stringify(top)}; audio: ${JSON.stringify(audio)}`);
    // The top layer (1.2 Mbit/s), not the middle one (0.5): a generator on a busy machine runs a few % behind its clock.
    expect(top!.kbps).toBeGreaterThan(1_000);
    expect(top!.lossPct).toBeLessThan(1);
    expect(audio!.kbps).toBeGreaterThan(25);
    expect(audio!.lossPct).toBeLessThan(1);

    await viewer.preferLayer(video, 0);
    await new Promise((r) => setTimeout(r, 3_500)); // the switch waits for layer 0's next key frame
    const [low] = await rate(3_000);
    console.log(`preferred layer 0: ${JSON.stringify(low)}`);
    expect(low!.kbps).toBeGreaterThan(100);
    expect(low!.kbps).toBeLessThan(400);
    expect(low!.lossPct).toBeLessThan(1);
  });
});
