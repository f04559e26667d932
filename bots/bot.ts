import { Chrome111 } from 'mediasoup-client/handlers/Chrome111';
import { ParleyClient } from '../client/index.ts';
import type { Call, ClientError, TileView } from '../client/index.ts';
import type { ClientMethod, ClientNotification, ClientRequestData, ClientResponseData } from '../protocol/client.ts';
import type { PeerInfo, Source } from '../protocol/room.ts';
import type { ClientRemedy } from '../protocol/telemetry.ts';
import type { ConsumerNotice, PublisherLayers } from '../protocol/publisher.ts';
import { BotCommunity } from './community.ts';
import { FaultInjector } from './faults.ts';
import type { BotFaults } from './faults.ts';
import { inboundVideo, transportTotals } from './stats.ts';
import type { BotRequestError, BotStats, InboundVideo, RemoteConsumer } from './stats.ts';
import { SyntheticCapture, VIDEO } from './synthetic.ts';
import type { PublishOptions } from './synthetic.ts';
import { VideoTimes } from './video-times.ts';
import type { VideoTimeline } from './video-times.ts';
import { BrowserLikeWebSocket } from './websocket.ts';
import './wrtc.ts';

export type { BotFaults } from './faults.ts';
export type { BotRequestError, BotStats, RemoteConsumer } from './stats.ts';
export type { VideoTimeline } from './video-times.ts';

export interface BotOptions {
  /** Signaling base URL: http(s)://host:port (as the test clusters give it) or ws(s)://host:port. */
  url: string;
  room: string;
  /** A label for logs; the name others see comes from the access token. */
  name: string;
  token?: string;
  /** Consume everyone else's media (default). A publish-only load-test bot sets false. */
  subscribe?: boolean;
  /** The region to ask for media in (`MediaOptions.region`). */
  region?: string;
  /** Time every remote video (announced, consumed, first decoded: `videoTimeline`); a frame sink each until then. */
  timeEveryVideo?: boolean;
  /** Keep media flowing when the connection drops, waiting for `resume()`. Off: a bot whose connection dies ends. */
  survivesDisconnect?: boolean;
  /** Misbehave on purpose, so tests can show the black-screen doctor a fault (bots/faults.ts). */
  faults?: BotFaults;
}

/**
 * A simulated participant: the client SDK (client/) on Node, with wrtc's RTCPeerConnection and a synthetic
 * capture, plus what tests read of it. Used by tests, the load tester and the benchmarks.
 */
export class Bot {
  joinMs?: number;
  readonly pausedProducers = new Set<string>();
  /** How many times the server told us to rebuild our media (a worker died), and the latest time (epoch ms). */
  resets = 0;
  lastResetAt?: number;
  readonly requestErrors: BotRequestError[] = [];
  /** Every track this bot has produced, in order: tests check that unpublish and leave end them. */
  readonly producedTracks: { source: Source; track: MediaStreamTrack }[] = [];
  /** consumerClosed notifications per consumer id (the doctor repeats one to a client that kept the tile). */
  readonly closedNotices = new Map<string, number>();
  readonly remedies: ClientRemedy[] = [];
  /** Chat and moderation (bots/community.ts). */
  readonly community: BotCommunity;
  private consumedAt = new Map<string, number>();
  private captureError?: string;
  private detached = false;
  private closed = false;
  private capture = new SyntheticCapture();
  private call!: Call;

  private constructor(
    readonly name: string,
    private client: ParleyClient,
    private injector: FaultInjector,
    private options: BotOptions,
    private times: VideoTimes,
  ) {
    this.community = new BotCommunity(client);
  }

