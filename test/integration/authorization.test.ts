import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bot } from '../../bots/bot.ts';
import { waitFor } from '../../harness/wait.ts';
import type { ClientResponse } from '../../protocol/client.ts';
import { startDistributed, token, wsUrl } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { TestClient } from '../../harness/ws-client.ts';

/**
 * Authorization with real ids: Ada publishes and Bob consumes in room A; Mallory (room B) and Eve (room A, a
 * third peer) try to use Ada's and Bob's transports, producers and consumers by their real ids. Each attempt
 * must be refused, and Ada → Bob media must be untouched. Then: a resume token replayed after leave, a
 * resume presented with a token for another room or with narrower grants, and the lobby with a room token.
 *
 * Already covered in signaling-protocol.test.ts (not repeated): missing/forged/expired tokens, a token for
 * room A joining room B, publish and subscribe grants, a resume token stolen by another identity, a resume
 * after the grace period.
 */
const ROOM_A = 'authz-a';
const ROOM_B = 'authz-b';

describe('authorization: other rooms’ and other peers’ objects, resume replay, token scope', () => {
  let cluster: Cluster;
  let ada: Bot;
  let bob: Bot;
  const bots: Bot[] = [];
  const clients: TestClient[] = [];

  const open = async (name: string, options?: Parameters<typeof token>[1]) => {
    const c = await TestClient.open(wsUrl(cluster.signaling[0]!, await token(name, options)));
    clients.push(c);
    return c;
  };
  const code = (r: ClientResponse) => (r.ok ? 'OK' : r.error.code);
  const decoded = async () => (await bob.stats()).videoFramesDecoded;

  beforeAll(async () => {
    cluster = await startDistributed({ env: { SESSION_GRACE_MS: '10000' } });
    ada = await Bot.join({ url: cluster.signaling[0]!, room: ROOM_A, name: 'Ada', token: await token('Ada') });
    bob = await Bot.join({ url: cluster.signaling[0]!, room: ROOM_A, name: 'Bob', token: await token('Bob') });
    bots.push(ada, bob);
    await ada.publish();
    await waitFor('Bob to decode Ada', async () => (await decoded()) > 0);
  });
  afterAll(async () => {
    clients.forEach((c) => c.close());
    bots.forEach((b) => b.close());
    await cluster?.stop();
  });

  /** Every request that touches an object of Ada's or Bob's, with an intruder's own transport where one is needed. */
  function intrusions(ownRecv: string, rtpCapabilities: unknown): [string, Record<string, unknown>][] {
    const camera = ada.producerId('camera')!;
    const mic = ada.producerId('microphone')!;
    const bobConsumer = bob.remoteConsumers().find((c) => c.kind === 'video')!.id;
    const { send: adaSend } = ada.transportIds();
    const { recv: bobRecv } = bob.transportIds();
    const dtlsParameters = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AB:CD' }] };
    return [
      ['closeProducer', { producerId: camera }],
      ['pauseProducer', { producerId: camera }],
      ['resumeProducer', { producerId: mic }],
      ['consume', { transportId: bobRecv!, producerId: camera, rtpCapabilities }],
      ['connectTransport', { transportId: adaSend!, dtlsParameters }],
      ['restartIce', { transportId: adaSend! }],
      [
        'produce',
        {
          transportId: adaSend!,
          kind: 'audio',
          source: 'microphone',
          rtpParameters: { codecs: [{ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: 100 }] },
        },
      ],
      ['resumeConsumer', { consumerId: bobConsumer }],
      ['pauseConsumer', { consumerId: bobConsumer }],
      ['requestKeyFrame', { consumerId: bobConsumer }],
      ['setConsumerPriority', { consumerId: bobConsumer, priority: 1 }],
      ['setConsumerPreferredLayers', { consumerId: bobConsumer, spatialLayer: 0 }],
      // Our own receive transport, someone else's producer: fine in the same room, refused across rooms.
      ['consume', { transportId: ownRecv, producerId: camera, rtpCapabilities }],
    ];
  }

  async function attack(intruder: TestClient, room: string): Promise<Record<string, string>> {
    const join = await intruder.request('join', { room });
    expect(join.ok).toBe(true);
    const rtpCapabilities = (join.ok ? join.data : {}) as { routerRtpCapabilities: unknown };
    const recv = await intruder.request('createTransport', { direction: 'recv' });
    const ownRecv = recv.ok ? (recv.data as { id: string }).id : '';
    const results: Record<string, string> = {};
    for (const [i, [method, data]] of intrusions(ownRecv, rtpCapabilities.routerRtpCapabilities).entries()) {
      results[`${i}:${method}`] = code(await intruder.request(method, data));
    }
    return results;
  }

  it('refuses every use of another room’s transports, producers and consumers, and media is untouched', async () => {
    const before = await decoded();
    const mallory = await open('Mallory');
    const results = await attack(mallory, ROOM_B);
    console.log(`another room's ids: ${JSON.stringify(results)}`);
    expect(Object.values(results).every((c) => c === 'NOT_FOUND')).toBe(true);
    await waitFor('Bob to keep decoding Ada', async () => (await decoded()) > before + 15, 10_000);
    expect(bob.pausedProducers.size).toBe(0);
    expect(ada.producerId('camera')).toBeDefined();
  });

  it('refuses every use of another peer’s objects in the same room (but lets it consume what it may)', async () => {
    const before = await decoded();
    const eve = await open('Eve');
    const results = await attack(eve, ROOM_A);
    console.log(`another peer's ids in the same room: ${JSON.stringify(results)}`);
    const last = Object.keys(results).at(-1)!;
    expect(results[last]).toBe('OK');
    delete results[last];
    expect(Object.values(results).every((c) => c === 'NOT_FOUND')).toBe(true);
    await waitFor('Bob to keep decoding Ada', async () => (await decoded()) > before + 15, 10_000);
    expect(bob.pausedProducers.size).toBe(0);
    expect(bob.remoteConsumers().filter((c) => c.peerId === ada.peerId)).toHaveLength(2);
  });

  it('refuses a resume token replayed after leave, on any connection of the same user', async () => {
    const carl = await open('Carl');
    const join = await carl.request('join', { room: ROOM_A });
    const { resumeToken } = (join.ok ? join.data : {}) as { resumeToken: string };
    expect((await carl.request('leave')).ok).toBe(true);
    // On the same connection, and on a fresh one with the same identity.
    expect(code(await carl.request('resume', { resumeToken }))).toBe('NOT_FOUND');
    const again = await open('Carl');
    expect(code(await again.request('resume', { resumeToken }))).toBe('NOT_FOUND');
    // Garbage tokens of every allowed length are unknown, not errors.
    expect(code(await again.request('resume', { resumeToken: 'x'.repeat(16) }))).toBe('NOT_FOUND');
    expect(code(await again.request('resume', { resumeToken: 'x'.repeat(129) }))).toBe('BAD_REQUEST');
  });

  it('checks a resume against the presenting token: its room and its grants', async () => {
    const dana = await open('Dana');
    const join = await dana.request('join', { room: ROOM_A });
    const { resumeToken } = (join.ok ? join.data : {}) as { resumeToken: string };
    const send = await dana.request('createTransport', { direction: 'send' });
    const sendId = send.ok ? (send.data as { id: string }).id : '';
    dana.ws.terminate();
    await new Promise((r) => setTimeout(r, 300));
    const roomB = await open('Dana', { room: ROOM_B });
    const wrongRoom = code(await roomB.request('resume', { resumeToken }));
    const listener = await open('Dana', { grants: { canPublish: false, canSubscribe: true, sources: [] } });
    const resumed = await listener.request('resume', { resumeToken });
    const produce = resumed.ok
      ? code(
          await listener.request('produce', {
            transportId: sendId,
            kind: 'audio',
            source: 'microphone',
            rtpParameters: { codecs: [] },
          }),
        )
      : 'NOT RESUMED';
    console.log(`resume with a room-B token: ${wrongRoom}; produce after resuming with a listen-only token: ${produce}`);
    expect([wrongRoom, produce]).toEqual(['FORBIDDEN', 'FORBIDDEN']);
  });

  it('keeps the lobby from a token scoped to one room', async () => {
    const scoped = await open('Scoped', { room: ROOM_B });
    const lobby = await scoped.request('subscribeLobby');
    console.log(
      `subscribeLobby with a room-scoped token: ${code(lobby)}${lobby.ok ? ` (sees ${JSON.stringify(lobby.data).length} bytes of other rooms)` : ''}`,
    );
    expect(code(lobby)).toBe('FORBIDDEN');
  });

  it('refuses every source outside the grant', async () => {
    const camOnly = await open('CamOnly', { grants: { canPublish: true, canSubscribe: true, sources: ['camera'] } });
    await camOnly.request('join', { room: ROOM_A });
    const send = await camOnly.request('createTransport', { direction: 'send' });
    const transportId = send.ok ? (send.data as { id: string }).id : '';
    const rtpParameters = {
      codecs: [{ mimeType: 'video/VP8', clockRate: 90000, payloadType: 101 }],
      encodings: [{ ssrc: 1111 }],
    };
    for (const source of ['screen', 'screen-audio', 'microphone']) {
      expect(await camOnly.request('produce', { transportId, kind: 'video', source, rtpParameters })).toMatchObject({
        ok: false,
        error: { code: 'FORBIDDEN', message: `this token may not publish ${source}` },
      });
    }
  });
});
