import type { Context } from '@opentelemetry/api';
import { Device } from 'mediasoup-client';
import type { types } from 'mediasoup-client';
import type { ClientNotification, ClientRequestData, ClientResponseData } from '../protocol/client.ts';
import { ParleyError } from '../protocol/errors.ts';
import type { ProducerInfo, Source } from '../protocol/room.ts';
import type { ClientRemedy } from '../protocol/telemetry.ts';
import type { ClientProducerStats, ConsumerNotice } from '../protocol/publisher.ts';
import { PROBLEM_REPORT_SCHEMA } from '../protocol/problem-report.ts';
import type { ProblemReport } from '../protocol/problem-report.ts';
import { RoomChat } from './chat.ts';
import { rowsOf } from './consumer-stats.ts';
import type { StatsRows } from './consumer-stats.ts';
import type { CallDeps } from './deps.ts';
import type { CaptureSource, Feed } from './host.ts';
import { applySelf, followNotice, Moderator } from './moderation.ts';
import { Publisher } from './publisher.ts';
import { Subscriber } from './subscriber.ts';
import type { TileView } from './subscriber.ts';
import { createTransport } from './transport.ts';

type Snapshot = ClientResponseData<'join'>;
type TransportState = types.ConnectionState;
type Direction = 'send' | 'recv';
/** Why an ICE restart happens (an attribute of its span); `network`: the host saw the network change. */
type IceRestartReason = 'failed' | 'disconnected' | 'resume' | 'remedy' | 'network';

/** One inbound stream as a test or a diagnostics page reads it. */
export interface InboundRow {
  kind: string;
  peerId?: string;
  source?: string;
  framesDecoded?: number;
  packetsReceived: number;
}

/** How long ICE may stay `disconnected` (it often recovers alone) before we restart it. */
const ICE_GRACE_MS = 2000;
/**
 * How long signaling may take to answer after ICE lost its path before the socket is given up. Longer than after
 * an announced network change: here nothing says the socket died, and a busy server must not cost a resume.
 */
const ICE_LOST_CHECK_MS = 3000;
/** audioLevels volumes (dBov) above this count as speaking. */
const SPEAKING_DB = -50;

/**
 * One membership of one room: the mediasoup-client Device, a send and a receive transport, the Publisher (our
 * tracks) and the Subscriber (everyone else's). It survives a dropped WebSocket (resume) and a lost media
 * session (join again, produce the same tracks again).
 */
export class Call {
  private device!: types.Device;
  private sendTransport?: types.Transport;
  private recvTransport?: types.Transport;
  private transportStates: Record<Direction, TransportState> = { send: 'new', recv: 'new' };
  private iceTimers: Partial<Record<Direction, ReturnType<typeof setTimeout>>> = {};
  /** Transports whose ICE began before the latest network change: restarted once signaling can. */
  private staleIce = new Set<Direction>();
  private token = '';
  private signalingUp = true;
  private left = false;
  /** Set while rebuilding after a mediaReset: producers to consume once the new transport exists. */
  private rebuilding?: ProducerInfo[];
  private publisher: Publisher;
  private subscriber: Subscriber;
  /** The room's chat (messages are in the state as `chat`). */
  readonly chat: RoomChat;
  /** Mute, remove, end the room: for holders of the `moderator` grant. */
  readonly moderator: Moderator;
  /** When the first remote video frame was shown, in ms after the join started (the host calls noteFirstFrame). */
  firstFrameMs?: number;

  /** Notifications while a join or rejoin sets the call up: see `holding`. */
  private held?: ClientNotification[];

  private constructor(
    private deps: CallDeps,
    readonly room: string,
    private joinStartedAt: number,
  ) {
    this.publisher = new Publisher(
      deps,
      () => this.sendTransport,
      () => this.transportStates.send,
    );
    this.chat = new RoomChat(deps);
    this.moderator = new Moderator(deps.signaling);
    this.subscriber = new Subscriber(
      deps,
      () => this.recvTransport,
      () => this.device,
    );
  }

