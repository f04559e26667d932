import type { ClientMethod, ClientNotification, ClientRequestData, ClientResponseData } from '../protocol/client.ts';
import { ANY_ROOM } from '../protocol/auth.ts';
import { CloseCode } from '../protocol/close-codes.ts';
import { ParleyError } from '../protocol/errors.ts';
import type { Removed } from '../protocol/moderation.ts';
import type { Lobby } from '../protocol/presence.ts';
import { Call } from './call.ts';
import { Connection } from './connection.ts';
import { CAMERA_ENCODINGS } from './deps.ts';
import type { CallDeps, MediaOptions } from './deps.ts';
import { Emitter } from './events.ts';
import type { ClientEvents } from './events.ts';
import type { Capture, ClientState, ClientTracer, Feed, NetworkWatch, StateStore } from './host.ts';
import { memoryStore, noTracer } from './host.ts';
import { Throttle } from './network-watch.ts';
import type { Requester, WebSocketConstructor } from './socket.ts';
import { readClaims } from './token.ts';

/** Where the access token comes from; `refused` is true after the server refused the previous one (4401). */
export type TokenSource = string | ((info: { refused: boolean }) => Promise<string>);

export interface ClientOptions {
  /** The signaling server's base URL (http(s):// or ws(s)://), or several: a reconnect tries the next. */
  url: string | string[];
  token: TokenSource;
  /** Where tracks come from; needed to publish (a receive-only client can leave it out). */
  capture?: Capture;
  /** Where state goes (default: a plain object, read it with `client.get(key)`). */
  store?: StateStore;
  tracer?: ClientTracer;
  /** A WebSocket implementation for Node (e.g. the `ws` package's); browsers have their own. */
  WebSocket?: WebSocketConstructor;
  /** Reconnect and resume on its own after a drop (default). Off: call `reconnect()`. */
  autoReconnect?: boolean;
  media?: Partial<MediaOptions>;
  /** Wraps every request the client sends: logging, or a test's faults. */
  requestMiddleware?: (next: Requester) => Requester;
  /** Lets the host drop a notification before the client acts on it (a test's faults); default: all. */
  acceptNotification?: (n: ClientNotification) => boolean;
  /**
   * Where the client hears that the network changed (`browserNetworkWatch()` in a browser). Without one (Node)
   * it waits for ICE to notice a dead path by itself, which takes seconds.
   */
  network?: NetworkWatch;
}

/** How long signaling may take to answer a ping after a network change (or ICE lost its path) before its socket counts as dead. */
const NETWORK_CHECK_MS = 1000;
/** Network events closer together than this are one change (see Throttle). */
const NETWORK_QUIET_MS = 500;

const noCapture: Capture = {
  track: () => Promise.reject(new Error('this client was created without a capture: it cannot publish')),
  screen: () => Promise.reject(new Error('this client was created without a capture: it cannot publish')),
};

/**
 * A Parley client: one signaling connection that reconnects and resumes on its own, the live lobby, and at
 * most one call (a room membership) at a time. Runs in browsers and in Node (with @roamhq/wrtc).
 */
export class ParleyClient {
  readonly store: StateStore;
  /** How this client publishes and receives; a change applies to what is published after it. */
  readonly media: MediaOptions;
  private events = new Emitter<ClientEvents>();
  private connection!: Connection;
  private signaling!: Requester;
  private current?: Call;
  /** The call whose join is under way: room notifications go to it from the moment its join request is sent. */
  private joining?: Call;
  private lobbyWanted = false;
  private refused = false;
  /** Network changes seen so far: a join that saw one while in flight restarts its ICE once it is done. */
  private networkChanges = 0;
  private networkChanged = new Throttle((what) => void this.onNetworkChange(what), NETWORK_QUIET_MS);
  private stopWatching?: () => void;

  private constructor(private options: ClientOptions) {
    this.store = options.store ?? memoryStore();
    this.media = { cameraEncodings: CAMERA_ENCODINGS, subscribe: true, iceTransportPolicy: 'all', ...options.media };
  }

  static async connect(options: ClientOptions): Promise<ParleyClient> {
    const client = new ParleyClient(options);
    await client.open();
    return client;
  }

