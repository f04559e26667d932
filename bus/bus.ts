import type { ErrorBody } from '../protocol/errors.ts';
import { log } from '../tracing/log.ts';

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

const utf8 = new TextEncoder();

/** What a JSON text weighs on the wire (UTF-8 bytes), against the max payload. */
export function wireBytes(json: string): number {
  return utf8.encode(json).length;
}

/** The error both buses log for a message they drop as too large. */
export function logOversize(subject: string, bytes: number, maxBytes: number): void {
  log.error('a bus message over the max payload was dropped', { subject, bytes, maxBytes });
}

export interface Bus {
  /** `messaging.system` in traces: nats, or in-process for the embedded bus. */
  readonly system: 'nats' | 'in-process';
  /** Sends a request to whoever serves `subject`; resolves with its data or throws a ParleyError. */
  request(subject: string, data: unknown, options?: RequestOptions): Promise<unknown>;
  /** Answers requests on `subject` (wildcards allowed); thrown errors become error replies. */
  serve(subject: string, handler: (msg: BusMessage) => Promise<unknown>, options?: { queue?: string }): Subscription;
  /**
   * Fire and forget; never throws. A message larger than NATS's max payload is dropped and logged as an error:
   * publishes run in timers and callbacks, where a throw would end the process.
   */
  publish(subject: string, data: unknown, headers?: Headers): void;
  subscribe(subject: string, handler: (msg: BusMessage) => void): Subscription;
  /** A key/value bucket; with `ttlMs`, entries not written again within it disappear. */
  kv(bucket: string, options?: KvOptions): Promise<KvStore>;
  /** A durable message stream (JetStream in NATS), created or brought to `config` on first use. */
  stream(name: string, config: StreamConfig): Promise<Stream>;
  /**
   * False for a while after the connection dropped or came back: silence from others then says more about
   * us than about them, so nobody should be declared dead.
   */
  stable(): boolean;
  /** Waits until everything published so far has left this process. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface KvOptions {
  ttlMs?: number;
  /**
   * The NATS cluster to keep a new bucket in (a region's, for its regional buckets), whichever region creates it.
   * A server without clusters and the embedded bus have one place and ignore it.
   */
  cluster?: string;
}

export interface KvEntry {
  value: unknown;
  revision: number;
}

export interface KvStore {
  get(key: string): Promise<KvEntry | null>;
  put(key: string, value: unknown): Promise<number>;
  /**
   * A put nobody waits for (no acknowledgement is asked for): for values written again soon anyway, such as
   * heartbeats, where one lost is replaced by the next and an acknowledged put would cost several times as much.
   */
  refresh(key: string, value: unknown): void;
  /** Writes only if the key has no live value; throws ParleyError('CONFLICT') otherwise. */
  create(key: string, value: unknown): Promise<number>;
  /** Writes only if the key is still at `revision`. */
  update(key: string, value: unknown, revision: number): Promise<number>;
  delete(key: string): Promise<void>;
  /** Live keys; with `prefix` (ending in '.'), only those under it, e.g. `room-1.` for `room-1.*`. */
  keys(prefix?: string): Promise<string[]>;
  /** Live keys with their entries, as `keys` selects them. */
  entries(prefix?: string): Promise<[string, KvEntry][]>;
  /** The newest revision the bucket has given (a write or a delete; one that expired since too), 0 if none. */
  lastRevision(): Promise<number>;
  /**
   * Calls `onChange` with every key's current value, then with each later write (value) or delete (null), each
   * with its revision (later changes have higher ones). Entries that expire through the bucket TTL are not
   * reported: readers age them out by their own clock.
   */
  watch(onChange: (key: string, value: unknown, revision: number) => void): Promise<Subscription>;
}

/** What a stream keeps; the oldest messages go first when a limit is reached. */
export interface StreamConfig {
  /** The subjects it stores (wildcards allowed); a publish on them also reaches plain subscribers. */
  subjects: string[];
  /** The newest this many of each subject. */
  maxMsgsPerSubject?: number;
  /** The newest this many in all. */
  maxMsgs?: number;
  /** Nothing older than this. */
  maxAgeMs?: number;
  /** A publish repeating a `msgId` seen within this window is stored once (default 2 minutes). */
  duplicateWindowMs?: number;
}

export interface StoredMessage {
  /** The stream's sequence number: increasing, unique within the stream. */
  seq: number;
  subject: string;
  data: unknown;
  /** Epoch ms when the stream stored it. */
  time: number;
}

/** What a durable consumer's handler decides for one message. */
export type Outcome = { ack: true } | { retryInMs: number } | { term: true };

export interface DurableOptions {
  /** A message handed out and neither acknowledged nor retried within this is handed out again (its process died). */
  ackWaitMs: number;
  /** Only messages whose subject matches this. */
  filter?: string;
  /** Messages this process handles at once. */
  concurrency?: number;
}

export interface Stream {
  /** Stores a message; resolves with its sequence once stored (a repeated `msgId`: the first one's). */
  publish(subject: string, data: unknown, options?: { msgId?: string }): Promise<number>;
  /** The stored messages of one subject, oldest first; with `afterSeq`, only later ones. */
  read(subject: string, options?: { afterSeq?: number }): Promise<StoredMessage[]>;
  /** Removes every stored message of one subject. */
  purge(subject: string): Promise<void>;
  /**
   * Joins the durable consumer `durable`, which every process opening it by that name shares: each message
   * stored after the consumer was first created goes to one of them at a time until its handler acknowledges
   * or ends it. A handler that throws, or whose process dies, gets the message again after `ackWaitMs`.
   */
  consume(
    durable: string,
    handler: (message: StoredMessage & { attempt: number }) => Promise<Outcome>,
    options: DurableOptions,
  ): Promise<Subscription>;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
export const DEFAULT_DUPLICATE_WINDOW_MS = 120_000;
