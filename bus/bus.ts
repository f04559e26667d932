import type { ErrorBody } from '../protocol/errors.ts';

/**
 * The only link between tiers. Payloads are JSON values; headers carry trace context.
 * Two implementations share this shape and one contract test suite: nats.ts and memory.ts.
 */
export type Headers = Record<string, string>;

export interface BusMessage {
  subject: string;
  data: unknown;
  headers: Headers;
}

export interface Subscription {
  unsubscribe(): void;
}

export interface RequestOptions {
  timeoutMs?: number;
  headers?: Headers;
}

/** What a `serve` handler's result travels as, so errors keep their code across the wire. */
export type Reply = { ok: true; data: unknown } | { ok: false; error: ErrorBody };

export interface Bus {
  /** `messaging.system` in traces: nats, or in-process for the embedded bus. */
  readonly system: 'nats' | 'in-process';
  /** Sends a request to whoever serves `subject`; resolves with its data or throws a ParleyError. */
  request(subject: string, data: unknown, options?: RequestOptions): Promise<unknown>;
  /** Answers requests on `subject` (wildcards allowed); thrown errors become error replies. */
  serve(subject: string, handler: (msg: BusMessage) => Promise<unknown>, options?: { queue?: string }): Subscription;
  publish(subject: string, data: unknown, headers?: Headers): void;
  subscribe(subject: string, handler: (msg: BusMessage) => void): Subscription;
  /** A key/value bucket; with `ttlMs`, entries not written again within it disappear. */
  kv(bucket: string, options?: { ttlMs?: number }): Promise<KvStore>;
  /**
   * False for a while after the connection dropped or came back: silence from others then says more about
   * us than about them, so nobody should be declared dead.
   */
  stable(): boolean;
  /** Waits until everything published so far has left this process. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface KvEntry {
  value: unknown;
  revision: number;
}

export interface KvStore {
  get(key: string): Promise<KvEntry | null>;
  put(key: string, value: unknown): Promise<number>;
  /** Writes only if the key has no live value; throws ParleyError('CONFLICT') otherwise. */
  create(key: string, value: unknown): Promise<number>;
  /** Writes only if the key is still at `revision`. */
  update(key: string, value: unknown, revision: number): Promise<number>;
  delete(key: string): Promise<void>;
  /** Live keys; with `prefix` (ending in '.'), only those under it, e.g. `room-1.` for `room-1.*`. */
  keys(prefix?: string): Promise<string[]>;
  /**
   * Calls `onChange` with every key's current value, then with each later write (value) or delete (null).
   * Entries that expire through the bucket TTL are not reported: readers age them out by their own clock.
   */
  watch(onChange: (key: string, value: unknown) => void): Promise<Subscription>;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
