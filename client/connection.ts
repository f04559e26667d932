import type { Context, Span } from '@opentelemetry/api';
import type { ClientMethod, ClientNotification, ClientRequestData, ClientResponseData } from '../protocol/client.ts';
import { CloseCode } from '../protocol/close-codes.ts';
import { ParleyError } from '../protocol/errors.ts';
import type { ClientTracer } from './host.ts';
import { isTraced } from './host.ts';
import { SignalingSocket, socketTarget } from './socket.ts';
import type { Requester, WebSocketConstructor } from './socket.ts';

/** Close codes after which reconnecting cannot help (protocol/close-codes.ts says why for each). */
const FINAL = new Set<number>([
  CloseCode.resumedElsewhere,
  CloseCode.tooManyConnections,
  CloseCode.messageTooBig,
  CloseCode.badVersion,
]);

/** Reconnect delays; the last repeats until `GIVE_UP_MS` has passed (the server keeps a membership ~20 s). */
const BACKOFF_MS = [250, 500, 1000, 2000, 3000];
const GIVE_UP_MS = 30_000;
const OPEN_TIMEOUT_MS = 8_000;

export interface ConnectionEvents {
  notification(n: ClientNotification): void;
  /** The socket is down; unless reconnecting is off, we are trying again. */
  lost(reason: string, code: number): void;
  /** A new socket is open; the owner resumes what it had (lobby subscription, room membership). */
  reopened(trace: Context, lostCode: number): Promise<void>;
  /** We stopped trying: the user has to act (retry, or a new token); `takenOver`: another tab resumed it. */
  failed(message: string, takenOver: boolean): void;
}

export interface ConnectionOptions {
  /** Signaling base URLs (http(s):// or ws(s)://); a reconnect tries the next one when one is down. */
  urls: string[];
  /** Asked at every (re)connect; after a 4401 refusal it should mint or fetch a fresh token. */
  token: () => Promise<string>;
  tracer: ClientTracer;
  /** In Node pass a WebSocket implementation (e.g. the `ws` package's); the browser's global is the default. */
  WebSocket?: WebSocketConstructor;
  /** Reconnect on its own after a drop (default). Off: the owner calls `reconnect()` when it wants to. */
  autoReconnect?: boolean;
  /** Whether `token` can come up with a fresh token after a refusal; if not, a refused one is final. */
  renewableToken: boolean;
}

/**
 * The signaling WebSocket as the client sees it: one logical connection that survives drops. Requests go to
 * whichever socket is open now; while it is down they fail at once, so callers never hang.
 */
export class Connection implements Requester {
  private socket?: SignalingSocket;
  private closedByUs = false;
  private reconnecting = false;
  private urlIndex = 0;
  private lastCloseCode = 0;
  /** The socket was given up after a network change: the new network is there, so reconnect without waiting. */
  private givenUp = false;

  private constructor(
    private options: ConnectionOptions,
    private events: ConnectionEvents,
  ) {}

  static async open(options: ConnectionOptions, events: ConnectionEvents): Promise<Connection> {
    if (options.urls.length === 0) throw new Error('no signaling URL given');
    const connection = new Connection(options, events);
    connection.socket = await connection.connect();
    return connection;
  }

  get isOpen(): boolean {
    return !!this.socket && !this.socket.closed;
  }

  /** Inside an action (`trace`), the request gets a client span of its own, and carries that. */
  request<M extends ClientMethod>(method: M, data: ClientRequestData<M>, trace?: Context): Promise<ClientResponseData<M>> {
    const socket = this.socket;
    if (!socket) return Promise.reject(new Error('not connected'));
    if (!isTraced(trace)) return socket.request(method, data);
    return this.options.tracer.request(method, trace, (ctx) => socket.request(method, data, ctx));
  }

  /**
   * After a network change: is the socket still alive? A ping unanswered within `timeoutMs` means it died with
   * the old network; it is given up at once and the usual reconnect and resume follow. `reconnecting` also when
   * a reconnect was already under way (nothing more is done then).
   */
  async check(timeoutMs: number): Promise<'alive' | 'reconnecting'> {
    const socket = this.socket;
    if (this.reconnecting || !socket || socket.closed) return 'reconnecting';
    try {
      await withTimeout(socket.request('ping', {}), timeoutMs, 'no answer after the network changed');
      return 'alive';
    } catch (err) {
      // Any answer, even a refusal (a server from before `ping`), shows the socket works.
      if (err instanceof ParleyError) return 'alive';
      if (socket !== this.socket) return 'reconnecting';
      return this.giveUp((err as Error).message);
    }
  }

