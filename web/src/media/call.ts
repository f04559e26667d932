import { Device } from 'mediasoup-client';
import type { types } from 'mediasoup-client';
import type { ClientNotification, ClientResponseData } from '../../../protocol/client.ts';
import type { ProducerInfo } from '../../../protocol/sdp.ts';
import { ParleyError } from '../../../protocol/errors.ts';
import { activeSpeaker, connection, localTracks, microphoneMuted, remotePeers, selfPeerId, speaking } from '../state.ts';
import type { Connection } from './connection.ts';
import type { CaptureSource } from './devices.ts';
import { Publisher } from './publisher.ts';
import type { Feed } from './publisher.ts';
import { Subscriber } from './subscriber.ts';
import type { TileView } from './subscriber.ts';
import { createTransport } from './transport.ts';

type Snapshot = ClientResponseData<'join'>;

export interface InboundRow {
  kind: string;
  peerId?: string;
  source?: string;
  framesDecoded?: number;
  packetsReceived: number;
}
type TransportState = types.ConnectionState;

/** How long ICE may stay `disconnected` (it often recovers alone) before we restart it. */
const ICE_GRACE_MS = 2000;
/** audioLevels volumes (dBov) above this count as speaking. */
const SPEAKING_DB = -50;

/**
 * One membership of one room over a `Connection`: the mediasoup-client Device, a send and a receive
 * transport, the Publisher (our tracks) and the Subscriber (everyone else's). It survives a dropped
 * WebSocket (resume) and a lost media session (join again, produce the same tracks again).
 */
export class Call {
  private device!: types.Device;
  private sendTransport?: types.Transport;
  private recvTransport?: types.Transport;
  private transportStates: Record<'send' | 'recv', TransportState> = { send: 'new', recv: 'new' };
  private iceTimers: Partial<Record<'send' | 'recv', ReturnType<typeof setTimeout>>> = {};
  private resumeToken = '';
  private signalingUp = true;
  private left = false;
  /** Set while rebuilding after a mediaReset: producers to consume once the new transport exists. */
  private rebuilding?: ProducerInfo[];
  readonly publisher: Publisher;
  readonly subscriber: Subscriber;
  /** Test and debug hook: when the first remote video frame was painted, relative to the Join click. */
  firstFrameMs?: number;

  private constructor(
    private connection: Connection,
    readonly room: string,
    private joinStartedAt: number,
  ) {
    this.publisher = new Publisher(connection, () => this.sendTransport);
    this.subscriber = new Subscriber(connection, () => this.recvTransport, () => this.device);
  }

  static async join(connection: Connection, room: string, startedAt = performance.now()): Promise<Call> {
    const call = new Call(connection, room, startedAt);
    try {
      await call.setUp(await connection.request('join', { room }));
    } catch (err) {
      call.closeLocal();
      throw err;
    }
    return call;
  }

  setFeed(feed: Feed, on: boolean): Promise<void> {
    return this.publisher.set(feed, on);
  }

  /** A button press: flips the latest wish, so fast clicks alternate even before capture catches up. */
  toggleFeed(feed: Feed): Promise<void> {
    return this.publisher.set(feed, !this.publisher.wants(feed));
  }

  /** The microphone button: mute and unmute while it is on; turn it on when it is not. */
  async toggleMicrophone(): Promise<void> {
    if (!this.publisher.isOn('microphone')) {
      microphoneMuted.value = false;
      return this.publisher.set('microphone', true);
    }
    return this.publisher.setMuted(!microphoneMuted.value);
  }

  switchDevice(source: CaptureSource, deviceId: string): Promise<void> {
    return this.publisher.switchDevice(source, deviceId);
  }

  setTileView(consumerId: string, view: TileView): void {
    this.subscriber.setView(consumerId, view);
  }

  /** Leaves the room and stops every local track, so the camera light goes off. */
  async leave(): Promise<void> {
    if (this.left) return;
    this.left = true;
    const stopping = this.publisher.close();
    await Promise.race([stopping, sleep(2000)]);
    await this.connection.request('leave', {}).catch(() => undefined);
    this.closeLocal();
  }