  static async join(options: BotOptions): Promise<Bot> {
    const startedAt = performance.now();
    const injector = new FaultInjector(options.faults ?? {});
    let bot: Bot | undefined;
    const client = await ParleyClient.connect({
      url: options.url,
      token: async () => bot?.options.token ?? options.token ?? '',
      capture: {
        track: (source) => bot!.captured(source),
        screen: () => bot!.capture.screen(),
        release: (t) => bot!.capture.release(t),
      },
      WebSocket: BrowserLikeWebSocket,
      autoReconnect: false,
      media: {
        subscribe: options.subscribe ?? true,
        region: options.region,
        cameraEncodings: [{ maxBitrate: VIDEO.maxBitrate }],
        handlerFactory: Chrome111.createFactory({}),
      },
      requestMiddleware: injector.middleware,
      acceptNotification: injector.acceptNotification,
    });
    bot = new Bot(options.name, client, injector, { ...options }, new VideoTimes(startedAt, options.timeEveryVideo ?? false));
    client.on('notification', (n) => {
      bot.observe(n);
      bot.times.notified(n);
    });
    client.on('consumer', (c) => {
      bot.consumedAt.set(c.consumerId, Date.now());
      bot.times.shown(c);
    });
    client.on('error', (e) => bot.failed(e));
    client.on('lost', () => bot.onLost());
    try {
      bot.call = await client.join(options.room);
    } catch (err) {
      bot.close();
      throw err;
    }
    bot.joinMs = Math.round(performance.now() - startedAt);
    return bot;
  }

  /** join() start → first decoded frame of any remote video. */
  get firstRemoteVideoMs(): number | undefined {
    return this.times.firstRemoteVideoMs;
  }

  /** With `timeEveryVideo`: every remote video producer this bot was told about, by producer id. */
  get videoTimeline(): Map<string, VideoTimeline> {
    return this.times.timeline;
  }

  get peerId(): string {
    return this.call.peerId;
  }

  /** Remote peers in the room now. */
  get peers(): Map<string, PeerInfo> {
    return new Map(this.client.get('peers').map((p) => [p.id, { id: p.id, displayName: p.displayName }]));
  }

  /** Peers still in the room that cannot be reached now (the link to their region is down). */
  get unreachable(): ReadonlySet<string> {
    return this.client.get('unreachable');
  }

  /** The doctor's current word on each of our consumers without a live picture (consumerNotice). */
  get notices(): ReadonlyMap<string, ConsumerNotice> {
    return this.client.get('notices');
  }

  /** The peers this bot was told had left, in order. */
  readonly departures: string[] = [];

  /** Every layer change the server asked of our producers (dynacast, bandwidth repairs), in order. */
  readonly layerRequests: PublisherLayers[] = [];

  get activeSpeaker(): string | null {
    return this.client.get('activeSpeaker');
  }

  /** False once the signaling connection dropped (until `resume`), or after close. */
  get connected(): boolean {
    return !this.detached && !this.closed;
  }

  /** The token the server gave us at join, to resume this membership (tests replay it). */
  get resumeToken(): string {
    return this.call.resumeToken;
  }

  get faultOnsets(): FaultInjector['onsets'] {
    return this.injector.onsets;
  }

  /** Publishes synthetic sources (both unless told otherwise); `shared`: one generator for the whole process. */
  async publish({ audio = true, video = true, shared = false, simulcast, size }: PublishOptions = {}): Promise<void> {
    this.capture.shared = shared;
    if (size) this.capture.size = size;
    if (simulcast) this.client.media.cameraEncodings = simulcast;
    const feeds = [...(audio ? ['microphone' as const] : []), ...(video ? ['camera' as const] : [])];
    await Promise.all(feeds.map((feed) => this.call.setFeed(feed, true)));
    const failed = feeds.find((feed) => !this.call.isOn(feed));
    if (failed && !this.closed) throw new Error(`could not publish the ${failed}: ${this.captureError ?? 'closed meanwhile'}`);
  }

  producerId(source: Source): string | undefined {
    return this.call.producer(source)?.id;
  }

  unpublish(source: 'microphone' | 'camera'): Promise<void> {
    return this.call.setFeed(source, false);
  }

  /** A camera that hangs: the producer stays, unpaused, but its source sends nothing. */
  stopSource(source: Source): void {
    const track = this.call.producer(source)?.track;
    if (track) this.capture.release(track);
  }

