import dgram from 'node:dgram';
import WebSocket from 'ws';
import { SignalingSocket, socketTarget } from '../../client/socket.ts';
import type { WebSocketConstructor } from '../../client/socket.ts';
import type { PlainTransportOptions } from '../../protocol/operations.ts';
import type { RtpCapabilities, RtpParameters } from '../../protocol/webrtc.ts';
import { StreamCounter } from './counter.ts';
import { emptyReceiverReport, keyFrameRequests, readRtp } from './packets.ts';
import { RtpStream } from './source.ts';
import type { StreamSpec } from './source.ts';

/** What a tester peer publishes: one Opus track, or VP8 in simulcast layers (lowest first). */
export type Publication =
  | { kind: 'audio'; bitsPerSecond: number }
  | { kind: 'video'; layers: { bitsPerSecond: number; fps: number }[] };

const AUDIO_PT = 111;
const RECV_BUFFER_BYTES = 4 * 1024 * 1024;
const VIDEO_PT = 96;
const CLOCK = { audio: 48_000, video: 90_000 } as const;

/**
 * One load-test participant on plain RTP: it joins through the real signaling path with the SDK's socket (a
 * token with the `loadTest` grant), then publishes generated RTP on one PlainTransport and consumes onto
 * another, counting packets by sequence number. No ICE, DTLS, SRTP, jitter buffer or codec: a tester core
 * drives thousands of streams. Against the bare baseline server the same requests work without a token.
 */
export class RtpPeer {
  readonly streams: RtpStream[] = [];
  private streamsOf = new Map<string, RtpStream[]>();
  /** Received streams by SSRC, with the producer each one is of. */
  readonly received = new Map<number, { producerId: string; counter: StreamCounter }>();
  private send?: { socket: dgram.Socket; options: PlainTransportOptions };
  private recv?: { socket: dgram.Socket; options: PlainTransportOptions };
  private sending?: Promise<{ socket: dgram.Socket; options: PlainTransportOptions }>;
  private receiving?: Promise<{ socket: dgram.Socket; options: PlainTransportOptions }>;
  private consumerIds: string[] = [];

  private constructor(
    private readonly signaling: SignalingSocket,
    readonly peerId: string,
    readonly routerRtpCapabilities: RtpCapabilities,
  ) {}

  /** `region`: where to have this peer's media placed (as a client that timed the regions asks). */
  static async join(url: string, room: string, token?: string, region?: string): Promise<RtpPeer> {
    const target = socketTarget(url, token);
    const signaling = await SignalingSocket.open(
      target.url,
      target.protocols,
      () => undefined,
      () => undefined,
      WebSocket as unknown as WebSocketConstructor,
    );
    const snapshot = await signaling.request('join', region ? { room, region } : { room });
    return new RtpPeer(signaling, snapshot.peerId, snapshot.routerRtpCapabilities as RtpCapabilities);
  }

  /** Produces `publication` on this peer's send transport and starts its streams; returns the producer id. */
  async publish(publication: Publication, now = performance.now()): Promise<string> {
    const send = await this.sendTransport();
    const specs: StreamSpec[] =
      publication.kind === 'audio'
        ? [{ ssrc: newSsrc(), kind: 'audio', payloadType: AUDIO_PT, bitsPerSecond: publication.bitsPerSecond, rate: 50 }]
        : publication.layers.map((l) => ({
            ssrc: newSsrc(),
            kind: 'video',
            payloadType: VIDEO_PT,
            bitsPerSecond: l.bitsPerSecond,
            rate: l.fps,
          }));
    const codec =
      publication.kind === 'audio'
        ? { mimeType: 'audio/opus', payloadType: AUDIO_PT, clockRate: CLOCK.audio, channels: 2 }
        : { mimeType: 'video/VP8', payloadType: VIDEO_PT, clockRate: CLOCK.video };
    const rtpParameters: RtpParameters = {
      codecs: [{ ...codec, rtcpFeedback: publication.kind === 'video' ? [{ type: 'nack', parameter: 'pli' }] : [] }],
      encodings: specs.map((s) => ({ ssrc: s.ssrc, ...(publication.kind === 'video' && { scalabilityMode: 'L1T1' }) })),
      rtcp: { cname: `tester-${this.peerId}` },
    };
    const source = publication.kind === 'audio' ? 'microphone' : 'camera';
    const { producerId } = await this.signaling.request('produce', {
      transportId: send.options.id,
      kind: publication.kind,
      source,
      rtpParameters,
    });
    const streams = specs.map((s) => new RtpStream(s, now));
    this.streams.push(...streams);
    this.streamsOf.set(producerId, streams);
    return producerId;
  }

