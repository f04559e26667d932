import { createRequire } from 'node:module';
import { Device } from 'mediasoup-client';
import type { types } from 'mediasoup-client';
import { Chrome111 } from 'mediasoup-client/handlers/Chrome111';
import WebSocket from 'ws';
import { CLIENT_PROTOCOL_VERSION } from '../protocol/client.ts';
import type { ClientNotification } from '../protocol/client.ts';
import type { PeerInfo, ProducerInfo, Source } from '../protocol/room.ts';
import type { ClientRemedy } from '../protocol/telemetry.ts';
import { SignalingClient } from '../web/src/media/signaling.ts';
import { createTransport } from '../web/src/media/transport.ts';
import { consumerReport, REPORT_INTERVAL_MS } from './consumer-reports.ts';
import type { InboundRtp } from './consumer-reports.ts';
import { FaultInjector } from './faults.ts';
import type { BotFaults } from './faults.ts';
import { shared as sharedSources, syntheticAudio, syntheticVideo, VIDEO } from './synthetic.ts';

// wrtc is CommonJS whose exports Node's ESM loader cannot name statically, so it is required.
const wrtc = createRequire(import.meta.url)('@roamhq/wrtc') as typeof import('@roamhq/wrtc');
const { RTCVideoSink } = wrtc.nonstandard;

// mediasoup-client's Chrome111 handler calls `new RTCPeerConnection()` and `new MediaStream()` as globals,
// with no way to pass them in; wrtc's implement the same W3C interfaces.
globalThis.RTCPeerConnection ??= wrtc.RTCPeerConnection;
globalThis.MediaStream ??= wrtc.MediaStream;

export type { BotFaults } from './faults.ts';

export interface BotOptions {
  /** Signaling base URL: http(s)://host:port (as the test clusters give it) or ws(s)://host:port. */
  url: string;
  room: string;
  /** A label for logs; the name others see comes from the access token. */
  name: string;
  /** Access token, sent as `&token=`. */
  token?: string;
  /** Consume everyone else's media (default). A publish-only load-test bot sets false. */
  subscribe?: boolean;
  /**
   * Time every remote video: when its producer was announced, consumed and first decoded (`videoTimeline`).
   * Costs a frame sink per video consumer until its first frame. Off by default.
   */
  timeEveryVideo?: boolean;
  /**
   * Keep media flowing when the signaling connection drops unexpectedly, waiting for `resume()`, as the web
   * client does while it reconnects. Off by default: a load-test bot whose connection dies just ends.
   */
  survivesDisconnect?: boolean;
  /** Report what it shows of each consumer about once a second (`reportConsumerStats`), as the web client does. On by default. */
  reportStats?: boolean;
  /** Misbehave on purpose, so tests can show the black-screen doctor a fault (bots/faults.ts). */
  faults?: BotFaults;
}

/** One remote video producer as this bot saw it (times from performance.now()). */
export interface VideoTimeline {
  producerId: string;
  peerId: string;
  source: Source;
  /** newProducer notification (or the join/resume snapshot) arrived. */
  announcedAt: number;
  consumedAt?: number;
  firstFrameAt?: number;
  /** producerClosed / peerLeft / consumerClosed arrived. */
  closedAt?: number;
}

/** A signaling request of the bot's own that failed (consume races with a closing producer land here too). */
export interface BotRequestError {
  method: string;
  producerId?: string;
  message: string;
  at: number;
}

export interface RemoteConsumer {
  id: string;
  producerId: string;
  peerId: string;
  kind: 'audio' | 'video';
  source: Source;
  /** Epoch ms when the consume request was answered. */
  consumedAt: number;
}

export interface BotStats {
  /** Summed `framesDecoded` of every inbound video stream, from the receive peer connection's getStats. */
  videoFramesDecoded: number;
  videoFramesReceived?: number;
  audioPacketsReceived: number;
  /** Open consumers. */
  consumers: number;
  /** Totals over every inbound (received) RTP stream, for load tests: loss, retransmission and key-frame asks. */
  inbound: RtpTotals;
  /** Totals over our outbound streams; `nacks` and `plis` here are those the SFU sent us. */
  outbound: RtpTotals;
}

