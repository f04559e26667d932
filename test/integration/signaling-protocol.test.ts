import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startDistributed, wsUrl } from '../helpers/cluster.ts';
import type { Cluster, Runtime } from '../helpers/cluster.ts';
import { TestClient } from '../helpers/ws-client.ts';

/**
 * Signaling and media-worker as separate processes over a real nats-server, spoken to over WebSocket. The
 * same suite runs with the first signaling instance on Node and on Deno; the second is always the other one.
 */
const runtimes: [Runtime, Runtime][] = [
  ['node', 'deno'],
  ['deno', 'node'],
];

describe.each(runtimes)('signaling protocol over NATS (%s, with a second instance on %s)', (first, second) => {
  let cluster: Cluster;
  const open = (i = 0) => TestClient.open(wsUrl(cluster.signaling[i]!));

  beforeAll(async () => {
    cluster = await startDistributed({ signaling: [first, second] });
  });
  afterAll(() => cluster?.stop());

  it('joins a room and returns router capabilities, peers and producers', async () => {
    const client = await open();
    const res = await client.request('join', { room: 'proto-join', displayName: 'Ada' });
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    const data = res.data as { peerId: string; routerRtpCapabilities: { codecs: { mimeType: string }[] }; peers: unknown[] };
    expect(data.peerId).toMatch(/[0-9a-f-]{36}/);
    const mimeTypes = data.routerRtpCapabilities.codecs.map((c) => c.mimeType);
    expect(mimeTypes).toEqual(expect.arrayContaining(['audio/opus', 'video/VP8', 'video/VP9', 'video/H264']));
    expect(data.peers).toEqual([]);
    const transport = await client.request('createTransport', { direction: 'recv' });
    expect(transport).toMatchObject({ ok: true, data: { id: expect.any(String), iceCandidates: expect.any(Array) } });
    client.close();
  });

  it('puts peers on different signaling instances in the same room and tells each about the other', async () => {
    const a = await open(0);
    const b = await open(1);
    await a.request('join', { room: 'proto-cross', displayName: 'Ada' });
    const joinB = await b.request('join', { room: 'proto-cross', displayName: 'Bob' });
    expect(joinB.ok && (joinB.data as { peers: { displayName: string }[] }).peers).toEqual([
      expect.objectContaining({ displayName: 'Ada' }),
    ]);
    const joined = await a.notification('peerJoined');
    expect(joined.data).toMatchObject({ peer: { displayName: 'Bob' } });
    b.close();
    const left = await a.notification('peerLeft');
    expect(left.data).toEqual({ peerId: (joinB.ok && (joinB.data as { peerId: string }).peerId) || '' });
    a.close();
  });

  it('answers malformed and unknown messages with errors and keeps the connection usable', async () => {
    const client = await open();
    expect(await client.sendRaw('this is not json')).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(await client.sendRaw(JSON.stringify({ method: 'join' }))).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(await client.sendRaw('x'.repeat(70_000))).toMatchObject({ ok: false, error: { code: 'PAYLOAD_TOO_LARGE' } });
    expect(await client.request('teleport', {})).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
    expect(await client.request('join', { room: 'bad room!', displayName: 'x' })).toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST', message: expect.stringContaining('room') },
    });
    expect(await client.request('createTransport', { direction: 'send' })).toMatchObject({ ok: false, error: { code: 'NOT_JOINED' } });
    const join = await client.request('join', { room: 'proto-bad', displayName: 'Eve' });
    expect(join.ok).toBe(true);
    expect(await client.request('join', { room: 'proto-bad', displayName: 'Eve' })).toMatchObject({ ok: false, error: { code: 'ALREADY_JOINED' } });
    expect(await client.request('consume', { transportId: 'nope', producerId: 'nope', rtpCapabilities: {} })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
    expect(await client.request('connectTransport', { transportId: 'x', dtlsParameters: { fingerprints: [] } })).toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST' },
    });
    // Still usable after all that.
    expect(await client.request('createTransport', { direction: 'send' })).toMatchObject({ ok: true });
    client.close();
  });

  it('refuses a WebSocket that speaks another protocol version, with a reason', async () => {
    const ws = new WebSocket(wsUrl(cluster.signaling[0]!, 99));
    const [code, reason] = await new Promise<[number, string]>((resolve) =>
      ws.once('close', (c, r) => resolve([c, r.toString()])),
    );
    expect(code).toBe(4400);
    expect(reason).toContain('protocol version 1 required');
  });
});