  /**
   * A call that has not joined yet: `start` joins. The client hands it the room's notifications from the moment
   * the join request is sent; it applies them once it has the room from the reply.
   */
  static create(deps: CallDeps, room: string, startedAt = performance.now()): Call {
    return new Call(deps, room, startedAt);
  }

  /** `trace`: the join action, so the transports and first consumers are part of its trace. */
  async start(trace?: Context): Promise<void> {
    await this.holding(async () => {
      try {
        await this.setUp(await this.deps.signaling.request('join', joinRequest(this.deps, this.room), trace), trace);
      } catch (err) {
        this.closeLocal();
        throw err;
      }
    });
  }

  /** Our peer id in the room (it survives resumes and media resets). */
  get peerId(): string {
    return this.deps.store.get('selfPeerId') ?? '';
  }

  /** The secret that resumes this membership on a new connection (the client presents it on reconnect). */
  get resumeToken(): string {
    return this.token;
  }

  /** Whether a feed is published now (its wish may differ while a change is under way). */
  isOn(feed: Feed): boolean {
    return this.publisher.isOn(feed);
  }

  /** Our producer of `source`: its id, track and getStats(). */
  producer(source: Source): types.Producer | undefined {
    return this.publisher.outbound(source);
  }

  /** Our consumers of everyone else's producers. */
  consumers(): types.Consumer[] {
    return this.subscriber.all();
  }

  /** What each of our producers sends, as the doctor is told once a second (layers, quality limits, track state). */
  producerStats(): Promise<ClientProducerStats[]> {
    return this.publisher.stats();
  }

  /** One consumer's rows of the latest once-a-second stats sample (for a stats overlay). */
  consumerStats(consumerId: string): StatsRows | undefined {
    return this.subscriber.latestStats(consumerId);
  }

  setFeed(feed: Feed, on: boolean, trace?: Context): Promise<void> {
    return this.publisher.set(feed, on, trace);
  }

  /** A button press: flips the latest wish, so fast clicks alternate even before capture catches up. */
  toggleFeed(feed: Feed): Promise<void> {
    return this.publisher.set(feed, !this.publisher.wants(feed));
  }

  /** The microphone button: mute and unmute while it is on (or turning on); turn it on when it is not. */
  async toggleMicrophone(): Promise<void> {
    if (!this.publisher.wants('microphone')) {
      this.deps.store.set('microphoneMuted', this.isLocked('microphone'));
      return this.publisher.set('microphone', true);
    }
    return this.setPaused('microphone', !this.deps.store.get('microphoneMuted'));
  }

  /**
   * Pauses or resumes one of our producers (the microphone's mute; a camera held without sending). A source a
   * moderator locked cannot be resumed: FORBIDDEN, and nothing changes.
   */
  async setPaused(source: Source, paused: boolean): Promise<void> {
    if (!paused && this.isLocked(source)) throw new ParleyError('FORBIDDEN', `your ${source} was muted by a moderator`);
    return this.publisher.setPaused(source, paused);
  }

  /** Whether a moderator locked `source` muted. */
  isLocked(source: Source): boolean {
    return this.deps.store.get('self')?.locks.includes(source) ?? false;
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
    await this.deps.tracer.action('leave', {}, undefined, async (ctx) => {
      const stopping = this.publisher.close(ctx);
      await Promise.race([stopping, sleep(2000)]);
      await this.deps.signaling.request('leave', {}, ctx).catch(() => undefined);
      this.closeLocal();
    });
  }

  /** Closes everything here without telling the server (it ends the membership after its grace period). */
  close(): void {
    this.closeLocal();
  }

  get closed(): boolean {
    return this.left;
  }