export interface RtpTotals {
  bytes: number;
  packets: number;
  /** Inbound only: packets the receiver counted as lost (cumulative, may shrink when late packets arrive). */
  packetsLost: number;
  nacks: number;
  plis: number;
}

interface Consumption {
  consumer: types.Consumer;
  info: RemoteConsumer;
  /** Only until the first frame, to time it; decoding does not depend on it. */
  sink?: InstanceType<typeof RTCVideoSink>;
}

/**
 * A simulated participant: the browser client's signaling and mediasoup-client flow on Node, with
 * wrtc's RTCPeerConnection and synthetic audio and video. Used by tests and the load-test CLI.
 */
export class Bot {
  /** Remote peers currently in the room. */
  readonly peers = new Map<string, PeerInfo>();
  /** join() start → joined with both transports created. */
  joinMs?: number;
  /** join() start → first decoded frame of any remote video. */
  firstRemoteVideoMs?: number;

  private joined?: { peerId: string; resumeToken: string };
  /** Set while the bot drops its connection on purpose, so the close does not end the bot. */
  private detached = false;
  private survivesDisconnect = false;
  private device = new Device({ handlerFactory: Chrome111.createFactory({}) });
  private sendTransport?: types.Transport;
  private recvTransport?: types.Transport;
  private producers = new Map<Source, types.Producer>();
  private consumptions = new Map<string, Consumption>();
  private requested = new Set<string>();
  /** Remote producers currently paused (muted), from producerPaused/producerResumed. */
  readonly pausedProducers = new Set<string>();
  /** The room's active speaker, from activeSpeaker notifications. */
  activeSpeaker: string | null = null;
  /** How many times the server told us to rebuild our media (a worker died). */
  resets = 0;
  /** Epoch ms of the latest such order (mediaReset). */
  lastResetAt?: number;
  /** Stops (or unshares) the synthetic sources this bot publishes. */
  private releases: (() => void)[] = [];
  private joinStartedAt = 0;
  private closed = false;
  private ready?: Promise<void>;
  private subscribe = true;
  private timeEveryVideo = false;
  /** Per-source release of the synthetic generator, so unpublish stops it (not only close). */
  private sourceReleases = new Map<Source, () => void>();
  /** With `timeEveryVideo`: every remote video producer this bot was told about, by producer id. */
  readonly videoTimeline = new Map<string, VideoTimeline>();
  /** Requests of the bot's own that failed (consume and resumeConsumer; publish/unpublish throw instead). */
  readonly requestErrors: BotRequestError[] = [];
  /** Every track this bot has produced, in order: tests check that unpublish and leave end them. */
  readonly producedTracks: { source: Source; track: MediaStreamTrack }[] = [];
  /** consumerClosed notifications per consumer id (the doctor repeats one to a client that kept the tile). */
  readonly closedNotices = new Map<string, number>();
  /** Repairs the black-screen doctor asked of this bot, in order. */
  readonly remedies: ClientRemedy[] = [];
  private injector = new FaultInjector({});
  /** One layer unless `publish` is given simulcast encodings: simulcast multiplies the encoding work per bot. */
  private cameraEncodings: types.RtpEncodingParameters[] = [{ maxBitrate: VIDEO.maxBitrate }];
  private reporter?: ReturnType<typeof setInterval>;
  private reporting = false;

  private constructor(
    readonly name: string,
    private signaling: SignalingClient,
  ) {}

  private static connect(options: Pick<BotOptions, 'url' | 'token'>, bot: () => Bot | undefined): Promise<SignalingClient> {
    return SignalingClient.open(
      signalingUrl(options),
      (n) => bot()?.onNotification(n),
      () => {
        const self = bot();
        if (self?.survivesDisconnect) self.detached = true;
        if (!self?.detached) self?.close();
      },
      WebSocket,
    );
  }

