import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../bots/bot.ts';
import { startDistributed, token, wsUrl } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { RegistryReader } from '../../harness/registry.ts';
import { TestClient } from '../../harness/ws-client.ts';
import type { ClientResponse } from '../../protocol/client.ts';
import type { ParleyError } from '../../protocol/errors.ts';
import { subjects } from '../../protocol/subjects.ts';

const opus = {
  codecs: [{ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: 100 }],
  encodings: [{ ssrc: 1111 }],
};
const vp8 = { codecs: [{ mimeType: 'video/VP8', clockRate: 90000, payloadType: 101 }], encodings: [{ ssrc: 2222 }] };

/**
 * Per-peer caps and the kind of each source, enforced by the media worker (the real mediasoup one) so that
 * neither a client through signaling nor a NATS client speaking to the worker directly gets past them: issue
 * #14 saw 1,143 transports on one peer, 200 producers on one transport, and video published as "microphone".
 */
describe('per-peer caps and source kinds', () => {
  let cluster: Cluster;
  let registry: RegistryReader;
  let instanceId: string;
  const clients: TestClient[] = [];
  const code = (r: ClientResponse) => (r.ok ? 'OK' : r.error.code);

  const member = async (name: string, options?: Parameters<typeof token>[1]) => {
    const c = await TestClient.open(wsUrl(cluster.signaling[0]!, await token(name, options)));
    clients.push(c);
    const join = await c.request('join', { room: 'caps' });
    return { client: c, peerId: join.ok ? (join.data as { peerId: string }).peerId : '' };
  };

  beforeAll(async () => {
    cluster = await startDistributed();
    registry = await RegistryReader.open(cluster.nats!.url);
    instanceId = (await waitFor('the registry', async () => (await registry.loads())[0]))!.instanceId;
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await registry?.close();
    await cluster?.stop();
  });

  it('refuses the 5th transport and the 2nd microphone with LIMIT; closing one frees its slot', async () => {
    const { client } = await member('Hoarder');
    const transports = [];
    for (let i = 0; i < 5; i++) transports.push(await client.request('createTransport', { direction: i % 2 ? 'recv' : 'send' }));
    console.log(`five createTransport: ${transports.map(code).join(',')}`);
    expect(transports.map(code)).toEqual(['OK', 'OK', 'OK', 'OK', 'LIMIT']);
    const sendId = (transports[0]!.ok ? transports[0]!.data : {}) as { id: string };

    const produce = (source: string, kind: string, rtpParameters: unknown) =>
      client.request('produce', { transportId: sendId.id, kind, source, rtpParameters });
    const first = await produce('microphone', 'audio', opus);
    const second = await produce('microphone', 'audio', { ...opus, encodings: [{ ssrc: 3333 }] });
    const camera = await produce('camera', 'video', vp8);
    console.log(`microphone, microphone, camera: ${[first, second, camera].map(code).join(',')}`);
    expect([first, second, camera].map(code)).toEqual(['OK', 'LIMIT', 'OK']);
    expect(second).toMatchObject({ error: { message: expect.stringContaining('at most 1 microphone') } });

    // Twenty at once: the cap holds while mediasoup is still answering.
    const burst = await Promise.all(
      Array.from({ length: 20 }, (_, i) => produce('screen', 'video', { ...vp8, encodings: [{ ssrc: 5000 + i }] })),
    );
    expect(burst.filter((r) => r.ok)).toHaveLength(1);

    const micId = (first.ok ? first.data : {}) as { producerId: string };
    expect(code(await client.request('closeProducer', { producerId: micId.producerId }))).toBe('OK');
    expect(code(await produce('microphone', 'audio', { ...opus, encodings: [{ ssrc: 4444 }] }))).toBe('OK');
  });

  it('refuses video labelled "microphone" from a microphone-only token (signaling), FORBIDDEN', async () => {
    const { client } = await member('MicOnly', { grants: { canPublish: true, canSubscribe: true, sources: ['microphone'] } });
    const send = await client.request('createTransport', { direction: 'send' });
    const transportId = (send.ok ? send.data : {}) as { id: string };
    const disguised = await client.request('produce', {
      transportId: transportId.id,
      kind: 'video',
      source: 'microphone',
      rtpParameters: vp8,
    });
    console.log(`video as "microphone" through signaling: ${code(disguised)} ${disguised.ok ? '' : disguised.error.message}`);
    expect(disguised).toMatchObject({ ok: false, error: { code: 'FORBIDDEN', message: 'microphone is audio, not video' } });
    // The right kind with a video codec: mediasoup would take it, so the parameters are checked against the kind.
    const mislabelled = await client.request('produce', {
      transportId: transportId.id,
      kind: 'audio',
      source: 'microphone',
      rtpParameters: vp8,
    });
    console.log(`audio kind with VP8 parameters: ${code(mislabelled)}`);
    expect(mislabelled).toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST', message: 'audio producers cannot carry video/VP8' },
    });
  });

  it('refuses it at the media worker too, for a NATS client that skips signaling', async () => {
    const { client, peerId } = await member('Direct');
    const send = await client.request('createTransport', { direction: 'send' });
    const transportId = (send.ok ? send.data : {}) as { id: string };
    const direct = await registry.bus
      .request(subjects.mediaCommand(instanceId, 'produce'), {
        roomId: 'caps',
        peerId,
        transportId: transportId.id,
        kind: 'video',
        source: 'microphone',
        rtpParameters: vp8,
      })
      .then(
        () => 'OK',
        (err: ParleyError) => `${err.code} ${err.message}`,
      );
    console.log(`video as "microphone" straight to the media worker: ${direct}`);
    expect(direct).toBe('FORBIDDEN microphone is audio, not video');
  });
});