  /**
   * Gives the socket up now, without asking it first: after the host was offline its path is gone with the old
   * address. The usual reconnect and resume follow; the resume takes the membership over from the old socket,
   * so one that was alive after all costs a resume, not the call. `reconnecting` in every case.
   */
  giveUp(reason: string): 'reconnecting' {
    const socket = this.socket;
    if (this.reconnecting || !socket || socket.closed) return 'reconnecting';
    this.givenUp = true;
    socket.abandon(4000, reason);
    return 'reconnecting';
  }

  close(): void {
    this.closedByUs = true;
    this.socket?.close();
  }

  /** Drops the socket as a network failure would (the server sees an abnormal close). */
  drop(): void {
    this.socket?.close(4000, 'dropped');
  }

  /**
   * Reconnects now (after `failed`, or when reconnecting on its own is off), to `url` if given, and resumes;
   * resolves once resumed, rejects when it gave up.
   */
  async reconnect(url?: string): Promise<void> {
    if (url) {
      const known = this.options.urls.indexOf(url);
      if (known < 0) this.options.urls.push(url);
      this.urlIndex = known < 0 ? this.options.urls.length - 1 : known;
    }
    if (this.isOpen) this.socket?.close(4000, 'reconnecting');
    await this.reconnectWithBackoff(true);
  }

  private async connect(): Promise<SignalingSocket> {
    const token = await this.options.token();
    const { url, protocols } = socketTarget(this.options.urls[this.urlIndex % this.options.urls.length]!, token);
    let socket: SignalingSocket | undefined;
    const opening = SignalingSocket.open(
      url,
      protocols,
      (n) => this.events.notification(n),
      (reason, code) => {
        if (socket && socket === this.socket) this.onClosed(reason, code);
      },
      this.options.WebSocket,
    );
    socket = await withTimeout(opening, OPEN_TIMEOUT_MS, 'the signaling server did not answer');
    return socket;
  }

  private onClosed(reason: string, code: number): void {
    if (this.closedByUs) return;
    this.lastCloseCode = code;
    if (code === CloseCode.resumedElsewhere)
      return this.events.failed('this session was taken over by another tab or device', true);
    // Trying again would only be refused again: the user (or the app) has to act.
    if (FINAL.has(code) || (code === CloseCode.unauthorized && !this.options.renewableToken))
      return this.events.failed(reason, false);
    this.events.lost(reason, code);
    const now = this.givenUp;
    this.givenUp = false;
    if (this.options.autoReconnect ?? true) void this.reconnectWithBackoff(now).catch(() => undefined);
  }

  private async reconnectWithBackoff(now: boolean): Promise<void> {
    if (this.reconnecting) return;
    this.reconnecting = true;
    try {
      await this.options.tracer.action('reconnect', {}, undefined, (ctx, span) => this.reconnectLoop(ctx, span, now));
    } catch (err) {
      this.events.failed((err as Error).message, false);
      throw err;
    } finally {
      this.reconnecting = false;
    }
  }

  /** Backoff until a socket opens and the owner resumed on it; throws once it is time to give up. */
  private async reconnectLoop(ctx: Context, span: Span, now: boolean): Promise<void> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      if (!now || attempt > 0) await sleep(BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]!);
      if (this.closedByUs) return;
      try {
        this.socket = await this.connect();
        await this.events.reopened(ctx, this.lastCloseCode);
        span.setAttribute('parley.attempts', attempt + 1);
        return;
      } catch (err) {
        span.addEvent('attempt failed', { attempt: attempt + 1, message: (err as Error).message });
        // A socket that opened but whose resume failed is closed, so the next attempt starts clean.
        if (this.socket && !this.socket.closed) this.socket.close(4000, 'retrying');
        // The next attempt goes to the next address: this one may be the instance that died.
        this.urlIndex++;
        if (Date.now() - started > GIVE_UP_MS) throw err;
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(message)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