  /** False once the signaling connection dropped (until `resume`), or after close. */
  get connected(): boolean {
    return !this.detached && !this.closed;
  }

  get peerId(): string {
    return this.joined?.peerId ?? '';
  }

  static async join(options: BotOptions): Promise<Bot> {
    const startedAt = performance.now();
    let bot: Bot | undefined;
    const signaling = await Bot.connect(options, () => bot);
    bot = new Bot(options.name, signaling);
    bot.subscribe = options.subscribe ?? true;
    bot.timeEveryVideo = options.timeEveryVideo ?? false;
    bot.survivesDisconnect = options.survivesDisconnect ?? false;
    bot.injector = new FaultInjector(options.faults ?? {});
    if (options.reportStats ?? true) bot.reporter = setInterval(() => void bot.report(), REPORT_INTERVAL_MS);
    bot.joinStartedAt = startedAt;
    bot.ready = bot.setUp(options.room);
    try {
      await bot.ready;
    } catch (err) {
      bot.close();
      throw err;
    }
    return bot;
  }

  /**
   * Starts synthetic sources (both unless told otherwise) and produces them. `shared` feeds every bot of the
   * process from one tone and one picture (load tests: the drawing runs once, only the encoders multiply).
   */
  async publish({
    audio = true,
    video = true,
    shared = false,
    simulcast,
  }: {
    audio?: boolean;
    video?: boolean;
    shared?: boolean;
    simulcast?: types.RtpEncodingParameters[];
  } = {}): Promise<void> {
    if (simulcast) this.cameraEncodings = simulcast;
    if (audio && !this.producers.has('microphone'))
      await this.produce('microphone', this.synthetic('microphone', 'audio', shared));
    if (video && !this.producers.has('camera')) await this.produce('camera', this.synthetic('camera', 'video', shared));
  }

  producerId(source: Source): string | undefined {
    return this.producers.get(source)?.id;
  }

  /** Closes one producer, as a user turning their camera or microphone off. */
  async unpublish(source: Source): Promise<void> {
    const producer = this.producers.get(source);
    if (!producer) return;
    this.producers.delete(source);
    producer.track?.stop();
    producer.close();
    this.sourceReleases.get(source)?.();
    this.sourceReleases.delete(source);
    await this.signaling.request('closeProducer', { producerId: producer.id });
  }

  /** Stops feeding one of our tracks, as a camera that hangs: the producer stays, unpaused, but sends nothing. */
  stopSource(source: Source): void {
    this.sourceReleases.get(source)?.();
    this.sourceReleases.delete(source);
  }

  /** Epoch ms at which each of our faults first took effect (a lost connect: when its transport was created). */
  get faultOnsets(): FaultInjector['onsets'] {
    return this.injector.onsets;
  }

  /** The ids of our transports on the media worker (tests use them as another peer's ids). */
  transportIds(): { send?: string; recv?: string } {
    return { send: this.sendTransport?.id, recv: this.recvTransport?.id };
  }

  /** The token the server gave us at join, to resume this membership (tests replay it). */
  get resumeToken(): string {
    return this.joined?.resumeToken ?? '';
  }

  remoteConsumers(): RemoteConsumer[] {
    return [...this.consumptions.values()].map((c) => c.info);
  }