  /** The WebSocket dropped; media keeps flowing meanwhile. (Called by ParleyClient.) */
  onSignalingLost(): void {
    this.signalingUp = false;
    this.updateConnection();
  }

  /**
   * The network changed (a new address, Wi-Fi → cellular): ICE on both transports may be using a path that is
   * gone. Marked first; restarted by `restartStaleIce` once signaling answered, or by the resume if it did not.
   */
  onNetworkChange(): void {
    for (const direction of ['send', 'recv'] as const) if (this.transportOf(direction)) this.staleIce.add(direction);
  }

  /** Restarts ICE on the transports marked by `onNetworkChange`. (Called by ParleyClient.) */
  async restartStaleIce(trace?: Context): Promise<void> {
    await Promise.all([...this.staleIce].map((direction) => this.restartIce(direction, 'network', trace)));
  }

  /** A new WebSocket is open: keep our membership, or join again if the server lost it. (Called by ParleyClient.) */
  async onSignalingReopened(mediaLost: boolean, trace?: Context): Promise<void> {
    if (this.left) return;
    await this.deps.tracer.action('resume', { 'parley.media_lost': mediaLost }, trace, async (ctx, span) => {
      let snapshot: Snapshot;
      try {
        if (mediaLost) throw new ParleyError('NOT_FOUND', 'media session lost');
        snapshot = await this.deps.signaling.request('resume', { resumeToken: this.token }, ctx);
      } catch (err) {
        // Gone (grace expired, media lost) or not ours any more (a new token, a new identity): start over.
        const gone = err instanceof ParleyError && ['NOT_FOUND', 'NOT_JOINED', 'FORBIDDEN'].includes(err.code);
        if (!gone) throw err;
        span.addEvent('membership gone', { reason: (err as Error).message });
        return this.rejoin(ctx);
      }
      this.token = snapshot.resumeToken;
      this.signalingUp = true;
      applySelf(this.deps.store, this.publisher, snapshot.self);
      // Whatever was said while we were away (the server keeps the room's newest messages).
      this.chat.catchUp(ctx);
      this.reconcilePeers(snapshot);
      this.deps.store.set('activeSpeaker', snapshot.activeSpeaker);
      this.deps.store.set('unreachable', new Set(snapshot.unreachable));
      this.subscriber.reconcile(snapshot.producers, ctx);
      for (const direction of ['send', 'recv'] as const) {
        const state = this.transportStates[direction];
        if (this.staleIce.has(direction)) void this.restartIce(direction, 'network', ctx);
        else if (state === 'failed' || state === 'disconnected') void this.restartIce(direction, 'resume', ctx);
      }
      this.updateConnection();
    });
  }

  private setReachable(peerIds: string[], reachable: boolean): void {
    const unreachable = new Set(this.deps.store.get('unreachable'));
    // The link to their region is back: what they said while it was cut never came live.
    if (reachable && peerIds.some((id) => unreachable.has(id))) this.chat.catchUp();
    for (const id of peerIds) {
      if (reachable) unreachable.delete(id);
      else unreachable.add(id);
    }
    this.deps.store.set('unreachable', unreachable);
  }

