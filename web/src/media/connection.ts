import { CLIENT_PROTOCOL_VERSION } from '../../../protocol/client.ts';
import { CloseCode } from '../../../protocol/close-codes.ts';
import type { ClientMethod, ClientNotification, ClientRequestData, ClientResponseData } from '../../../protocol/client.ts';
import type { Context, Span } from '@opentelemetry/api';
import { action, isTraced, requestSpan } from '../telemetry/tracing.ts';
import { SignalingClient } from './signaling.ts';
import type { Requester } from './signaling.ts';

/** Reconnect delays; the last repeats until `GIVE_UP_MS` has passed (the server keeps a session ~20 s). */
const BACKOFF_MS = [250, 500, 1000, 2000, 3000];
const GIVE_UP_MS = 30_000;
const OPEN_TIMEOUT_MS = 8_000;

export interface ConnectionEvents {
  notification(n: ClientNotification): void;
  /** The socket is down and we are trying again. */
  lost(reason: string, code: number): void;
  /** A new socket is open; the owner resumes what it had (lobby subscription, room membership). */
  reopened(trace: Context): Promise<void>;
  /** We stopped trying: the user has to act (retry, or a new token). */
  failed(reason: string): void;
}

/**
 * The signaling WebSocket as the app sees it: one logical connection that survives drops. Requests go to
 * whichever socket is open now; while it is down they fail at once, so callers never hang.
 */
export class Connection implements Requester {
  private client?: SignalingClient;
  private closedByUs = false;
  private reconnecting = false;

  private constructor(
    private tokenSource: () => Promise<string>,
    private events: ConnectionEvents,
  ) {}

  static async open(tokenSource: () => Promise<string>, events: ConnectionEvents): Promise<Connection> {
    const connection = new Connection(tokenSource, events);
    connection.client = await connection.connect();
    return connection;
  }

  get isOpen(): boolean {
    return !!this.client && !this.client.closed;
  }

  /** Inside an action (`trace`), the request gets a client span of its own, and carries that. */
  request<M extends ClientMethod>(method: M, data: ClientRequestData<M>, trace?: Context): Promise<ClientResponseData<M>> {
    const client = this.client;
    if (!client) return Promise.reject(new Error('not connected'));
    if (!isTraced(trace)) return client.request(method, data);
    return requestSpan(method, trace, (ctx) => client.request(method, data, ctx));
  }

  close(): void {
    this.closedByUs = true;
    this.client?.close();
  }

  /** Test hook: drop the socket as a network failure would (the server sees an abnormal close). */
  dropForTest(): void {
    this.client?.close(4000, 'dropped by a test');
  }

  /** Starts over after `failed`: same as a drop, with a fresh backoff. */
  retry(): void {
    void this.reconnect();
  }

  private async connect(): Promise<SignalingClient> {
    const token = await this.tokenSource();
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const url = `${scheme}://${location.host}/ws?v=${CLIENT_PROTOCOL_VERSION}&token=${encodeURIComponent(token)}`;
    let client: SignalingClient | undefined;
    const opening = SignalingClient.open(
      url,
      (n) => this.events.notification(n),
      (reason, code) => {
        if (client && client === this.client) this.onClosed(reason, code);
      },
    );
    client = await withTimeout(opening, OPEN_TIMEOUT_MS, 'the signaling server did not answer');
    return client;
  }

  private onClosed(reason: string, code: number): void {
    if (this.closedByUs) return;
    if (code === CloseCode.resumedElsewhere) return this.events.failed('this session was taken over by another tab or device');
    this.events.lost(reason, code);
    void this.reconnect();
  }

  private async reconnect(): Promise<void> {
    if (this.reconnecting) return;
    this.reconnecting = true;
    try {
      await action('reconnect', {}, undefined, (ctx, span) => this.reconnectLoop(ctx, span));
    } catch (err) {
      this.events.failed((err as Error).message);
    } finally {
      this.reconnecting = false;
    }
  }

  /** Backoff until a socket opens and the owner resumed on it; throws once it is time to give up. */
  private async reconnectLoop(ctx: Context, span: Span): Promise<void> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      await sleep(BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]!);
      if (this.closedByUs) return;
      try {
        this.client = await this.connect();
        await this.events.reopened(ctx);
        span.setAttribute('parley.attempts', attempt + 1);
        return;
      } catch (err) {
        span.addEvent('attempt failed', { attempt: attempt + 1, message: (err as Error).message });
        // A socket that opened but whose resume failed is closed, so the next attempt starts clean.
        if (this.client && !this.client.closed) this.client.close(4000, 'retrying');
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
