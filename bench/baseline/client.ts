import { Device } from 'mediasoup-client';
import type { types } from 'mediasoup-client';
import type { ProducerInfo } from '../../protocol/room.ts';
import { SignalingSocket } from '../../client/socket.ts';
import { createTransport } from '../../client/transport.ts';

/**
 * The bench page's client: the minimal mediasoup-client flow, the same against Parley's signaling and the
 * bare baseline server (both speak the same request/response protocol), so the two numbers differ only by
 * what the server does. Bundled by bench/lib/page.ts into bench/baseline/dist/client.js.
 */
interface Joined {
  signaling: SignalingSocket;
  device: Device;
  producers: ProducerInfo[];
}

async function join(
  url: string,
  onProducer: (p: ProducerInfo) => void = () => undefined,
  mark: (step: 'opened' | 'joinReplied') => void = () => undefined,
): Promise<Joined> {
  // The URL carries what the server needs (Parley: `?v=1&token=…`; the bare baseline: nothing).
  const signaling = await SignalingSocket.open(
    url,
    [],
    (n) => {
      if (n.notification === 'newProducer') onProducer(n.data.producer);
    },
    () => undefined,
  );
  mark('opened');
  const snapshot = await signaling.request('join', { room: 'bench' });
  mark('joinReplied');
  const device = new Device();
  await device.load({ routerRtpCapabilities: snapshot.routerRtpCapabilities as types.RtpCapabilities });
  return { signaling, device, producers: snapshot.producers };
}

/** Joins and publishes the fake camera until the page closes (smaller pictures for a room of many publishers). */
async function publish(url: string, size: { width: number; height: number } = { width: 640, height: 360 }): Promise<void> {
  const { signaling, device } = await join(url);
  const send = await createTransport(device, signaling, 'send');
  const stream = await navigator.mediaDevices.getUserMedia({ video: { ...size, frameRate: 30 } });
  const track = stream.getVideoTracks()[0];
  if (!track) throw new Error('no camera track');
  await send.produce({ track, appData: { source: 'camera' } });
}

/** When each step of a measured join finished, in ms since the join started (the bench prints their medians). */
export interface JoinPhases {
  opened: number;
  joinReplied: number;
  /** …and the Device loaded. */
  joined: number;
  recvTransport: number;
  consumed: number;
  connectSent: number;
  localConsumer: number;
  resumed: number;
  transportConnected: number;
  firstFrame: number;
}

/**
 * One measured join: socket open → join → device load → receive transport → consume the first video
 * producer → resume → first frame painted into a <video> (requestVideoFrameCallback). Then leaves.
 */
async function timeJoin(url: string): Promise<{ joinMs: number; firstFrameMs: number; phases: JoinPhases }> {
  const started = performance.now();
  const since = () => performance.now() - started;
  const phases: Partial<JoinPhases> = {};
  let announced: (p: ProducerInfo) => void = () => undefined;
  const later = new Promise<ProducerInfo>((resolve) => (announced = resolve));
  const { signaling, device, producers } = await join(
    url,
    (p) => announced(p),
    (step) => (phases[step] = since()),
  );
  phases.joined = since();
  const recv = await createTransport(device, signaling, 'recv');
  const joinMs = since();
  phases.recvTransport = joinMs;
  // createTransport's own listener sends connectTransport; this one only times when the DTLS parameters were ready.
  recv.on('connect', () => {
    phases.connectSent = since();
  });
  const connected = new Promise<void>((resolve) =>
    recv.on('connectionstatechange', (state) => {
      if (state !== 'connected') return;
      phases.transportConnected = since();
      resolve();
    }),
  );
  const producer = producers.find((p) => p.kind === 'video') ?? (await later);
  const { painted } = await watch({ signaling, device }, recv, producer, (step) => (phases[step] = since()));
  phases.firstFrame = (await painted) - started;
  // Chrome can paint the first frame before it dispatches the transport's 'connected' (the two cross different
  // threads): wait for it, or the sample would lack the phase.
  await connected;
  await leave(signaling, recv);
  return { joinMs, firstFrameMs: phases.firstFrame, phases: phases as JoinPhases };
}

/**
 * A newcomer to a room of publishers: joins, consumes every video at once (each resumed as soon as its
 * consumer exists) and times the first and the last picture painted. Then leaves.
 */
async function timeJoinAll(url: string, publishers: number): Promise<{ firstFrameMs: number; everyFrameMs: number }> {
  const started = performance.now();
  const joined = await join(url);
  const videos = joined.producers.filter((p) => p.kind === 'video');
  if (videos.length < publishers) throw new Error(`expected ${publishers} cameras in the room, found ${videos.length}`);
  const recv = await createTransport(joined.device, joined.signaling, 'recv');
  const painted = await Promise.all(videos.map(async (p) => (await (await watch(joined, recv, p)).painted) - started));
  await leave(joined.signaling, recv);
  return { firstFrameMs: Math.min(...painted), everyFrameMs: Math.max(...painted) };
}

type Step = 'consumed' | 'localConsumer' | 'resumed';

/** Consumes one video into a new <video> and resumes it; `painted` is when its first frame was painted. */
async function watch(
  { signaling, device }: Pick<Joined, 'signaling' | 'device'>,
  recv: types.Transport,
  producer: ProducerInfo,
  mark: (step: Step) => void = () => undefined,
): Promise<{ painted: Promise<number> }> {
  const options = await signaling.request('consume', {
    transportId: recv.id,
    producerId: producer.id,
    rtpCapabilities: device.recvRtpCapabilities as Record<string, unknown>,
  });
  mark('consumed');
  const consumer = await recv.consume({
    id: options.id,
    producerId: options.producerId,
    kind: options.kind,
    rtpParameters: options.rtpParameters as types.RtpParameters,
  });
  mark('localConsumer');
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  video.srcObject = new MediaStream([consumer.track]);
  document.getElementById('videos')?.append(video);
  const painted = new Promise<number>((resolve) => video.requestVideoFrameCallback(() => resolve(performance.now())));
  await signaling.request('resumeConsumer', { consumerId: consumer.id });
  mark('resumed');
  return { painted };
}

async function leave(signaling: SignalingSocket, recv: types.Transport): Promise<void> {
  await signaling.request('leave', {}).catch(() => undefined);
  recv.close();
  signaling.close();
  for (const video of document.querySelectorAll('#videos video')) video.remove();
}

export interface BenchApi {
  publish: typeof publish;
  timeJoin: typeof timeJoin;
  timeJoinAll: typeof timeJoinAll;
}

declare global {
  interface Window {
    bench: BenchApi;
  }
}
window.bench = { publish, timeJoin, timeJoinAll };