  /** A notification for this call. (Called by ParleyClient; a test may inject one.) */
  onNotification(n: ClientNotification): void {
    if (this.held) return void this.held.push(n);
    const store = this.deps.store;
    switch (n.notification) {
      case 'peerJoined': {
        // Its producers may have been heard of first (its join lost on the way and replayed by a resync): their
        // tracks stay on its tile.
        const peers = store.get('peers');
        const tracks = peers.find((p) => p.id === n.data.peer.id)?.tracks ?? [];
        store.set('peers', [...peers.filter((p) => p.id !== n.data.peer.id), { ...n.data.peer, tracks }]);
        return;
      }
      case 'peerLeft':
        this.setReachable([n.data.peerId], true);
        this.subscriber.dropPeer(n.data.peerId);
        this.forgetNotices();
        return;
      case 'newProducer':
        if (this.rebuilding) this.rebuilding.push(n.data.producer);
        else void this.subscriber.consume(n.data.producer);
        return;
      case 'mediaReset':
        void this.rebuild(n.data.producers);
        return;
      case 'producerClosed':
        this.subscriber.dropProducer(n.data.producerId);
        this.forgetNotices();
        return;
      case 'consumerClosed':
        this.subscriber.dropConsumer(n.data.consumerId);
        this.forgetNotices();
        return;
      case 'publisherLayers':
        void this.publisher.setLayers(n.data);
        return;
      case 'consumerNotice':
        this.onNotice(n.data);
        return;
      case 'remedy':
        void this.applyRemedy(n.data).catch((err: unknown) => console.warn('[parley] remedy failed', err));
        return;
      case 'producerPaused':
      case 'producerResumed':
        this.subscriber.setPaused(n.data.producerId, n.notification === 'producerPaused');
        return;
      case 'activeSpeaker':
        store.set('activeSpeaker', n.data.peerId);
        this.subscriber.prioritize();
        return;
      case 'peerReachability':
        this.setReachable(n.data.peerIds, n.data.reachable);
        return;
      case 'audioLevels':
        store.set('speaking', new Set(n.data.levels.filter((l) => l.volume > SPEAKING_DB).map((l) => l.peerId)));
        return;
      case 'chat':
        this.chat.receive(n.data);
        followNotice(this.publisher, this.peerId, n.data);
        return;
      case 'self':
        applySelf(this.deps.store, this.publisher, n.data);
        return;
      case 'lobby':
      case 'removed':
        return;
    }
  }

  /**
   * "Report a problem": what an operator needs to see what this user saw, as one JSON document
   * (protocol/problem-report.ts): the doctor's notices on our consumers with their trace ids, our traces, and
   * what we receive and send now. An operator opens it in /debug.
   */
  async problemReport(note = '', traces: Record<string, string> = {}): Promise<ProblemReport> {
    const [consumers, producers] = await Promise.all([this.subscriber.stats(), this.publisher.stats()]);
    const notices = [...this.deps.store.get('notices').values()];
    const consumerTraces = notices.map((n) => n.traceId).filter((id) => /^[0-9a-f]{32}$/.test(id));
    const actionTraces = Object.values(traces).filter((id) => /^[0-9a-f]{32}$/.test(id));
    return {
      schema: PROBLEM_REPORT_SCHEMA,
      createdAt: Date.now(),
      room: this.room,
      peerId: this.peerId,
      note: note.slice(0, 2000),
      userAgent: typeof navigator === 'undefined' ? 'node' : navigator.userAgent.slice(0, 512),
      traceId: consumerTraces[0] ?? actionTraces[0] ?? null,
      traceIds: [...new Set([...consumerTraces, ...actionTraces])].slice(0, 64),
      notices: notices.slice(0, 256),
      consumers: consumers.slice(0, 256),
      producers,
      connection: this.deps.store.get('connection'),
    };
  }

  /** The doctor told us about one of our consumers: a black or frozen tile says why. */
  private onNotice(notice: ConsumerNotice): void {
    const notices = new Map(this.deps.store.get('notices'));
    if (notice.status === 'unhealthy') notices.set(notice.consumerId, notice);
    else notices.delete(notice.consumerId);
    this.deps.store.set('notices', notices);
    this.deps.events.emit('notice', notice);
  }

  /** Notices about consumers we no longer have are dropped with them. */
  private forgetNotices(): void {
    const notices = this.deps.store.get('notices');
    const live = new Set(this.subscriber.all().map((c) => c.id));
    if ([...notices.keys()].every((id) => live.has(id))) return;
    this.deps.store.set('notices', new Map([...notices].filter(([id]) => live.has(id))));
  }

