import { Device } from 'mediasoup-client';
import type { types } from 'mediasoup-client';
import { CLIENT_PROTOCOL_VERSION } from '../../../protocol/client.ts';
import type { ClientNotification } from '../../../protocol/client.ts';
import type { ProducerInfo, Source } from '../../../protocol/sdp.ts';
import { connection, errorMessage, localTracks, phase, remotePeers } from '../state.ts';
import type { RemotePeer } from '../state.ts';
import { SignalingClient } from './signaling.ts';
import { createTransport } from './transport.ts';

/** Camera simulcast: three layers so each viewer gets the size its tile needs. */
const CAMERA_ENCODINGS: types.RtpEncodingParameters[] = [
  { scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { scaleResolutionDownBy: 1, maxBitrate: 1_200_000 },
];

/**
 * One membership of one room: the signaling connection, the mediasoup-client Device, a send and a
 * receive transport, and every producer and consumer. The only place that touches mediasoup-client.
 */
export class Call {
  private device = new Device();
  private sendTransport?: types.Transport;
  private recvTransport?: types.Transport;
  private producers = new Map<Source, types.Producer>();
  private consumers = new Map<string, types.Consumer>();
  private seenProducers = new Set<string>();
  private ready?: Promise<void>;
  /** Test and debug hook: when the first remote video frame was painted, relative to join. */
  firstFrameMs?: number;
  private joinStartedAt = 0;

  private constructor(private signaling: SignalingClient) {}

  static async join(room: string, token: string): Promise<Call> {
    let call: Call | undefined;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const signaling = await SignalingClient.open(
      `${scheme}://${location.host}/ws?v=${CLIENT_PROTOCOL_VERSION}&token=${encodeURIComponent(token)}`,
      (n) => call?.onNotification(n),
      (reason) => call?.onSignalingClosed(reason),
    );
    call = new Call(signaling);
    call.joinStartedAt = performance.now();
    call.ready = call.setUp(room);
    await call.ready;
    return call;
  }

  async publish(source: 'microphone' | 'camera'): Promise<void> {
    if (this.producers.has(source) || !this.sendTransport) return;
    const stream = await navigator.mediaDevices.getUserMedia(
      source === 'microphone'
        ? { audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true } }
        : { video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } } },
    );
    const [track] = stream.getTracks();
    if (!track) throw new Error(`no ${source} track`);
    try {
      const producer = await this.sendTransport.produce({
        track,
        encodings: source === 'camera' ? CAMERA_ENCODINGS : undefined,
        codecOptions: source === 'camera' ? { videoGoogleStartBitrate: 1000 } : { opusFec: true, opusDtx: true },
        appData: { source },
      });
      this.producers.set(source, producer);
      localTracks.value = { ...localTracks.value, [source]: track };
    } catch (err) {
      track.stop();
      throw err;
    }
  }

  async unpublish(source: Source): Promise<void> {
    const producer = this.producers.get(source);
    if (!producer) return;
    this.producers.delete(source);
    producer.track?.stop();
    producer.close();
    const { [source]: _gone, ...rest } = localTracks.value;
    localTracks.value = rest;
    await this.signaling.request('closeProducer', { producerId: producer.id }).catch(() => undefined);
  }

  /** Leaves the room and stops every local track, so the camera light goes off. */
  async leave(): Promise<void> {
    phase.value = 'leaving';
    for (const source of [...this.producers.keys()]) await this.unpublish(source);
    await this.signaling.request('leave', {}).catch(() => undefined);
    this.teardown();
    this.signaling.close();
    phase.value = 'lobby';
  }

  /** Inbound RTP stats per consumer, for the debug overlay and the end-to-end tests. */
  async inboundStats(): Promise<{ kind: string; framesDecoded?: number; packetsReceived: number }[]> {
    const rows: { kind: string; framesDecoded?: number; packetsReceived: number }[] = [];
    for (const consumer of this.consumers.values()) {
      const report = await consumer.getStats();
      report.forEach((s: { type: string; kind: string; framesDecoded?: number; packetsReceived: number }) => {
        if (s.type === 'inbound-rtp') rows.push({ kind: s.kind, framesDecoded: s.framesDecoded, packetsReceived: s.packetsReceived });
      });
    }
    return rows;
  }

  /** Called by the video element when a remote frame is first shown. */
  noteFirstFrame(): void {
    this.firstFrameMs ??= Math.round(performance.now() - this.joinStartedAt);
  }

  private async setUp(room: string): Promise<void> {
    const joined = await this.signaling.request('join', { room });
    await this.device.load({ routerRtpCapabilities: joined.routerRtpCapabilities as types.RtpCapabilities });
    this.sendTransport = await this.createTransport('send');
    this.recvTransport = await this.createTransport('recv');
    remotePeers.value = joined.peers.map((p) => ({ ...p, tracks: [] }));
    connection.value = 'connected';
    // Not awaited: `ready` must resolve first, since consume() waits on it.
    queueMicrotask(() => joined.producers.forEach((p) => void this.consume(p)));
  }

  private async createTransport(direction: 'send' | 'recv'): Promise<types.Transport> {
    const transport = await createTransport(this.device, this.signaling, direction);
    transport.on('connectionstatechange', (state) => {
      connection.value = state === 'new' ? 'connecting' : state;
    });
    return transport;
  }

  private async consume(producer: ProducerInfo): Promise<void> {
    if (this.seenProducers.has(producer.id)) return;
    this.seenProducers.add(producer.id);
    await this.ready;
    const transport = this.recvTransport;
    if (!transport) return;
    try {
      const options = await this.signaling.request('consume', {
        transportId: transport.id,
        producerId: producer.id,
        rtpCapabilities: this.device.recvRtpCapabilities as Record<string, unknown>,
      });
      const consumer = await transport.consume({
        id: options.id,
        producerId: options.producerId,
        kind: options.kind,
        rtpParameters: options.rtpParameters as types.RtpParameters,
      });
      this.consumers.set(consumer.id, consumer);
      this.addRemoteTrack(options.peerId, { producerId: producer.id, consumerId: consumer.id, source: options.source, track: consumer.track });
      // The server created it paused; now that our side is ready, let media (and a key frame) flow.
      await this.signaling.request('resumeConsumer', { consumerId: consumer.id });
    } catch (err) {
      this.seenProducers.delete(producer.id);
      errorMessage.value = `could not receive ${producer.source}: ${(err as Error).message}`;
    }
  }

  private onNotification(n: ClientNotification): void {
    switch (n.notification) {
      case 'peerJoined':
        remotePeers.value = [...remotePeers.value.filter((p) => p.id !== n.data.peer.id), { ...n.data.peer, tracks: [] }];
        return;
      case 'peerLeft':
        this.dropPeer(n.data.peerId);
        return;
      case 'newProducer':
        void this.consume(n.data.producer);
        return;
      case 'producerClosed':
        this.dropProducer(n.data.producerId);
        return;
      case 'consumerClosed':
        this.dropProducer(n.data.producerId);
        return;
    }
  }

  private addRemoteTrack(peerId: string, track: RemotePeer['tracks'][number]): void {
    remotePeers.value = remotePeers.value.map((p) => (p.id === peerId ? { ...p, tracks: [...p.tracks, track] } : p));
  }

  private dropProducer(producerId: string): void {
    for (const [id, consumer] of this.consumers) {
      if (consumer.producerId !== producerId) continue;
      consumer.close();
      this.consumers.delete(id);
    }
    this.seenProducers.delete(producerId);
    remotePeers.value = remotePeers.value.map((p) => ({
      ...p,
      tracks: p.tracks.filter((t) => t.producerId !== producerId),
    }));
  }

  private dropPeer(peerId: string): void {
    const peer = remotePeers.value.find((p) => p.id === peerId);
    peer?.tracks.forEach((t) => this.dropProducer(t.producerId));
    remotePeers.value = remotePeers.value.filter((p) => p.id !== peerId);
  }

  private onSignalingClosed(reason: string): void {
    if (phase.value === 'leaving' || phase.value === 'lobby') return;
    errorMessage.value = `disconnected from the server: ${reason}`;
    void this.leave();
  }

  private teardown(): void {
    for (const producer of this.producers.values()) producer.track?.stop();
    this.producers.clear();
    for (const consumer of this.consumers.values()) consumer.close();
    this.consumers.clear();
    this.sendTransport?.close();
    this.recvTransport?.close();
    remotePeers.value = [];
    localTracks.value = {};
    connection.value = 'closed';
  }
}
