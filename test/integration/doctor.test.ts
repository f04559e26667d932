import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bot } from '../../bots/bot.ts';
import { waitFor } from '../../harness/wait.ts';
import type { BotFaults, BotOptions } from '../../bots/bot.ts';
import type { Subscription } from '../../bus/bus.ts';
import { z } from 'zod';
import { subjects } from '../../protocol/subjects.ts';
import { RoomDiagnosis, SpanRecord } from '../../protocol/telemetry.ts';
import { DebugIncidentsResponse } from '../../protocol/http.ts';
import type { ConsumerHealth, HealthCause } from '../../protocol/telemetry.ts';
import { startDistributed, token } from '../../harness/cluster.ts';
import { MEDIASOUP_INACTIVITY_MS, rtpTesters, TEST_LAYERS } from '../../harness/rtp-testers.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { freePort } from '../../harness/ports.ts';
import { RegistryReader } from '../../harness/registry.ts';

/**
 * The black-screen doctor against real faults, one per cause: Node bots misbehave on purpose (bots/faults.ts:
 * a subscriber that never resumes and keeps closed tiles, one without VP8, one whose receive transport never
 * connects, one whose decoder hangs; a publisher that mutes, whose camera hangs, that closes
 * its camera, that cannot be asked for key frames) and the dashboard's API (signaling asks the media worker's
 * `diagnose`) must name exactly the right cause within 3 s of the fault's onset, then repair what it can.
 */
const ROOM = 'doctor';
const NAMED_WITHIN_MS = 3_000;

let cluster: Cluster;
let registry: RegistryReader;
let admin: string;
let metricsPort: number;
let spansSub: Subscription;
const spans: SpanRecord[] = [];
const bots: Bot[] = [];

const join = async (name: string, options: Partial<BotOptions> & { room?: string } = {}) => {
  const bot = await Bot.join({ url: cluster.signaling[0]!, room: ROOM, name, token: await token(name), ...options });
  bots.push(bot);
  return bot;
};
/** As the dashboard sees it: the signaling instance's debug API, which asks the media worker (peer ids are unique). */
const peerOf = async (peerId: string) => {
  const res = await fetch(`${cluster.signaling[0]}/debug/api/rooms`, { headers: { authorization: `Bearer ${admin}` } });
  const { rooms } = z.object({ rooms: z.array(RoomDiagnosis) }).parse(await res.json());
  return rooms.flatMap((r) => r.peers).find((p) => p.id === peerId);
};
const consumersOf = async (peerId: string): Promise<ConsumerHealth[]> => (await peerOf(peerId))?.consumers ?? [];
const healthOf = async (peerId: string, consumerId: string) =>
  (await consumersOf(peerId)).find((c) => c.consumerId === consumerId);

/**
 * Polls until the consumer is named `cause`; returns how long after `onset` (epoch ms, or read once named) the
 * doctor named it and every cause it showed meanwhile (so a wrong name on the way fails the test). `watch`
 * sees every poll.
 */
const named = async (
  peerId: string,
  consumerId: string,
  cause: HealthCause,
  onset: number | (() => number),
  watch: (h: ConsumerHealth | undefined) => void = () => undefined,
) => {
  const seen = new Set<string>();
  const health = await waitFor(
    `${consumerId} to be named ${cause}`,
    async () => {
      const h = await healthOf(peerId, consumerId);
      watch(h);
      // A wrong cause is kept with its detail, so a failure says which rule named it.
      if (h?.cause) seen.add(h.cause === cause ? cause : `${h.cause}: ${h.detail}`);
      return h?.cause === cause ? h : undefined;
    },
    10_000,
  );
  const ms = health.since - (typeof onset === 'number' ? onset : onset());
  console.log(`named ${cause} in ${(ms / 1000).toFixed(2)} s`);
  expect([...seen]).toEqual([cause]);
  expect(ms).toBeLessThan(NAMED_WITHIN_MS);
  return health;
};
const becomesHealthy = (peerId: string, consumerId: string) =>
  waitFor(`${consumerId} to be healthy again`, async () => (await healthOf(peerId, consumerId))?.status === 'healthy', 10_000);