  /** Our transports' ids on the media server. */
  transportIds(): { send?: string; recv?: string } {
    return { send: this.sendTransport?.id, recv: this.recvTransport?.id };
  }

  /** The receive (or send) transport's whole stats report: one call however many consumers. */
  async transportStats(direction: Direction): Promise<RTCStatsReport | undefined> {
    const transport = this.transportOf(direction);
    if (!transport || transport.closed) return undefined;
    return transport.getStats();
  }

  /** Inbound RTP per consumer, with whose and which source it is. */
  async inboundStats(): Promise<InboundRow[]> {
    const report = await this.transportStats('recv');
    if (!report) return [];
    const owners = new Map(
      this.deps.store
        .get('peers')
        .flatMap((p) => p.tracks.map((t) => [t.consumerId, { peerId: p.id, source: t.source }] as const)),
    );
    return this.consumers().flatMap((consumer) =>
      rowsOf(report, consumer.rtpParameters.encodings?.[0]?.ssrc)
        .filter((row) => row.type === 'inbound-rtp')
        .map((row) => ({
          kind: row.kind ?? consumer.kind,
          ...owners.get(consumer.id),
          framesDecoded: row.framesDecoded,
          packetsReceived: row.packetsReceived ?? 0,
        })),
    );
  }

  /** The host saw a remote video frame painted (the web app: requestVideoFrameCallback). */
  noteFirstFrame(): void {
    this.firstFrameMs ??= Math.round(performance.now() - this.joinStartedAt);
  }

  private async setUp(joined: Snapshot, trace?: Context): Promise<void> {
    const store = this.deps.store;
    this.token = joined.resumeToken;
    store.set('selfPeerId', joined.peerId);
    store.set('room', this.room);
    this.deps.tracer.scope({ 'parley.room': this.room, 'parley.peer': joined.peerId });
    this.device = await loadDevice(joined.routerRtpCapabilities as types.RtpCapabilities, this.deps.media.handlerFactory);
    this.sendTransport = await this.createTransport('send', trace);
    this.recvTransport = await this.createTransport('recv', trace);
    store.set(
      'peers',
      joined.peers.map((p) => ({ ...p, tracks: [] })),
    );
    store.set('activeSpeaker', joined.activeSpeaker);
    store.set('unreachable', new Set(joined.unreachable));
    applySelf(this.deps.store, this.publisher, joined.self);
    this.signalingUp = true;
    this.updateConnection();
    joined.producers.forEach((p) => void this.subscriber.consume(p, trace));
    this.chat.clear();
    this.chat.catchUp(trace);
  }

  /** The server no longer knows us: a new membership, the same tracks produced again. */
  private rejoin(trace: Context): Promise<void> {
    return this.deps.tracer.action('rejoin', {}, trace, async (ctx) => {
      this.subscriber.reset();
      this.closeTransports();
      this.deps.store.set('peers', []);
      await this.holding(async () =>
        this.setUp(await this.deps.signaling.request('join', joinRequest(this.deps, this.room), ctx), ctx),
      );
      await this.publisher.republish(ctx);
    });
  }

  /**
   * Notifications that come while a join is under way are applied after its reply (before, a peer who joined
   * meanwhile would be overwritten by it, a producer not consumed); a call that failed to join drops them.
   */
  private async holding(join: () => Promise<void>): Promise<void> {
    this.held = [];
    try {
      await join();
    } finally {
      const held = this.held;
      this.held = undefined;
      if (!this.closed) held.forEach((n) => this.onNotification(n));
    }
  }