  setPaused(source: Source, paused: boolean): Promise<void> {
    return this.call.setPaused(source, paused);
  }

  transportIds(): { send?: string; recv?: string } {
    return this.call.transportIds();
  }

  remoteConsumers(): RemoteConsumer[] {
    return this.client.get('peers').flatMap((peer) =>
      peer.tracks.map((t) => ({
        id: t.consumerId,
        producerId: t.producerId,
        peerId: peer.id,
        kind: t.track.kind as 'audio' | 'video',
        source: t.source,
        consumedAt: this.consumedAt.get(t.consumerId) ?? 0,
      })),
    );
  }

  /** Any protocol request as it is, for tests that send what the client itself would not. */
  request<M extends ClientMethod>(method: M, data: ClientRequestData<M>): Promise<ClientResponseData<M>> {
    return this.client.request(method, data);
  }

  /** A notification as if the server had sent it now: for tests of news that arrives late or out of order. */
  hear(n: ClientNotification): void {
    this.call.onNotification(n);
  }

  /** How this viewer's tile for a consumer is shown (the web app's tiles call the same): its layer, or hidden. */
  setTileView(consumerId: string, view: TileView): void {
    this.call.setTileView(consumerId, view);
  }

  /** One video consumer as its decoder sees it now: the frame height and frames decoded (read live). */
  inboundVideo(consumerId: string): Promise<InboundVideo> {
    return inboundVideo(this.call, consumerId);
  }

  /** Totals over the transports' getStats: one call however many consumers (wrtc has no per-receiver stats). */
  stats(): Promise<BotStats> {
    return transportTotals(this.call, this.producedTracks.length > 0);
  }

  /** Drops the WebSocket as a network failure would; media keeps flowing and `resume` can pick up. */
  disconnect(): void {
    this.detached = true;
    this.client.drop();
  }

  /** Reconnects (to any signaling instance) and resumes the membership, reconciling what it missed. */
  async resume({ url, token }: Pick<BotOptions, 'url' | 'token'>): Promise<void> {
    this.options.token = token;
    await this.client.reconnect(url);
    this.detached = false;
  }

  async leave(): Promise<void> {
    if (this.closed) return;
    await this.client.leave().catch(() => undefined);
    this.close();
  }

  /** Stops sources and tracks, closes transports and the socket. Safe to call more than once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.times.stopAll();
    this.client.close();
    this.capture.releaseAll();
  }

  private async captured(source: 'microphone' | 'camera'): Promise<MediaStreamTrack> {
    const track = await this.capture.track(source);
    this.producedTracks.push({ source, track });
    return track;
  }

  private onLost(): void {
    // A drop we asked for (disconnect) or one we survive waits for resume(); any other ends the bot.
    if (!this.detached && !this.options.survivesDisconnect) return this.close();
    this.detached = true;
  }

  private observe(n: ClientNotification): void {
    switch (n.notification) {
      case 'peerLeft':
        this.departures.push(n.data.peerId);
        return;
      case 'consumerClosed':
        this.closedNotices.set(n.data.consumerId, (this.closedNotices.get(n.data.consumerId) ?? 0) + 1);
        return;
      case 'producerPaused':
      case 'producerResumed':
        this.pausedProducers[n.notification === 'producerPaused' ? 'add' : 'delete'](n.data.producerId);
        return;
      case 'mediaReset':
        this.resets++;
        this.lastResetAt = Date.now();
        return;
      case 'remedy':
        this.remedies.push(n.data);
        return;
      case 'publisherLayers':
        this.layerRequests.push(n.data);
        return;
    }
  }

  private failed(e: ClientError): void {
    if (e.kind === 'capture') this.captureError = e.error instanceof Error ? e.error.message : String(e.error);
    if (e.kind !== 'consume' || this.closed) return;
    this.requestErrors.push({ method: 'consume', producerId: e.producerId, message: e.message, at: performance.now() });
    console.warn(`[bot ${this.name}] could not consume ${e.source}: ${e.message}`);
  }
}