  /** The WebSocket dropped; media keeps flowing meanwhile. */
  onSignalingLost(): void {
    this.signalingUp = false;
    this.updateConnection();
  }

  /** A new WebSocket is open: keep our membership, or join again if the server lost it. */
  async onSignalingReopened(mediaLost: boolean): Promise<void> {
    if (this.left) return;
    let snapshot: Snapshot;
    try {
      if (mediaLost) throw new ParleyError('NOT_FOUND', 'media session lost');
      snapshot = await this.connection.request('resume', { resumeToken: this.resumeToken });
    } catch (err) {
      // Gone (grace expired, media lost) or not ours any more (a new token, a new identity): start over.
      const gone = err instanceof ParleyError && ['NOT_FOUND', 'NOT_JOINED', 'FORBIDDEN'].includes(err.code);
      if (!gone) throw err;
      return this.rejoin();
    }
    this.resumeToken = snapshot.resumeToken;
    this.signalingUp = true;
    this.reconcilePeers(snapshot);
    this.subscriber.reconcile(snapshot.producers);
    for (const direction of ['send', 'recv'] as const) {
      const state = this.transportStates[direction];
      if (state === 'failed' || state === 'disconnected') void this.restartIce(direction);
    }
    this.updateConnection();
  }

  onNotification(n: ClientNotification): void {
    switch (n.notification) {
      case 'peerJoined':
        remotePeers.value = [...remotePeers.value.filter((p) => p.id !== n.data.peer.id), { ...n.data.peer, tracks: [] }];
        return;
      case 'peerLeft':
        this.subscriber.dropPeer(n.data.peerId);
        return;
      case 'newProducer':
        if (this.rebuilding) this.rebuilding.push(n.data.producer);
        else void this.subscriber.consume(n.data.producer);
        return;
      case 'mediaReset':
        void this.rebuild(n.data.producers);
        return;
      case 'producerClosed':
      case 'consumerClosed':
        this.subscriber.dropProducer(n.data.producerId);
        return;
      case 'producerPaused':
      case 'producerResumed':
        this.subscriber.setPaused(n.data.producerId, n.notification === 'producerPaused');
        return;
      case 'activeSpeaker':
        activeSpeaker.value = n.data.peerId;
        return;
      case 'audioLevels':
        speaking.value = new Set(n.data.levels.filter((l) => l.volume > SPEAKING_DB).map((l) => l.peerId));
        return;
      case 'lobby':
        return;
    }
  }

  /** Inbound RTP stats per consumer, with whose and which source it is, for the end-to-end tests. */
  async inboundStats(): Promise<InboundRow[]> {
    const rows: InboundRow[] = [];
    const owners = new Map(remotePeers.value.flatMap((p) => p.tracks.map((t) => [t.consumerId, { peerId: p.id, source: t.source }] as const)));
    for (const consumer of this.subscriber.all()) {
      const report = await consumer.getStats();
      report.forEach((s: { type: string; kind: string; framesDecoded?: number; packetsReceived: number }) => {
        if (s.type !== 'inbound-rtp') return;
        rows.push({ kind: s.kind, ...owners.get(consumer.id), framesDecoded: s.framesDecoded, packetsReceived: s.packetsReceived });
      });
    }
    return rows;
  }

  /** Called by a video element when a remote frame is first shown. */
  noteFirstFrame(): void {
    this.firstFrameMs ??= Math.round(performance.now() - this.joinStartedAt);
  }

  private async setUp(joined: Snapshot): Promise<void> {
    this.resumeToken = joined.resumeToken;
    selfPeerId.value = joined.peerId;
    this.device = await loadDevice(joined.routerRtpCapabilities as types.RtpCapabilities);
    this.sendTransport = await this.createTransport('send');
    this.recvTransport = await this.createTransport('recv');
    remotePeers.value = joined.peers.map((p) => ({ ...p, tracks: [] }));
    this.signalingUp = true;
    this.updateConnection();
    joined.producers.forEach((p) => void this.subscriber.consume(p));
  }