  /** A repair the server's black-screen doctor asks of us, in a span of its own. */
  private applyRemedy(remedy: ClientRemedy): Promise<void> {
    const target =
      remedy.action === 'restart-ice'
        ? { 'parley.transport': remedy.transportId }
        : remedy.action === 'reconsume'
          ? { 'parley.consumer': remedy.consumerId, 'parley.producer': remedy.producerId }
          : { 'parley.producer': remedy.producerId };
    const attributes = { 'parley.remedy': remedy.action, 'parley.cause': remedy.cause, ...target };
    return this.deps.tracer.action('remedy', attributes, undefined, async (ctx, span) => {
      if (remedy.action === 'reconsume') {
        span.setAttribute('parley.remedy.outcome', await this.subscriber.reconsume(remedy.consumerId, remedy.producerId, ctx));
        this.forgetNotices();
        return;
      }
      if (remedy.action === 'reacquire-track') return this.publisher.reacquire(remedy.producerId);
      const direction = (['send', 'recv'] as const).find((d) => this.transportOf(d)?.id === remedy.transportId);
      if (!direction) throw new Error(`no transport ${remedy.transportId}`);
      await this.restartIce(direction, 'remedy', ctx);
    });
  }

  /**
   * Our media worker died and the server moved us to another: the membership stands, but transports,
   * producers and consumers must be made again. Producers announced meanwhile wait for the new transport.
   */
  private async rebuild(producers: ProducerInfo[]): Promise<void> {
    this.rebuilding = [...producers];
    await this.deps.tracer
      .action('media-reset', {}, undefined, async (ctx) => {
        try {
          this.subscriber.reset();
          this.closeTransports();
          this.deps.store.set(
            'peers',
            this.deps.store.get('peers').map((p) => ({ ...p, tracks: [] })),
          );
          // Both at once, and everyone else's media consumed while ours is published again: a failover is
          // counted in round trips, and none of these waits for another.
          [this.sendTransport, this.recvTransport] = await Promise.all([
            this.createTransport('send', ctx),
            this.createTransport('recv', ctx),
          ]);
        } finally {
          const pending = this.rebuilding ?? [];
          this.rebuilding = undefined;
          pending.forEach((p) => void this.subscriber.consume(p, ctx));
        }
        await this.publisher.republish(ctx);
      })
      .catch((err: unknown) => console.warn('[parley] media reset failed', err));
  }

  private reconcilePeers(snapshot: Snapshot): void {
    const known = new Map(this.deps.store.get('peers').map((p) => [p.id, p]));
    this.deps.store.set(
      'peers',
      snapshot.peers.map((p) => ({ ...p, tracks: known.get(p.id)?.tracks ?? [] })),
    );
    for (const id of known.keys()) if (!snapshot.peers.some((p) => p.id === id)) this.subscriber.dropPeer(id);
  }

  private async createTransport(direction: Direction, trace?: Context): Promise<types.Transport> {
    const ice = { iceTransportPolicy: this.deps.media.iceTransportPolicy };
    const transport = await createTransport(this.device, this.deps.signaling, direction, trace, ice);
    transport.on('connectionstatechange', (state) => {
      if (transport !== this.transportOf(direction)) return;
      this.transportStates[direction] = state;
      clearTimeout(this.iceTimers[direction]);
      if (state === 'failed') void this.onIceLost(direction, 'failed');
      if (state === 'disconnected') {
        this.iceTimers[direction] = setTimeout(() => void this.onIceLost(direction, 'disconnected'), ICE_GRACE_MS);
      }
      this.updateConnection();
    });
    return transport;
  }

  /**
   * ICE lost its path. A network change nobody announced takes the signaling socket with it, silently: a
   * restart's request would wait on it. So signaling is checked first; when it is given up, the resume that
   * follows restarts ICE (it restarts every transport left failed or disconnected).
   */
  private async onIceLost(direction: Direction, reason: 'failed' | 'disconnected'): Promise<void> {
    if ((await this.deps.checkSignaling(ICE_LOST_CHECK_MS)) === 'reconnecting') return;
    await this.restartIce(direction, reason);
  }

  private transportOf(direction: Direction): types.Transport | undefined {
    return direction === 'send' ? this.sendTransport : this.recvTransport;
  }