  /** Mutes a publication as a client does: the producer is paused and its streams stop. */
  async mute(producerId: string): Promise<void> {
    await this.signaling.request('pauseProducer', { producerId });
    const muted = new Set(this.streamsOf.get(producerId));
    this.streams.splice(0, this.streams.length, ...this.streams.filter((s) => !muted.has(s)));
  }

  /**
   * Injects a fault: `producerId`'s streams (or only those of `layers`) send padding only, so no such layer stays
   * active, or media again.
   */
  paddingOnly(producerId: string, on: boolean, layers?: number[]): void {
    const streams = this.streamsOf.get(producerId) ?? [];
    streams.forEach((stream, layer) => {
      if (!layers || layers.includes(layer)) stream.paddingOnly = on;
    });
  }

  /** Consumes `producerId` onto this peer's receive transport, resumed; returns the consumer id. */
  async consume(producerId: string, kind: 'audio' | 'video'): Promise<string> {
    const recv = await this.recvTransport();
    const consumer = await this.signaling.request('consume', {
      transportId: recv.options.id,
      producerId,
      rtpCapabilities: withoutBandwidthEstimation(this.routerRtpCapabilities),
    });
    const ssrc = (consumer.rtpParameters.encodings?.[0] as { ssrc?: number } | undefined)?.ssrc;
    if (ssrc === undefined) throw new Error(`consumer ${consumer.id} has no SSRC`);
    this.received.set(ssrc, { producerId, counter: new StreamCounter(CLOCK[kind]) });
    await this.signaling.request('resumeConsumer', { consumerId: consumer.id });
    this.consumerIds.push(consumer.id);
    return consumer.id;
  }

  /** The top simulcast layer, or another: what a tile of that size would ask for. */
  preferLayer(consumerId: string, spatialLayer: number): Promise<unknown> {
    return this.signaling.request('setConsumerPreferredLayers', { consumerId, spatialLayer });
  }

  /** Sends every packet due by `now` (call it often: the caller's clock paces all peers at once). */
  tick(now: number): void {
    if (!this.send) return;
    const { socket, options } = this.send;
    for (const stream of this.streams) for (const packet of stream.due(now)) socket.send(packet, options.port, options.ip);
  }

  close(): void {
    this.signaling.close();
    this.send?.socket.close();
    this.recv?.socket.close();
  }

  // Memoized promises: consumes issued at once share the one transport (a peer may hold only a few).
  private sendTransport() {
    this.sending ??= this.plainTransport((packet) => {
      // The server's RTCP: key-frame requests for our layers (PLI/FIR), answered with the next frame.
      for (const ssrc of keyFrameRequests(packet)) this.streams.find((s) => s.spec.ssrc === ssrc)?.askKeyFrame();
    }).then((t) => (this.send = t));
    return this.sending;
  }

  private recvTransport() {
    this.receiving ??= this.plainTransport((packet, at) => {
      const rtp = readRtp(packet);
      if (rtp) this.received.get(rtp.ssrc)?.counter.add(rtp.sequenceNumber, rtp.timestamp, packet.length, at);
    }).then((t) => {
      // comedia: the server sends to wherever the first packet came from.
      t.socket.send(emptyReceiverReport(newSsrc()), t.options.port, t.options.ip);
      return (this.recv = t);
    });
    return this.receiving;
  }

  private async plainTransport(onPacket: (packet: Buffer, at: number) => void) {
    const options = await this.signaling.request('createPlainTransport', {});
    const socket = dgram.createSocket('udp4');
    socket.on('message', (packet) => onPacket(packet, performance.now()));
    await new Promise<void>((resolve) => socket.bind(0, '0.0.0.0', resolve));
    // Room for a burst of key frames while the tester's event loop is busy elsewhere (capped by net.core.rmem_max).
    socket.setRecvBufferSize(RECV_BUFFER_BYTES);
    return { socket, options };
  }
}

/**
 * The router's capabilities without transport-wide congestion control and REMB: the tester sends no feedback,
 * so a bandwidth estimate would stay at its start value and hold layers back. Without one, mediasoup forwards
 * the preferred layer.
 */
function withoutBandwidthEstimation(caps: RtpCapabilities): RtpCapabilities {
  type Codec = NonNullable<RtpCapabilities['codecs']>[number];
  const feedback = (c: Codec) => (c.rtcpFeedback ?? []).filter((f) => f.type !== 'transport-cc' && f.type !== 'goog-remb');
  return {
    codecs: (caps.codecs ?? []).map((c) => ({ ...c, rtcpFeedback: feedback(c) })),
    headerExtensions: (caps.headerExtensions ?? []).filter(
      (h) => !h.uri.includes('transport-wide-cc') && !h.uri.includes('abs-send-time'),
    ),
  };
}

function newSsrc(): number {
  return 1 + Math.floor(Math.random() * 0xfffffffe);
}