  /**
   * Inbound figures summed over the receive peer connection's getStats: one call however many consumers,
   * and the only way on wrtc, whose RTCRtpReceiver.getStats (behind consumer.getStats) is not implemented.
   */
  async stats(): Promise<BotStats> {
    const totals: BotStats = {
      videoFramesDecoded: 0,
      audioPacketsReceived: 0,
      consumers: this.consumptions.size,
      inbound: emptyTotals(),
      outbound: emptyTotals(),
    };
    if (this.recvTransport && !this.recvTransport.closed) {
      const report = await this.recvTransport.getStats();
      report.forEach((s: RtpStats) => {
        if (s.type !== 'inbound-rtp') return;
        addTotals(totals.inbound, s.bytesReceived, s.packetsReceived, s);
        if (s.kind === 'video') {
          totals.videoFramesDecoded += s.framesDecoded ?? 0;
          if (s.framesReceived !== undefined) totals.videoFramesReceived = (totals.videoFramesReceived ?? 0) + s.framesReceived;
        } else if (s.kind === 'audio') {
          totals.audioPacketsReceived += s.packetsReceived ?? 0;
        }
      });
    }
    if (this.producers.size > 0 && this.sendTransport && !this.sendTransport.closed) {
      const report = await this.sendTransport.getStats();
      report.forEach((s: RtpStats) => {
        if (s.type === 'outbound-rtp') addTotals(totals.outbound, s.bytesSent, s.packetsSent, s);
      });
    }
    return totals;
  }

  /** Mutes or unmutes one of our producers. */
  async setPaused(source: Source, paused: boolean): Promise<void> {
    const producer = this.producers.get(source);
    if (!producer) return;
    if (paused) producer.pause();
    else producer.resume();
    await this.signaling.request(paused ? 'pauseProducer' : 'resumeProducer', { producerId: producer.id });
  }

  /** Drops the WebSocket as a network failure would; media keeps flowing and `resume` can pick up. */
  disconnect(): void {
    this.detached = true;
    this.signaling.close();
  }

  /** Reconnects (to any signaling instance) and resumes the membership, reconciling what it missed. */
  async resume(options: Pick<BotOptions, 'url' | 'token'>): Promise<void> {
    if (!this.joined) throw new Error('never joined');
    this.signaling = await Bot.connect(options, () => this);
    const snapshot = await this.signaling.request('resume', { resumeToken: this.joined.resumeToken });
    this.detached = false;
    this.peers.clear();
    for (const peer of snapshot.peers) this.peers.set(peer.id, peer);
    const live = new Set(snapshot.producers.map((p) => p.id));
    for (const [id, c] of this.consumptions) if (!live.has(c.info.producerId)) this.dropConsumer(id);
    snapshot.producers.forEach((p) => void this.consume(p));
  }

  /** Leaves the room politely, then closes everything. */
  async leave(): Promise<void> {
    if (this.closed) return;
    await this.signaling.request('leave', {}).catch(() => undefined);
    this.close();
  }

  /** Stops sources and tracks, closes transports and the socket. Safe to call more than once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.reporter);
    this.releases.splice(0).forEach((release) => release());
    for (const producer of this.producers.values()) {
      producer.track?.stop();
      producer.close();
    }
    this.producers.clear();
    for (const id of [...this.consumptions.keys()]) this.dropConsumer(id);
    this.sendTransport?.close();
    this.recvTransport?.close();
    this.signaling.close();
  }

  private async setUp(room: string): Promise<void> {
    const joined = await this.signaling.request('join', { room });
    this.joined = { peerId: joined.peerId, resumeToken: joined.resumeToken };
    for (const peer of joined.peers) this.peers.set(peer.id, peer);
    await this.device.load({ routerRtpCapabilities: joined.routerRtpCapabilities as types.RtpCapabilities });
    this.sendTransport = await this.createTransport('send');
    this.recvTransport = await this.createTransport('recv');
    this.joinMs = Math.round(performance.now() - this.joinStartedAt);
    // Not awaited: `ready` must resolve first, since consume() waits on it.
    if (this.subscribe) queueMicrotask(() => joined.producers.forEach((p) => void this.consume(p)));
  }

  /**
   * Our media worker died: new transports on the worker we were moved to, the same tracks produced again,
   * and everyone else's producers consumed afresh. The membership and the room never changed.
   */
  private async rebuild(producers: ProducerInfo[]): Promise<void> {
    this.resets++;
    this.lastResetAt = Date.now();
    const tracks = [...this.producers].map(([source, p]) => [source, p.track] as const);
    this.producers.forEach((p) => p.close());
    this.producers.clear();
    for (const id of [...this.consumptions.keys()]) this.dropConsumer(id);
    this.requested.clear();
    this.sendTransport?.close();
    this.recvTransport?.close();
    // Consumes triggered by notifications meanwhile must wait for the new receive transport.
    this.ready = (async () => {
      this.sendTransport = await this.createTransport('send');
      this.recvTransport = await this.createTransport('recv');
    })();
    await this.ready;
    for (const [source, track] of tracks)
      if (track && (source === 'microphone' || source === 'camera')) await this.produce(source, track);
    producers.forEach((p) => void this.consume(p));
  }