  /**
   * New ICE credentials from the server; needs signaling, so a resume calls it again if it was down. The
   * one path for every restart: ICE failure, a resume, the doctor's remedy, a network change. A restart begun
   * after a network change makes the transport current again, unless it fails.
   */
  private async restartIce(direction: Direction, reason: IceRestartReason, trace?: Context): Promise<void> {
    const transport = this.transportOf(direction);
    if (!transport || transport.closed || this.left || !this.signalingUp) return;
    const attributes = { 'parley.transport': transport.id, 'parley.direction': direction, 'parley.reason': reason };
    const wasStale = this.staleIce.delete(direction);
    try {
      await this.deps.tracer.action('restart-ice', attributes, trace, async (ctx) => {
        const { iceParameters, iceServers } = await this.deps.signaling.request('restartIce', { transportId: transport.id }, ctx);
        // The restart allocates its relay candidates anew: with the fresh TURN credentials, not the join's (expired
        // after TURN_TTL_S, and coturn would refuse them). @roamhq/wrtc cannot take new ones: it restarts with the old.
        if (iceServers) {
          await transport
            .updateIceServers({ iceServers })
            .catch((err: unknown) => console.warn('[parley] new TURN servers not applied', err));
        }
        await transport.restartIce({ iceParameters: iceParameters as types.IceParameters });
      });
    } catch (err) {
      if (wasStale && transport === this.transportOf(direction)) this.staleIce.add(direction);
      console.warn(`[parley] ICE restart (${direction}) failed`, err);
      // The doctor's remedy span shows the failure too.
      if (reason === 'remedy') throw err;
    }
  }

  private updateConnection(): void {
    if (this.left) return;
    const states = Object.values(this.transportStates);
    const store = this.deps.store;
    if (!this.signalingUp || states.some((s) => s === 'disconnected' || s === 'failed')) store.set('connection', 'reconnecting');
    else if (states.some((s) => s === 'connecting')) store.set('connection', 'connecting');
    else store.set('connection', 'connected');
  }

  private closeTransports(): void {
    for (const timer of Object.values(this.iceTimers)) clearTimeout(timer);
    this.staleIce.clear();
    this.sendTransport?.close();
    this.recvTransport?.close();
    this.sendTransport = this.recvTransport = undefined;
    this.transportStates = { send: 'new', recv: 'new' };
  }

  private closeLocal(): void {
    this.left = true;
    this.chat.stop();
    void this.publisher.close();
    this.subscriber.close();
    this.closeTransports();
    const store = this.deps.store;
    store.set('peers', []);
    store.set('localTracks', {});
    store.set('activeSpeaker', null);
    store.set('speaking', new Set());
    store.set('unreachable', new Set());
    store.set('notices', new Map());
    store.set('chat', []);
    store.set('self', null);
    store.set('selfPeerId', null);
    store.set('room', null);
    this.deps.tracer.scope({ 'parley.room': undefined, 'parley.peer': undefined });
  }
}

/**
 * A Device for this browser (or the host's handler). Detection reads the user agent; should it not recognise
 * one (an unusual Chromium-based browser), the capabilities decide, rather than refusing to connect.
 */
async function loadDevice(
  routerRtpCapabilities: types.RtpCapabilities,
  handlerFactory?: types.HandlerFactory,
): Promise<types.Device> {
  let device: types.Device;
  if (handlerFactory) device = new Device({ handlerFactory });
  else {
    try {
      device = await Device.factory();
    } catch {
      const ua = typeof navigator === 'undefined' ? '' : navigator.userAgent;
      device = new Device({ handlerName: /firefox/i.test(ua) ? 'Firefox120' : 'Chrome111' });
    }
  }
  await device.load({ routerRtpCapabilities });
  return device;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function joinRequest(deps: CallDeps, room: string): ClientRequestData<'join'> {
  return deps.media.region ? { room, region: deps.media.region } : { room };
}