  /** The server no longer knows us: a new membership, the same tracks produced again. */
  private async rejoin(): Promise<void> {
    this.subscriber.reset();
    this.closeTransports();
    remotePeers.value = [];
    await this.setUp(await this.connection.request('join', { room: this.room }));
    await this.publisher.republish();
  }

  /**
   * Our media worker died and the server moved us to another: the membership stands, but transports,
   * producers and consumers must be made again. Producers announced meanwhile wait for the new transport.
   */
  private async rebuild(producers: ProducerInfo[]): Promise<void> {
    this.rebuilding = [...producers];
    try {
      this.subscriber.reset();
      this.closeTransports();
      remotePeers.value = remotePeers.value.map((p) => ({ ...p, tracks: [] }));
      this.sendTransport = await this.createTransport('send');
      this.recvTransport = await this.createTransport('recv');
      await this.publisher.republish();
    } finally {
      const pending = this.rebuilding;
      this.rebuilding = undefined;
      pending.forEach((p) => void this.subscriber.consume(p));
    }
  }

  private reconcilePeers(snapshot: Snapshot): void {
    const known = new Map(remotePeers.value.map((p) => [p.id, p]));
    remotePeers.value = snapshot.peers.map((p) => ({ ...p, tracks: known.get(p.id)?.tracks ?? [] }));
    for (const id of known.keys()) if (!snapshot.peers.some((p) => p.id === id)) this.subscriber.dropPeer(id);
  }

  private async createTransport(direction: 'send' | 'recv'): Promise<types.Transport> {
    const transport = await createTransport(this.device, this.connection, direction);
    transport.on('connectionstatechange', (state) => {
      if (transport !== (direction === 'send' ? this.sendTransport : this.recvTransport)) return;
      this.transportStates[direction] = state;
      clearTimeout(this.iceTimers[direction]);
      if (state === 'failed') void this.restartIce(direction);
      if (state === 'disconnected') this.iceTimers[direction] = setTimeout(() => void this.restartIce(direction), ICE_GRACE_MS);
      this.updateConnection();
    });
    return transport;
  }

  /** New ICE credentials from the server; needs signaling, so a resume calls it again if it was down. */
  private async restartIce(direction: 'send' | 'recv'): Promise<void> {
    const transport = direction === 'send' ? this.sendTransport : this.recvTransport;
    if (!transport || transport.closed || this.left || !this.connection.isOpen) return;
    try {
      const { iceParameters } = await this.connection.request('restartIce', { transportId: transport.id });
      await transport.restartIce({ iceParameters: iceParameters as types.IceParameters });
    } catch (err) {
      console.warn(`ICE restart (${direction}) failed`, err);
    }
  }

  private updateConnection(): void {
    if (this.left) return;
    const states = Object.values(this.transportStates);
    if (!this.signalingUp || states.some((s) => s === 'disconnected' || s === 'failed')) connection.value = 'reconnecting';
    else if (states.some((s) => s === 'connecting')) connection.value = 'connecting';
    else connection.value = 'connected';
  }

  private closeTransports(): void {
    for (const timer of Object.values(this.iceTimers)) clearTimeout(timer);
    this.sendTransport?.close();
    this.recvTransport?.close();
    this.sendTransport = this.recvTransport = undefined;
    this.transportStates = { send: 'new', recv: 'new' };
  }

  private closeLocal(): void {
    this.left = true;
    void this.publisher.close();
    this.subscriber.close();
    this.closeTransports();
    remotePeers.value = [];
    localTracks.value = {};
    activeSpeaker.value = null;
    speaking.value = new Set();
    selfPeerId.value = null;
  }
}

/**
 * A Device for this browser. Detection reads the user agent; should it not recognise one (an unusual
 * Chromium-based browser), the capabilities decide, rather than refusing to connect.
 */
async function loadDevice(routerRtpCapabilities: types.RtpCapabilities): Promise<types.Device> {
  let device: types.Device;
  try {
    device = await Device.factory();
  } catch {
    const firefox = /firefox/i.test(navigator.userAgent) || 'mozGetUserMedia' in navigator;
    device = new Device({ handlerName: firefox ? 'Firefox120' : 'Chrome111' });
  }
  await device.load({ routerRtpCapabilities });
  return device;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