  /** A transport wired to signaling as the web client's, through whatever our faults change on the way. */
  private createTransport(direction: 'send' | 'recv'): Promise<types.Transport> {
    return createTransport(this.device, this.injector.requester(this.signaling, direction), direction);
  }

  private async produce(source: 'microphone' | 'camera', track: MediaStreamTrack): Promise<void> {
    if (!this.sendTransport) throw new Error('not joined');
    try {
      const producer = await this.sendTransport.produce({
        track,
        encodings: source === 'camera' ? this.cameraEncodings : undefined,
        appData: { source },
        // We stop tracks ourselves: a rebuild after a worker death produces the same tracks again.
        stopTracks: false,
      });
      this.producers.set(source, producer);
      this.producedTracks.push({ source, track });
    } catch (err) {
      track.stop();
      throw err;
    }
  }

  /** A source's first track for this bot; the source is released on unpublish or when the bot closes. */
  private synthetic(as: Source, kind: 'audio' | 'video', useShared: boolean): MediaStreamTrack {
    const source = useShared ? sharedSources[kind] : kind === 'audio' ? syntheticAudio() : syntheticVideo();
    const track = source.track();
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      source.release();
    };
    this.sourceReleases.set(as, release);
    this.releases.push(release);
    return track;
  }

  private async consume(producer: ProducerInfo): Promise<void> {
    if (!this.subscribe || this.requested.has(producer.id) || this.closed) return;
    this.requested.add(producer.id);
    if (this.timeEveryVideo && producer.kind === 'video' && !this.videoTimeline.has(producer.id)) {
      this.videoTimeline.set(producer.id, {
        producerId: producer.id,
        peerId: producer.peerId,
        source: producer.source,
        announcedAt: performance.now(),
      });
    }
    await this.ready;
    const transport = this.recvTransport;
    if (!transport || this.closed) return;
    try {
      const options = await this.signaling.request('consume', {
        transportId: transport.id,
        producerId: producer.id,
        rtpCapabilities: this.consumeCapabilities(),
      });
      // The producer may have closed while we asked.
      if (!this.requested.has(producer.id) || this.closed) return;
      const consumer = await transport.consume({
        id: options.id,
        producerId: options.producerId,
        kind: options.kind,
        rtpParameters: options.rtpParameters as types.RtpParameters,
      });
      // ...or closed while our side was being set up: a consumer kept now would be a black tile forever.
      if (!this.requested.has(producer.id) || this.closed) {
        consumer.close();
        return;
      }
      const { peerId, kind, source } = options;
      const info = { id: consumer.id, producerId: producer.id, peerId, kind, source, consumedAt: Date.now() };
      const consumption: Consumption = { consumer, info };
      const timeline = this.videoTimeline.get(producer.id);
      if (timeline) timeline.consumedAt = performance.now();
      if (options.kind === 'video' && (this.firstRemoteVideoMs === undefined || timeline))
        consumption.sink = this.timeFirstFrame(consumer.track, timeline);
      this.consumptions.set(consumer.id, consumption);
      // The server created it paused; now that our side is ready, let media (and a key frame) flow.
      if (!this.injector.faults.neverResume) await this.signaling.request('resumeConsumer', { consumerId: consumer.id });
    } catch (err) {
      // A rebuild (mediaReset) replaced the transport mid-request: the rebuild consumes this producer anew.
      if (this.recvTransport !== transport) return;
      this.requested.delete(producer.id);
      if (!this.closed)
        this.requestErrors.push({
          method: 'consume',
          producerId: producer.id,
          message: (err as Error).message,
          at: performance.now(),
        });
      if (!this.closed) console.warn(`[bot ${this.name}] could not consume ${producer.source}: ${(err as Error).message}`);
    }
  }

  /** A sink only until the first frame: converting every frame to JS would cost CPU per consumer. */
  private timeFirstFrame(track: MediaStreamTrack, timeline?: VideoTimeline): InstanceType<typeof RTCVideoSink> {
    const sink = new RTCVideoSink(track);
    sink.onframe = () => {
      this.firstRemoteVideoMs ??= Math.round(performance.now() - this.joinStartedAt);
      if (timeline) timeline.firstFrameAt ??= performance.now();
      sink.stop();
    };
    return sink;
  }

  private onNotification(n: ClientNotification): void {
    switch (n.notification) {
      case 'peerJoined':
        this.peers.set(n.data.peer.id, n.data.peer);
        return;
      case 'peerLeft':
        this.peers.delete(n.data.peerId);
        for (const t of this.videoTimeline.values()) if (t.peerId === n.data.peerId) this.markClosed(t.producerId);
        for (const [id, c] of this.consumptions) if (c.info.peerId === n.data.peerId) this.dropConsumer(id);
        return;
      case 'newProducer':
        void this.consume(n.data.producer);
        return;
      case 'producerClosed':
        this.markClosed(n.data.producerId);
        this.requested.delete(n.data.producerId);
        if (this.injector.faults.keepClosedConsumers) return;
        for (const [id, c] of this.consumptions) if (c.info.producerId === n.data.producerId) this.dropConsumer(id);
        return;
      case 'producerPaused':
      case 'producerResumed':
        this.pausedProducers[n.notification === 'producerPaused' ? 'add' : 'delete'](n.data.producerId);
        return;
      case 'activeSpeaker':
        this.activeSpeaker = n.data.peerId;
        return;
      case 'mediaReset':
        void this.rebuild(n.data.producers);
        return;
      case 'consumerClosed':
        this.closedNotices.set(n.data.consumerId, (this.closedNotices.get(n.data.consumerId) ?? 0) + 1);
        this.markClosed(n.data.producerId);
        this.requested.delete(n.data.producerId);
        if (!this.injector.faults.keepClosedConsumers) this.dropConsumer(n.data.consumerId);
        return;
      case 'remedy':
        this.remedies.push(n.data);
        void this.applyRemedy(n.data).catch((err: Error) =>
          console.warn(`[bot ${this.name}] remedy ${n.data.action} failed: ${err.message}`),
        );
        return;
    }
  }

  /** The doctor's repairs that need the client, as the web client makes them. */
  private async applyRemedy(remedy: ClientRemedy): Promise<void> {
    if (remedy.action === 'restart-ice') {
      const transport = [this.sendTransport, this.recvTransport].find((t) => t?.id === remedy.transportId);
      if (!transport) return;
      const { iceParameters } = await this.signaling.request('restartIce', { transportId: transport.id });
      await transport.restartIce({ iceParameters: iceParameters as types.IceParameters });
      return;
    }
    const shown = this.consumptions.get(remedy.consumerId);
    if (!shown) return;
    const { producerId, peerId, kind, source } = shown.info;
    this.dropConsumer(remedy.consumerId);
    this.requested.delete(producerId);
    await this.consume({ id: producerId, peerId, kind, source, paused: false });
  }

  /** What we show of each consumer, once a second, for the black-screen doctor. Best effort: never fails the bot. */
  private async report(): Promise<void> {
    const transport = this.recvTransport;
    if (this.reporting || this.closed || this.detached || !transport || transport.closed || this.consumptions.size === 0) return;
    this.reporting = true;
    try {
      const shown = [...this.consumptions.values()].map(({ consumer, info }) => ({
        id: info.id,
        kind: info.kind,
        ssrc: consumer.rtpParameters.encodings?.[0]?.ssrc,
        track: consumer.track,
      }));
      const rows: InboundRtp[] = [];
      const at = Date.now();
      (await transport.getStats()).forEach((row: InboundRtp) => rows.push(row));
      await this.signaling.request('reportConsumerStats', { consumers: this.injector.report(consumerReport(shown, rows), at) });
    } catch {
      // A signaling server without the doctor, or a connection going away: the next report tries again.
    } finally {
      this.reporting = false;
    }
  }

  /** Our receive capabilities, less the codecs a fault leaves out (and their RTX). */
  private consumeCapabilities(): Record<string, unknown> {
    const capabilities = this.device.recvRtpCapabilities;
    const without = new Set((this.injector.faults.withoutCodecs ?? []).map((m) => m.toLowerCase()));
    if (without.size === 0) return capabilities as Record<string, unknown>;
    const codecs = capabilities.codecs ?? [];
    const dropped = new Set(codecs.filter((c) => without.has(c.mimeType.toLowerCase())).map((c) => c.preferredPayloadType));
    const kept = codecs.filter((c) => !without.has(c.mimeType.toLowerCase()) && !dropped.has(Number(c.parameters?.apt)));
    return { ...capabilities, codecs: kept };
  }

  private markClosed(producerId: string): void {
    const t = this.videoTimeline.get(producerId);
    if (t) t.closedAt ??= performance.now();
  }

  private dropConsumer(id: string): void {
    const c = this.consumptions.get(id);
    if (!c) return;
    this.consumptions.delete(id);
    if (c.sink && !c.sink.stopped) c.sink.stop();
    c.consumer.close();
  }
}