  /** The client's state now (connection, lobby, peers and their tracks, local tracks…). */
  get<K extends keyof ClientState>(key: K): ClientState[K] {
    return this.store.get(key);
  }

  on<K extends keyof ClientEvents>(event: K, listener: (value: ClientEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  /** The current call, if joined. */
  get call(): Call | undefined {
    return this.current;
  }

  get connected(): boolean {
    return this.connection.isOpen;
  }

  /** The live lobby (needs a token for any room); `lobby` in the state follows every change. */
  async subscribeLobby(): Promise<Lobby> {
    this.lobbyWanted = true;
    const lobby = await this.signaling.request('subscribeLobby', {});
    this.store.set('lobby', lobby);
    return lobby;
  }

  /**
   * Joins `room` (by default the one room a room-scoped token is for); resolves once we are in it (the others'
   * media on its way). The feeds in `publish` (e.g. microphone and camera) then turn on in the same traced
   * action: capture and produce take seconds on a busy device, and the room should not wait for them. Their
   * progress is `pendingFeeds`, a failure an `error` event (kind `capture`); `call.setFeed` to await one.
   * One call at a time: leave the current one first.
   */
  async join(room?: string, { publish = [] }: { publish?: Feed[] } = {}): Promise<Call> {
    if (this.current && !this.current.closed) throw new Error(`already in room ${this.current.room}; leave it first`);
    room ??= this.tokenRoom();
    const startedAt = performance.now();
    const tracer = this.tracer;
    const networkChanges = this.networkChanges;
    return tracer.action('join', { 'parley.room': room }, undefined, async (ctx, span) => {
      const call = Call.create(this.deps(), room, startedAt);
      this.joining = call;
      await call.start(ctx).finally(() => {
        this.joining = undefined;
      });
      span.setAttribute('parley.peer', call.peerId);
      this.current = call;
      // The transports were made while the network changed: their ICE may have started on the old one.
      if (this.networkChanges !== networkChanges) {
        call.onNetworkChange();
        void call.restartStaleIce(ctx);
      }
      for (const feed of publish) void call.setFeed(feed, true, ctx).catch(() => undefined);
      return call;
    });
  }

  /** Leaves the current call (stopping every local track); the connection stays for the lobby. */
  async leave(): Promise<void> {
    this.markChatRead();
    const call = this.current;
    this.current = undefined;
    await call?.leave();
    if (this.connection.isOpen) this.store.set('connection', 'connected');
  }

  /** Any request of the protocol (docs/protocol.md), for what the client has no method for. */
  request<M extends ClientMethod>(method: M, data: ClientRequestData<M>): Promise<ClientResponseData<M>> {
    return this.signaling.request(method, data);
  }

  /** Drops the socket as a network failure would; with reconnecting on, the client resumes by itself. */
  drop(): void {
    this.connection.drop();
  }

  /** Reconnects now (to `url`, or the next address) and resumes; also the way out of `failed`. */
  reconnect(url?: string): Promise<void> {
    this.store.set('connection', 'reconnecting');
    return this.connection.reconnect(url);
  }

  /** Closes the call (without leaving: the server ends it after its grace period) and the connection. */
  close(): void {
    this.stopWatching?.();
    this.networkChanged.stop();
    this.current?.close();
    this.current = undefined;
    this.connection.close();
    this.store.set('connection', 'offline');
  }

  private tokenRoom(): string {
    const room = typeof this.options.token === 'string' ? readClaims(this.options.token)?.room : undefined;
    if (!room || room === ANY_ROOM) throw new Error('say which room: this token is not for one room');
    return room;
  }

  private get tracer(): ClientTracer {
    return this.options.tracer ?? noTracer;
  }

  private deps(): CallDeps {
    return {
      signaling: this.signaling,
      capture: this.options.capture ?? noCapture,
      store: this.store,
      tracer: this.tracer,
      events: this.events,
      media: this.media,
      checkSignaling: (timeoutMs) => this.connection.check(timeoutMs),
    };
  }

  private async open(): Promise<void> {
    const { options } = this;
    const token = options.token;
    this.store.set('connection', 'connecting');
    try {
      this.connection = await Connection.open(
        {
          urls: Array.isArray(options.url) ? [...options.url] : [options.url],
          token: () => (typeof token === 'string' ? Promise.resolve(token) : token({ refused: this.refused })),
          tracer: this.tracer,
          WebSocket: options.WebSocket,
          autoReconnect: options.autoReconnect,
          renewableToken: typeof token !== 'string',
        },
        {
          notification: (n) => this.onNotification(n),
          lost: (reason, code) => this.onLost(code, reason),
          reopened: (trace, lostCode) => this.onReopened(trace, lostCode),
          failed: (message, takenOver) => {
            this.store.set('connection', 'failed');
            this.events.emit('error', { kind: 'connection', reason: takenOver ? 'taken-over' : 'gave-up', message });
          },
        },
      );
    } catch (err) {
      this.store.set('connection', 'failed');
      throw err;
    }
    this.signaling = options.requestMiddleware ? options.requestMiddleware(this.connection) : this.connection;
    this.store.set('connection', 'connected');
    this.stopWatching = options.network?.watch((what) => this.networkChanged.push(what));
  }

  /**
   * The host saw the network change. Rather than wait seconds for ICE (and the signaling socket) to find
   * their paths dead: check signaling and restart ICE on both transports, now if signaling answered, else as
   * part of the resume that follows the reconnect. After `online` (the host was without an address a moment
   * ago) the socket is given up at once: the 1 s ping deadline was most of the recovery. After another change
   * (a new connection type) the old path may still work: an unanswered ping gives it up. While a reconnect is
   * under way, that reconnect's resume does it.
   */
  private onNetworkChange(what: string): Promise<void> {
    this.networkChanges++;
    return this.tracer
      .action('network-change', { 'parley.network.event': what }, undefined, async (ctx, span) => {
        const call = this.current?.closed ? undefined : this.current;
        call?.onNetworkChange();
        const signaling =
          what === 'online' ? this.connection.giveUp('the host was offline') : await this.connection.check(NETWORK_CHECK_MS);
        span.setAttribute('parley.signaling', signaling);
        if (signaling === 'alive') await call?.restartStaleIce(ctx);
      })
      .catch((err: unknown) => console.warn('[parley] reacting to a network change failed', err));
  }

  private onNotification(n: ClientNotification): void {
    this.events.emit('notification', n);
    if (this.options.acceptNotification && !this.options.acceptNotification(n)) return;
    if (n.notification === 'lobby') {
      this.store.set('lobby', n.data);
      this.markChatRead();
    } else if (n.notification === 'removed') this.onRemoved(n.data);
    else (this.joining ?? this.current)?.onNotification(n);
  }

  /** Our membership is over (a moderator removed us, or ended the room): no rejoining. */
  private onRemoved(removed: Removed): void {
    const call = this.current;
    this.current = undefined;
    call?.close();
    if (this.connection.isOpen) this.store.set('connection', 'connected');
    this.events.emit('error', { kind: 'removed', ...removed });
  }

  /** While we are in a room, its chat counts as read: the lobby's unread count for it starts again from now. */
  private markChatRead(): void {
    const room = this.current?.room;
    const head = this.store.get('lobby')?.rooms.find((r) => r.roomId === room)?.chat;
    if (room && head) this.store.set('chatRead', { ...this.store.get('chatRead'), [room]: head });
  }

  private onLost(code: number, reason: string): void {
    this.refused = code === CloseCode.unauthorized;
    this.store.set('connection', 'reconnecting');
    this.current?.onSignalingLost();
    this.events.emit('lost', { code, reason });
  }

  private async onReopened(trace: Parameters<Call['onSignalingReopened']>[1], lostCode: number): Promise<void> {
    this.refused = false;
    if (this.lobbyWanted) this.store.set('lobby', await this.connection.request('subscribeLobby', {}, trace));
    const call = this.current;
    if (!call || call.closed) return this.store.set('connection', 'connected');
    try {
      await call.onSignalingReopened(lostCode === CloseCode.mediaLost, trace);
    } catch (err) {
      // Removed while we were away: joining again is refused, and that is the answer, not a fault to retry.
      if (!(err instanceof ParleyError && err.code === 'REMOVED')) throw err;
      this.onRemoved({ reason: err.message, by: null, roomEnded: false });
    }
  }
}
