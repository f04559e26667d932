import { ServerMessage, WS_SUBPROTOCOL, WS_TOKEN_SUBPROTOCOL_PREFIX } from '../protocol/client.ts';
import type {
  ClientMethod,
  ClientRequest,
  ClientNotification,
  ClientRequestData,
  ClientResponseData,
} from '../protocol/client.ts';
import { ParleyError } from '../protocol/errors.ts';
import type { Context } from '@opentelemetry/api';
import { injectContext } from '../tracing/context.ts';

type NotificationHandler = (notification: ClientNotification) => void;
/** `code` is the WebSocket close code (protocol/close-codes.ts says what each means). */
export type CloseHandler = (reason: string, code: number) => void;

/**
 * What code that sends requests needs, so a reconnecting wrapper can stand in for one client. `trace` is the
 * context of the action the request belongs to: its `traceparent` travels in the request envelope.
 */
/** A request that could not be answered because its socket closed; a resume on the next one follows. */
export class ConnectionClosed extends Error {
  constructor(reason: string) {
    super(`connection closed: ${reason}`);
    this.name = 'ConnectionClosed';
  }
}

export interface Requester {
  request<M extends ClientMethod>(method: M, data: ClientRequestData<M>, trace?: Context): Promise<ClientResponseData<M>>;
}

interface Pending {
  resolve(data: unknown): void;
  reject(err: Error): void;
}

/** The events this client listens to, reduced to the fields it reads. */
interface SocketEvents {
  open: unknown;
  error: unknown;
  message: { data: unknown };
  close: { code: number; reason: string };
}

/**
 * The part of a WebSocket this client uses. The browser's WebSocket and the `ws` package's (in Node) both
 * fit, so one implementation serves both.
 */
export interface SocketLike {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener<K extends keyof SocketEvents>(
    type: K,
    listener: (event: SocketEvents[K]) => void,
    options?: { once?: boolean },
  ): void;
}
export type WebSocketConstructor = new (url: string, protocols?: string[]) => SocketLike;

const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Where a client opens the signaling WebSocket for `base` (…/ws, ws: or wss: as the page is), and the
 * subprotocols it offers: the protocol version and the access token (never in the URL, where proxies and access
 * logs would keep it). Without a token (the bare benchmark baseline), none.
 */
export function socketTarget(base: string, token?: string): { url: string; protocols: string[] } {
  const url = new URL('/ws', base);
  url.protocol = url.protocol === 'https:' || url.protocol === 'wss:' ? 'wss:' : 'ws:';
  return {
    url: url.toString(),
    protocols: token !== undefined ? [WS_SUBPROTOCOL, `${WS_TOKEN_SUBPROTOCOL_PREFIX}${token}`] : [],
  };
}

/** The client's end of the signaling WebSocket: typed requests with ids, and notifications. */
export class SignalingSocket implements Requester {
  private nextId = 1;
  private pending = new Map<number, Pending>();
  /** Set once the socket closed, so later requests fail at once instead of waiting for their timeout. */
  private closedReason?: string;

  private constructor(
    private ws: SocketLike,
    private onNotification: NotificationHandler,
    private onClose: CloseHandler,
  ) {
    ws.addEventListener('message', (e) => this.receive(String(e.data)));
    // A close always follows an error and is what we report; in Node, `ws` would otherwise throw an
    // error event that has no listener left.
    ws.addEventListener('error', () => undefined);
    ws.addEventListener('close', (e) => {
      if (!this.closed) this.onClosed(e.reason || `closed (${e.code})`, e.code);
    });
  }

  /**
   * Opens `url` (…/ws) offering `protocols` (the protocol version and the access token: see
   * protocol/client.ts). In Node pass a WebSocket implementation, e.g. the `ws` package's; the browser's
   * global one is the default.
   */
  static open(
    url: string,
    protocols: string[],
    onNotification: NotificationHandler,
    onClose: CloseHandler,
    WebSocketImpl: WebSocketConstructor = globalThis.WebSocket,
  ): Promise<SignalingSocket> {
    const ws = new WebSocketImpl(url, protocols);
    return new Promise((resolve, reject) => {
      ws.addEventListener('open', () => resolve(new SignalingSocket(ws, onNotification, onClose)), { once: true });
      ws.addEventListener('error', () => reject(new Error('cannot reach the signaling server')), { once: true });
    });
  }

  request<M extends ClientMethod>(method: M, data: ClientRequestData<M>, trace?: Context): Promise<ClientResponseData<M>> {
    if (this.closedReason !== undefined) return Promise.reject(new ConnectionClosed(this.closedReason));
    const id = this.nextId++;
    const { traceparent } = trace ? injectContext({}, trace) : {};
    const envelope: ClientRequest = traceparent ? { id, method, data, traceparent } : { id, method, data };
    this.ws.send(JSON.stringify(envelope));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method} timed out`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as ClientResponseData<M>);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
    });
  }

  close(code = 1000, reason = 'left'): void {
    this.ws.close(code, reason);
  }

  /**
   * Gives the socket up as dead now: pending requests fail and the close handler runs at once. A browser's
   * close() of a socket whose network is gone waits for a closing handshake that never comes before its close
   * event.
   */
  abandon(code: number, reason: string): void {
    if (this.closed) return;
    this.ws.close(code, reason);
    this.onClosed(reason, code);
  }

  private onClosed(reason: string, code: number): void {
    this.closedReason = reason;
    for (const p of this.pending.values()) p.reject(new ConnectionClosed(reason));
    this.pending.clear();
    this.onClose(reason, code);
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  private receive(text: string): void {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      // In Node a throw here would be an uncaught exception in the socket's listener.
      return console.warn('ignoring non-JSON server message', text);
    }
    const parsed = ServerMessage.safeParse(json);
    if (!parsed.success) return console.warn('ignoring malformed server message', text);
    const message = parsed.data;
    if ('notification' in message) {
      this.onNotification(message);
      return;
    }
    if (message.id === null) return console.warn('server error', message);
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    if (message.ok) pending.resolve(message.data);
    else pending.reject(ParleyError.from(message.error));
  }
}