/** The fields of an `inbound-rtp` / `outbound-rtp` entry we sum; wrtc 0.10 (libwebrtc M106) reports all of them. */
interface RtpStats {
  type: string;
  kind?: string;
  framesDecoded?: number;
  framesReceived?: number;
  packetsReceived?: number;
  bytesReceived?: number;
  packetsSent?: number;
  bytesSent?: number;
  packetsLost?: number;
  nackCount?: number;
  pliCount?: number;
}

function emptyTotals(): RtpTotals {
  return { bytes: 0, packets: 0, packetsLost: 0, nacks: 0, plis: 0 };
}

function addTotals(t: RtpTotals, bytes: number | undefined, packets: number | undefined, s: RtpStats): void {
  t.bytes += bytes ?? 0;
  t.packets += packets ?? 0;
  t.packetsLost += s.packetsLost ?? 0;
  t.nacks += s.nackCount ?? 0;
  t.plis += s.pliCount ?? 0;
}

function signalingUrl({ url, token }: Pick<BotOptions, 'url' | 'token'>): string {
  const ws = new URL('/ws', url);
  ws.protocol = ws.protocol === 'https:' || ws.protocol === 'wss:' ? 'wss:' : 'ws:';
  ws.searchParams.set('v', String(CLIENT_PROTOCOL_VERSION));
  if (token !== undefined) ws.searchParams.set('token', token);
  return ws.toString();
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await answerWithin(check, Math.min(CHECK_ANSWER_MS, Math.max(100, deadline - Date.now())));
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const CHECK_ANSWER_MS = 2_000;

/**
 * One check, as "not yet" if it does not answer in time: a single stuck call (a getStats or KV read that
 * never settles) must not hang the wait past its own timeout; the next poll asks again.
 */
async function answerWithin<T>(check: () => T | Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([Promise.resolve().then(check), late]);
  } finally {
    clearTimeout(timer);
  }
}
