import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startDistributed, token, wsUrl } from '../../harness/cluster.ts';
import type { Cluster, Runtime } from '../../harness/cluster.ts';
import { browserStyleRequest } from '../../harness/probes.ts';
import { TestClient } from '../../harness/ws-client.ts';

/**
 * Signaling and media-worker as separate processes over a real nats-server, spoken to over WebSocket. The
 * same suite runs with the first signaling instance on Node and on Deno; the second is always the other one.
 */
const runtimes: [Runtime, Runtime][] = [
  ['node', 'deno'],
  ['deno', 'node'],
];

const GRACE_MS = 3000;

describe.each(runtimes)('signaling over NATS (%s, with a second instance on %s)', (first, second) => {
  let cluster: Cluster;
  const open = async (name: string, instance = 0, options?: Parameters<typeof token>[1]) =>
    TestClient.open(wsUrl(cluster.signaling[instance]!, await token(name, options)));

  beforeAll(async () => {
    cluster = await startDistributed({
      signaling: [first, second],
      env: { SESSION_GRACE_MS: String(GRACE_MS), ROOM_MAX_PARTICIPANTS: '3' },
    });
  });
  afterAll(() => cluster?.stop());

  it('joins a room and returns router capabilities, peers, producers and a resume token', async () => {
    const client = await open('Ada');
    const res = await client.request('join', { room: 'proto-join' });
    expect(res).toMatchObject({ ok: true, data: { peers: [], producers: [], resumeToken: expect.any(String) } });
    const data = (res.ok ? res.data : {}) as { peerId: string; routerRtpCapabilities: { codecs: { mimeType: string }[] } };
    expect(data.peerId).toMatch(/[0-9a-f-]{36}/);
    const mimeTypes = data.routerRtpCapabilities.codecs.map((c) => c.mimeType);
    expect(mimeTypes).toEqual(expect.arrayContaining(['audio/opus', 'video/VP8', 'video/VP9', 'video/H264']));
    const transport = await client.request('createTransport', { direction: 'recv' });
    expect(transport).toMatchObject({ ok: true, data: { id: expect.any(String), iceCandidates: expect.any(Array) } });
    // No TURN configured: no TURN servers, with the join, the transport or an ICE restart.
    const restarted = await client.request('restartIce', {
      transportId: transport.ok ? (transport.data as { id: string }).id : '',
    });
    expect(restarted).toMatchObject({ ok: true, data: { iceParameters: expect.any(Object) } });
    for (const reply of [res, transport, restarted]) expect(reply.ok && reply.data).not.toHaveProperty('iceServers');
    client.close();
  });

  it('puts peers on different signaling instances in the same room and tells each about the other', async () => {
    const a = await open('Ada', 0);
    const b = await open('Bob', 1);
    await a.request('join', { room: 'proto-cross' });
    const joinB = await b.request('join', { room: 'proto-cross' });
    expect(joinB.ok && (joinB.data as { peers: unknown[] }).peers).toEqual([expect.objectContaining({ displayName: 'Ada' })]);
    expect((await a.notification('peerJoined')).data).toMatchObject({ peer: { displayName: 'Bob' } });
    await b.request('leave');
    const left = await a.notification('peerLeft');
    expect(left.data).toEqual({ peerId: joinB.ok ? (joinB.data as { peerId: string }).peerId : '' });
    a.close();
    b.close();
  });

  it('refuses connections without a valid token or with another protocol version, saying why', async () => {
    const base = cluster.signaling[0]!.replace(/^http/, 'ws');
    // Past the 30 s clock-skew leeway.
    const expired = await token('Old', { ttlSeconds: -60 });
    // Tamper with the signature's first character: its last one may carry only padding bits.
    const [header, payload, signature] = (await token('Mallory')).split('.') as [string, string, string];
    const forged = `${header}.${payload}.${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    expect(await closeOf(`${base}/ws?v=1`)).toEqual([4401, 'an access token is required']);
    expect(await closeOf(`${base}/ws?v=1&token=${forged}`)).toEqual([4401, 'access token invalid']);
    expect(await closeOf(`${base}/ws?v=1&token=${expired}`)).toEqual([4401, 'access token expired']);
    expect(await closeOf(wsUrl(cluster.signaling[0]!, await token('Ada'), 99))).toEqual([
      4400,
      'protocol version 1 required (got 99)',
    ]);
  });

  it('checks every request against the token’s grants', async () => {
    const other = await open('Roomless', 0, { room: 'elsewhere' });
    expect(await other.request('join', { room: 'proto-grants' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    other.close();
    const listener = await open('Listener', 0, { grants: { canPublish: false, canSubscribe: true, sources: [] } });
    await listener.request('join', { room: 'proto-grants' });
    const produce = { transportId: 't', kind: 'audio', source: 'microphone', rtpParameters: { codecs: [] } };
    expect(await listener.request('produce', produce)).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN', message: 'this token may not publish' },
    });
    listener.close();
    const micOnly = await open('MicOnly', 1, { grants: { canPublish: true, canSubscribe: false, sources: ['microphone'] } });
    await micOnly.request('join', { room: 'proto-grants' });
    expect(await micOnly.request('produce', { ...produce, kind: 'video', source: 'camera' })).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN', message: 'this token may not publish camera' },
    });
    expect(await micOnly.request('consume', { transportId: 't', producerId: 'p', rtpCapabilities: {} })).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    micOnly.close();
  });

  it('answers malformed and unknown messages with errors and keeps the connection usable', async () => {
    const client = await open('Eve');
    expect(await client.sendRaw('this is not json')).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(await client.sendRaw(JSON.stringify({ method: 'join' }))).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(await client.request('teleport', {})).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
    expect(await client.request('join', { room: 'bad room!' })).toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST', message: expect.stringContaining('room') },
    });
    expect(await client.request('createTransport', { direction: 'send' })).toMatchObject({
      ok: false,
      error: { code: 'NOT_JOINED' },
    });
    expect((await client.request('join', { room: 'proto-bad' })).ok).toBe(true);
    expect(await client.request('join', { room: 'proto-bad' })).toMatchObject({ ok: false, error: { code: 'ALREADY_JOINED' } });
    expect(await client.request('consume', { transportId: 'nope', producerId: 'nope', rtpCapabilities: {} })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
    expect(await client.request('connectTransport', { transportId: 'x', dtlsParameters: { fingerprints: [] } })).toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST' },
    });
    expect(await client.request('createTransport', { direction: 'send' })).toMatchObject({ ok: true });
    client.close();
  });

  it('takes the access token from the subprotocol header, answering parley.v1', async () => {
    // As browsers send it: "parley.v1, parley.token.<jwt>".
    const url = `${cluster.signaling[0]!}/ws`;
    const { protocol, reply } = await browserStyleRequest(
      url,
      ['parley.v1', `parley.token.${await token('Sub')}`],
      '{"id":1,"method":"subscribeLobby"}',
    );
    expect(protocol).toBe('parley.v1');
    expect(JSON.parse(reply)).toMatchObject({ id: 1, ok: true });
  });

  it('closes a connection that sends a frame over 64 KiB (UTF-8 bytes) with 1009', async () => {
    const client = await open('Bulky');
    // 30,000 three-byte characters: 30,000 UTF-16 units, 90,000 bytes on the wire.
    client.ws.send(`{"id":1,"method":"join","data":{"room":"${'€'.repeat(30_000)}"}}`);
    const [code] = await new Promise<[number, string]>((resolve) => client.ws.once('close', (c, r) => resolve([c, String(r)])));
    expect(code).toBe(1009);
  });

  it('rate-limits floods and survives 10,000 malformed messages while others keep working', async () => {
    const bystander = await open('Bystander', 1);
    await bystander.request('join', { room: 'proto-flood' });
    const flooder = await open('Flooder', 0);
    await flooder.request('join', { room: 'proto-flood' });
    await bystander.notification('peerJoined');

    const replies = await flooder.burst(10_000, (i) => (i % 2 ? '{"id":' : `{"id":${i},"method":42}`));
    expect(replies.length).toBe(10_000);
    expect(replies.every((r) => !r.ok)).toBe(true);
    const codes = new Set(replies.map((r) => (r.ok ? 'OK' : r.error.code)));
    expect([...codes].sort()).toEqual(['BAD_REQUEST', 'RATE_LIMITED']);

    await new Promise((r) => setTimeout(r, 1500));
    expect(await flooder.request('createTransport', { direction: 'recv' })).toMatchObject({ ok: true });
    expect(await bystander.request('createTransport', { direction: 'recv' })).toMatchObject({ ok: true });
    flooder.close();
    expect((await bystander.notification('peerJoined')).notification).toBe('peerJoined');
    bystander.close();
  });

  it('shows the lobby of every instance live: who is in which room, with what media', async () => {
    const watcher = await open('Watcher', 1);
    const initial = await watcher.request('subscribeLobby');
    expect(initial.ok).toBe(true);
    const ada = await open('Ada', 0);
    const started = Date.now();
    await ada.request('join', { room: 'proto-lobby' });
    const lobby = await watcher.until(() =>
      watcher.notifications.findLast((n) => n.notification === 'lobby' && JSON.stringify(n.data).includes('proto-lobby')),
    );
    expect(Date.now() - started).toBeLessThan(1000);
    expect(lobby.data).toMatchObject({
      rooms: expect.arrayContaining([
        {
          roomId: 'proto-lobby',
          participants: [
            expect.objectContaining({
              displayName: 'Ada',
              connected: true,
              media: { microphone: false, muted: false, camera: false, screen: false, speaking: false },
            }),
          ],
        },
      ]),
    });
    await ada.request('leave');
    await watcher.until(() => {
      const last = watcher.notifications.findLast((n) => n.notification === 'lobby');
      return last && !JSON.stringify(last.data).includes('proto-lobby') ? last : undefined;
    });
    ada.close();
    watcher.close();
  });

  it('resumes a dropped connection on another instance within the grace period, unseen by others', async () => {
    const bob = await open('Bob', 1);
    await bob.request('join', { room: 'proto-resume' });
    const ada = await open('Ada', 0);
    const join = await ada.request('join', { room: 'proto-resume' });
    const { peerId, resumeToken } = (join.ok ? join.data : {}) as { peerId: string; resumeToken: string };
    await ada.request('createTransport', { direction: 'send' });
    ada.ws.terminate();

    await new Promise((r) => setTimeout(r, 500));
    const again = await open('Ada', 1);
    const resumed = await again.request('resume', { resumeToken });
    expect(resumed).toMatchObject({ ok: true, data: { peerId, peers: [expect.objectContaining({ displayName: 'Bob' })] } });
    expect(await again.request('createTransport', { direction: 'recv' })).toMatchObject({ ok: true });

    // Another user cannot take the session over with a stolen token.
    const thief = await open('Mallory', 0);
    expect(await thief.request('resume', { resumeToken })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    thief.close();

    await new Promise((r) => setTimeout(r, GRACE_MS + 6000));
    expect(bob.notifications.filter((n) => n.notification === 'peerLeft')).toEqual([]);
    again.close();
    bob.close();
  });

  it('closes a dropped membership once the grace period is over', async () => {
    const bob = await open('Bob', 1);
    await bob.request('join', { room: 'proto-grace' });
    const ada = await open('Ada', 0);
    const join = await ada.request('join', { room: 'proto-grace' });
    const { peerId, resumeToken } = (join.ok ? join.data : {}) as { peerId: string; resumeToken: string };
    ada.ws.terminate();
    const left = await bob.notification('peerLeft', GRACE_MS + 10_000);
    expect(left.data).toEqual({ peerId });
    const late = await open('Ada', 0);
    expect(await late.request('resume', { resumeToken })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    late.close();
    bob.close();
  });

  it('refuses a participant beyond the room cap', async () => {
    const clients = await Promise.all(['A', 'B', 'C', 'D'].map((n, i) => open(n, i % 2)));
    for (const c of clients.slice(0, 3)) expect((await c.request('join', { room: 'proto-full' })).ok).toBe(true);
    expect(await clients[3]!.request('join', { room: 'proto-full' })).toMatchObject({ ok: false, error: { code: 'ROOM_FULL' } });
    clients.forEach((c) => c.close());
  });

  it('answers TIMEOUT, clearly, when the media worker does not reply, and recovers when it does', async () => {
    const client = await open('Patience');
    await client.request('join', { room: 'proto-timeout' });
    const worker = cluster.processes[0]!.child;
    worker.kill('SIGSTOP');
    try {
      expect(await client.request('createTransport', { direction: 'send' })).toMatchObject({
        ok: false,
        error: { code: 'TIMEOUT', message: expect.stringMatching(/createTransport timed out after \d+ ms/) },
      });
    } finally {
      worker.kill('SIGCONT');
    }
    expect(await client.request('createTransport', { direction: 'send' })).toMatchObject({ ok: true });
    client.close();
  });

  it('serves health, readiness and metrics', async () => {
    const base = cluster.signaling[1]!;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ ready: true, mediaWorkers: 1 });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/parley_signaling_requests_total\{region="default",method="join",code="OK"\} \d+/);
    expect(metrics).toMatch(/parley_signaling_request_duration_ms_count\{region="default",method="join"\} \d+/);
  });

  it('drops a killed instance’s users from every lobby within the presence TTL, and drains on SIGTERM', async () => {
    const watcher = await open('Watcher', 1);
    await watcher.request('subscribeLobby');
    const doomed = await open('Doomed', 0);
    await doomed.request('join', { room: 'proto-crash' });
    await watcher.until(() => watcher.notifications.find((n) => JSON.stringify(n.data).includes('Doomed')));
    const killedAt = Date.now();
    cluster.processes[1]!.child.kill('SIGKILL');
    await watcher.until(() => {
      const last = watcher.notifications.findLast((n) => n.notification === 'lobby');
      return last && !JSON.stringify(last.data).includes('Doomed') ? last : undefined;
    }, 20_000);
    const goneAfter = Date.now() - killedAt;
    console.log(`${first}: a killed instance's user left the lobby after ${goneAfter} ms`);
    expect(goneAfter).toBeLessThan(15_000);

    const closed = new Promise<number>((resolve) => watcher.ws.once('close', (code) => resolve(code)));
    cluster.processes[2]!.child.kill('SIGTERM');
    expect(await closed).toBe(1012);
  });
});

/** How the server closes a connection to `url`; an accepted connection fails the test after 10 s. */
function closeOf(url: string): Promise<[number, string]> {
  const ws = new WebSocket(url);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`the server accepted ${url.replace(/token=[^&]+/, 'token=…')}`));
    }, 10_000);
    ws.once('close', (code, reason) => {
      clearTimeout(timer);
      resolve([code, reason.toString()]);
    });
  });
}