beforeAll(async () => {
  metricsPort = await freePort();
  cluster = await startDistributed({ env: { MEDIA_METRICS_PORT: String(metricsPort) } });
  admin = await token('Operator', { admin: true });
  registry = await RegistryReader.open(cluster.nats!.url);
  await waitFor('the media worker to register', async () => (await registry.loads())[0]);
  spansSub = registry.bus.subscribe(subjects.telemetrySpans, (msg) => {
    for (const s of (msg.data as { spans: unknown[] }).spans) {
      const parsed = SpanRecord.safeParse(s);
      if (parsed.success) spans.push(parsed.data);
    }
  });
});
afterAll(async () => {
  spansSub?.unsubscribe();
  bots.forEach((b) => b.close());
  await registry?.close();
  await cluster?.stop();
});

describe('black-screen doctor: injected faults are named within 3 s', () => {
  let ada: Bot;
  let bob: Bot;
  /** Bob's consumer of Ada's camera. */
  let bobsCamera: string;

  beforeAll(async () => {
    ada = await join('Ada');
    await ada.publish();
  });

  it('names consumer-never-resumed, resumes it server-side, and the picture arrives', async () => {
    bob = await join('Bob', { faults: { neverResume: true, keepClosedConsumers: true } });
    const camera = ada.producerId('camera')!;
    const consumer = await waitFor('Bob to consume Ada’s camera', () =>
      bob.remoteConsumers().find((c) => c.producerId === camera),
    );
    bobsCamera = consumer.id;
    const health = await named(bob.peerId, bobsCamera, 'consumer-never-resumed', consumer.consumedAt);
    expect(health.traceId).toMatch(/^[0-9a-f]{32}$/);
    await waitFor(
      'Bob to decode Ada after the doctor resumed his consumer',
      async () => (await bob.stats()).videoFramesDecoded > 0,
      10_000,
    );
    await becomesHealthy(bob.peerId, bobsCamera);
    const after = await waitFor('Bob to report decoded frames', async () => {
      const h = await healthOf(bob.peerId, bobsCamera);
      return (h?.client?.framesDecoded ?? 0) > 0 ? h : undefined;
    });
    expect(after.status).toBe('healthy');
    expect(after.remediations).toContainEqual(
      expect.objectContaining({ action: 'resume-consumer', cause: 'consumer-never-resumed' }),
    );
    expect(after.server.paused).toBe(false);
    expect(after.server.keyFrames).toBeGreaterThan(0);
  });

  it('names producer-paused while the publisher is muted, healthy again after', async () => {
    const onset = Date.now();
    await ada.setPaused('camera', true);
    await named(bob.peerId, bobsCamera, 'producer-paused', onset);
    await ada.setPaused('camera', false);
    await becomesHealthy(bob.peerId, bobsCamera);
  });

  it('names codec-unsupported for a subscriber that cannot decode VP8, and only for the camera', async () => {
    const cara = await join('Cara', { faults: { withoutCodecs: ['video/VP8'] } });
    const failure = await waitFor('Cara’s consume of the camera to be refused', () =>
      cara.requestErrors.find((e) => e.method === 'consume'),
    );
    const onset = Date.now() - (performance.now() - failure.at);
    await named(cara.peerId, `unsupported-${ada.producerId('camera')}`, 'codec-unsupported', onset);
    const microphone = ada.producerId('microphone');
    await waitFor('Cara’s microphone consumer to be healthy', async () =>
      (await consumersOf(cara.peerId)).some((c) => c.producerId === microphone && c.status === 'healthy'),
    );
  });

  it('names encoder-stalled when the publisher’s camera hangs, tells the viewer, captures the track again', async () => {
    const onset = Date.now();
    ada.stopSource('camera');
    const health = await named(bob.peerId, bobsCamera, 'encoder-stalled', onset);
    expect(health.server.producerPaused).toBe(false);
    const notice = await waitFor('Bob to be told why Ada’s tile froze', () => bob.notices.get(bobsCamera));
    expect(notice).toMatchObject({ status: 'unhealthy', cause: 'encoder-stalled', traceId: health.traceId });
    const publishing = await waitFor('the doctor to capture Ada’s camera again', async () => {
      const camera = (await peerOf(ada.peerId))?.publishing?.find((p) => p.source === 'camera');
      return camera?.status === 'healthy' ? camera : undefined;
    });
    expect(publishing.cause).toBeNull();
    await becomesHealthy(bob.peerId, bobsCamera);
    await waitFor('Bob’s notice to clear', () => !bob.notices.has(bobsCamera));
    console.log(`encoder-stalled repaired (reacquire-track) ${((Date.now() - onset) / 1000).toFixed(2)} s after the camera hung`);
  });

  it('names producer-closed for a client that keeps showing the closed consumer, and tells it again', async () => {
    const onset = Date.now();
    await ada.unpublish('camera');
    await named(bob.peerId, bobsCamera, 'producer-closed', onset);
    await waitFor('Bob to be told twice that the consumer closed', () => (bob.closedNotices.get(bobsCamera) ?? 0) >= 2, 5_000);
    const health = (await healthOf(bob.peerId, bobsCamera))!;
    expect(health.remediations).toContainEqual(expect.objectContaining({ action: 'close-consumer', cause: 'producer-closed' }));
  });

  it('keeps the consumer’s whole life in its trace', async () => {
    const lifecycle = await waitFor('the consumer’s lifecycle span to be relayed', () =>
      spans.find((s) => s.name === 'parley.consumer' && s.attributes['parley.consumer'] === bobsCamera),
    );
    const inTrace = spans.filter((s) => s.traceId === lifecycle.traceId);
    const happenings = [...lifecycle.events.map((e) => e.name), ...inTrace.map((s) => s.name.replace(/^parley\.consumer\./, ''))];
    const life = [
      'created',
      'remediation',
      'resumed',
      'first-rtp',
      'client-first-frame',
      'producer-paused',
      'producer-resumed',
      'producer-closed',
    ];
    for (const event of [...life, 'verdict']) expect(happenings).toContain(event);
    expect(inTrace.map((s) => s.name)).toContain('mediasoup.consume');
    expect(inTrace.map((s) => s.name)).toContain('mediasoup.resumeConsumer');
  });

  it('takes the publisher’s side only from the publisher: another peer’s report about it changes nothing', async () => {
    // Ada's camera is gone by now (producer-closed above); her microphone is not.
    const camera = (await peerOf(ada.peerId))!.publishing!.find((p) => p.source === 'microphone')!;
    expect(camera.status).toBe('healthy');
    const forged = {
      producerId: camera.producerId,
      kind: 'audio' as const,
      source: 'microphone' as const,
      trackEnded: true,
      trackMuted: true,
      transportState: 'failed' as const,
      layers: [],
    };
    for (let i = 0; i < 3; i++) {
      await bob.request('reportProducerStats', { producers: [forged] });
      await new Promise((r) => setTimeout(r, 500));
    }
    const after = (await peerOf(ada.peerId))!.publishing!.find((p) => p.producerId === camera.producerId)!;
    expect(after.status).toBe('healthy');
    expect(after.client?.trackEnded).toBe(false);
    // Oversized and malformed reports are refused with a typed error; the connection goes on.
    const tooMany = Array.from({ length: 9 }, () => forged);
    await expect(bob.request('reportProducerStats', { producers: tooMany })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const sixLayers = { ...forged, layers: Array.from({ length: 6 }, () => ({ active: true, bytesSent: 1 })) };
    await expect(bob.request('reportProducerStats', { producers: [sixLayers] })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(bob.connected).toBe(true);
  });

  it('shows incidents to admins only', async () => {
    const url = `${cluster.signaling[0]}/debug/api/incidents`;
    expect((await fetch(url)).status).toBe(401);
    const user = await token('Mallory');
    expect((await fetch(url, { headers: { authorization: `Bearer ${user}` } })).status).toBe(403);
    const res = await fetch(url, { headers: { authorization: `Bearer ${admin}` } });
    expect(res.status).toBe(200);
    expect(DebugIncidentsResponse.parse(await res.json()).correlator).toMatch(/^sig-/);
  });

  it('exports verdicts and repairs to Prometheus', async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(text).toMatch(
      /parley_consumer_health\{instance="[^"]+",status="unhealthy",cause="codec-unsupported",region="default"\} 1/,
    );
    expect(text).toMatch(/parley_consumer_health\{instance="[^"]+",status="healthy",cause="",region="default"\} \d+/);
    expect(text).toMatch(
      /parley_consumer_remediations_total\{instance="[^"]+",action="resume-consumer",cause="consumer-never-resumed",region="default"\} [1-9]/,
    );
  });
});

/**
 * Faults the doctor repairs by asking the client (or cannot repair), each in a room of its own: a publisher
 * (whose picture is healthy elsewhere) and one subscriber, which closes at the end of the test.
 */
describe('black-screen doctor: client-side faults are named within 3 s and repaired', () => {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const inRoom = async (room: string) => {
    const bot = await join(`${room}-publisher`, { room });
    await bot.publish();
    return bot;
  };
  const cameraConsumer = (bot: Bot, camera: string) =>
    waitFor(`${bot.name} to consume the camera`, () => bot.remoteConsumers().find((c) => c.producerId === camera));
  const decodes = (bot: Bot) =>
    waitFor(`${bot.name} to decode video`, async () => (await bot.stats()).videoFramesDecoded > 0, 10_000);
  const metric = async (pattern: RegExp) => pattern.test(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());

  it('names transport-not-connected when the receive transport’s connect is lost; restart-ice, then mediaReset, and the picture comes back', async () => {
    const publisher = await inRoom('doctor-transport');
    const camera = publisher.producerId('camera')!;
    const viewer = await join('Dana', { room: 'doctor-transport', faults: { lostFirstRecvConnect: true } });
    const createdAt = viewer.faultOnsets.lostFirstRecvConnect!;
    const recvTransport = viewer.transportIds().recv!;
    // Its side of the consume never completes (mediasoup-client waits for the connect), so ask the server.
    const stuck = await waitFor('the server to make Dana’s camera consumer', async () =>
      (await consumersOf(viewer.peerId)).find((c) => c.producerId === camera),
    );
    const health = await named(viewer.peerId, stuck.consumerId, 'transport-not-connected', createdAt);
    expect(health.detail).toMatch(/dtls (new|connecting)/);
    expect(health.remediations).toContainEqual(
      expect.objectContaining({ action: 'restart-ice', cause: 'transport-not-connected' }),
    );
    const restartAt = health.remediations.find((r) => r.action === 'restart-ice')!.at;
    expect(viewer.remedies).toContainEqual(expect.objectContaining({ action: 'restart-ice', transportId: recvTransport }));

    await waitFor('the doctor to have Dana rebuild her transports', () => viewer.resets === 1, 10_000);
    expect(viewer.lastResetAt!).toBeGreaterThan(restartAt);
    expect(
      await metric(
        /parley_consumer_remediations_total\{[^}]*action="reset-media",cause="transport-not-connected",region="default"\} [1-9]/,
      ),
    ).toBe(true);
    await decodes(viewer);
    expect(viewer.transportIds().recv).not.toBe(recvTransport);
    const fresh = await cameraConsumer(viewer, camera);
    expect(fresh.id).not.toBe(stuck.consumerId);
    await becomesHealthy(viewer.peerId, fresh.id);
    const healthyAt = Date.now();
    console.log(
      `transport created → named ${seconds(health.since - createdAt)}, restart-ice (for the transport) ${seconds(restartAt - createdAt)}, ` +
        `mediaReset ${seconds(viewer.lastResetAt! - createdAt)}, new consumer healthy by ${seconds(healthyAt - createdAt)}`,
    );
    viewer.close();
    publisher.close();
  });

  // A simulcast consumer awaiting its layer's key frame has no current layer either: still no-key-frame.
  const simulcast = [
    { scaleResolutionDownBy: 4, maxBitrate: 150_000 },
    { scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  ];
  it.each([
    ['simple', undefined],
    ['simulcast', simulcast],
  ])(
    'names no-key-frame for a late viewer (%s) of a publisher that cannot be asked for key frames, and asks for them',
    async (type, encodings) => {
      const room = `doctor-key-frame-${type}`;
      const publisher = await join(`${room}-publisher`, { room, faults: { deafToKeyFrameRequests: true } });
      await publisher.publish({ simulcast: encodings });
      const camera = publisher.producerId('camera')!;
      // Well after the encoder's first key frame: unasked, libwebrtc sends the next one only minutes later.
      await new Promise((r) => setTimeout(r, 2_000));
      const viewer = await join(`Eli-${type}`, { room });
      const consumer = await cameraConsumer(viewer, camera);
      const health = await named(viewer.peerId, consumer.id, 'no-key-frame', consumer.consumedAt);
      expect(health.server.preferredSpatialLayer !== null).toBe(type === 'simulcast');
      expect(health.remediations).toContainEqual(expect.objectContaining({ action: 'request-key-frame', cause: 'no-key-frame' }));
      // Asking again and again does not help: the fault does not heal on its own.
      await new Promise((r) => setTimeout(r, 2_000));
      const later = (await healthOf(viewer.peerId, consumer.id))!;
      expect(later.cause).toBe('no-key-frame');
      expect(later.server.keyFrames).toBe(0);
      expect(later.server.producerPacketCount).toBeGreaterThan(health.server.producerPacketCount);
      expect(later.remediations.filter((r) => r.action === 'request-key-frame').length).toBeGreaterThan(1);
      expect((await viewer.stats()).videoFramesDecoded).toBe(0);
      console.log(
        `consumed → named no-key-frame ${seconds(health.since - consumer.consumedAt)}, key frames asked ${later.remediations.length} times`,
      );
      viewer.close();
      publisher.close();
    },
  );

  it('names decoder-stall when a viewer’s decoder hangs; a key frame, then reconsume, and the new consumer decodes', async () => {
    const publisher = await inRoom('doctor-decoder');
    const camera = publisher.producerId('camera')!;
    const faults: BotFaults = {};
    const viewer = await join('Fay', { room: 'doctor-decoder', faults });
    const consumer = await cameraConsumer(viewer, camera);
    await waitFor('Fay’s camera consumer to be healthy, decoding', async () => {
      const h = await healthOf(viewer.peerId, consumer.id);
      return h?.status === 'healthy' && (h.client?.framesDecoded ?? 0) > 0;
    });
    faults.frozenDecoder = consumer.id;
    const frozenAt = await waitFor('the decoder to freeze', () => viewer.faultOnsets.frozenDecoder);
    const health = await named(viewer.peerId, consumer.id, 'decoder-stall', frozenAt);
    expect(health.remediations).toContainEqual(expect.objectContaining({ action: 'request-key-frame', cause: 'decoder-stall' }));
    const reconsume = await waitFor(
      'the doctor to ask Fay to consume again',
      () => viewer.remedies.find((r) => r.action === 'reconsume'),
      10_000,
    );
    expect(reconsume).toMatchObject({ consumerId: consumer.id, producerId: camera, cause: 'decoder-stall' });
    const reconsumedAt = Date.now();
    const fresh = await waitFor('Fay’s new camera consumer', () =>
      viewer.remoteConsumers().find((c) => c.producerId === camera && c.id !== consumer.id),
    );
    await becomesHealthy(viewer.peerId, fresh.id);
    const after = await waitFor('the new consumer to report decoded frames', async () => {
      const h = await healthOf(viewer.peerId, fresh.id);
      return (h?.client?.framesDecoded ?? 0) > 0 ? h : undefined;
    });
    expect(after.status).toBe('healthy');
    expect(await healthOf(viewer.peerId, consumer.id)).toBeUndefined();
    console.log(
      `frozen → named decoder-stall ${seconds(health.since - frozenAt)}, reconsume asked by ${seconds(reconsumedAt - frozenAt)}`,
    );
    viewer.close();
    publisher.close();
  });
});

/**
 * layer-unavailable, injected deterministically: a load-test publisher on plain RTP (bench/rtp) sends its three
 * VP8 layers, then padding only on every one. mediasoup counts padding as received (the producer is not idle)
 * but lets no padding keep a simulcast stream active: 1.5 s after the last media packet (its RTP inactivity
 * check) every layer scores 0 and the consumer has none to forward. The viewer is a plain-RTP tester too, so no
 * decoder can be blamed first.
 */
describe('black-screen doctor: a producer that sends but has no layer to forward', () => {
  let testers: ReturnType<typeof rtpTesters>;
  beforeAll(() => {
    testers = rtpTesters(cluster.signaling[0]!, 'doctor-layers');
  });
  afterAll(() => testers?.close());

  it('names layer-unavailable when every layer sends padding only, and healthy once media returns', async () => {
    const publisher = await testers.join('Layers-publisher');
    const viewer = await testers.join('Layers-viewer');
    const camera = await publisher.publish({ kind: 'video', layers: TEST_LAYERS });
    const consumerId = await viewer.consume(camera, 'video');
    const [received] = [...viewer.received.values()];
    await waitFor('the viewer to receive video', () => received!.counter.received > 30, 10_000);
    await becomesHealthy(viewer.peerId, consumerId);

    const paddedAt = Date.now();
    publisher.paddingOnly(camera, true);
    const health = await named(viewer.peerId, consumerId, 'layer-unavailable', paddedAt + MEDIASOUP_INACTIVITY_MS);
    expect(health.detail).toMatch(/no spatial layer to forward/);
    const before = received!.counter.received;
    await new Promise((r) => setTimeout(r, 500));
    expect(received!.counter.received - before).toBeLessThan(5); // padding is not forwarded

    publisher.paddingOnly(camera, false);
    await becomesHealthy(viewer.peerId, consumerId);
    await waitFor('video again', () => received!.counter.received > before + 30, 10_000);
  });
});
