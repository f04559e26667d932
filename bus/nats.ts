import { headers as natsHeaders, RequestError, TimeoutError } from '@nats-io/nats-core';
import type { Msg, MsgHdrs, NatsConnection } from '@nats-io/nats-core';
import { jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamManager } from '@nats-io/jetstream';
import { Bucket, Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { ParleyError } from '../protocol/errors.ts';
import type { Bus, BusMessage, Headers, KvEntry, KvStore, RequestOptions, Stream, StreamConfig, Subscription } from './bus.ts';
import type { KvOptions } from './bus.ts';
import { DEFAULT_REQUEST_TIMEOUT_MS, logOversize } from './bus.ts';
import { NATS_MAX_PAYLOAD_BYTES } from '../protocol/limits.ts';
import { NatsLink } from './nats-link.ts';
import { NatsStream } from './nats-stream.ts';
import { replyJson, runHandler, unwrapReply } from './reply.ts';

const utf8 = new TextEncoder();

/** How soon to ask again when nobody served a request while the bus is unsettled. */
const NO_RESPONDER_RETRY_MS = 100;
/** A stream's leader answers in milliseconds; a check that waits longer is behind a cut link and tries again. */
const PROBE_TIMEOUT_MS = 1_000;

/** The distributed bus. It takes a connection so each runtime can open it its own way (TCP or WebSocket). */
export class NatsBus implements Bus {
  readonly system = 'nats';
  private kvm: Kvm;
  private link: NatsLink;
  private stores = new Map<string, Promise<KvStore>>();

  constructor(readonly nc: NatsConnection) {
    this.kvm = new Kvm(nc);
    this.link = new NatsLink(nc);
  }

  stable(): boolean {
    return this.link.stable();
  }

  async request(subject: string, data: unknown, options: RequestOptions = {}): Promise<unknown> {
    const timeout = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const deadline = Date.now() + timeout;
    const send = () =>
      this.nc.request(subject, encode(data), {
        timeout: Math.max(1, deadline - Date.now()),
        headers: toNatsHeaders(options.headers),
      });
    for (;;) {
      try {
        return unwrapReply((await this.link.run(subject, deadline, send)).json());
      } catch (err) {
        // Right after a reconnect the responder may not have resubscribed yet. Nobody got the request, so
        // asking again is safe; once the bus is settled, no responder means gone and is reported at once.
        const retry = isNoResponders(err) && !this.link.stable() && deadline - Date.now() > NO_RESPONDER_RETRY_MS;
        if (!retry) throw toParleyError(err, subject, timeout);
        await new Promise((resolve) => setTimeout(resolve, NO_RESPONDER_RETRY_MS));
      }
    }
  }

  serve(subject: string, handler: (msg: BusMessage) => Promise<unknown>, options: { queue?: string } = {}) {
    return this.nc.subscribe(subject, {
      queue: options.queue,
      callback: (err, msg) => {
        if (err) return;
        void runHandler(handler, fromNats(msg)).then((reply) => msg.respond(replyJson(msg.subject, reply, this.maxPayload())));
      },
    });
  }

  publish(subject: string, data: unknown, headers?: Headers): void {
    const payload = utf8.encode(encode(data));
    const maxBytes = this.maxPayload();
    if (payload.length > maxBytes) return logOversize(subject, payload.length, maxBytes);
    this.nc.publish(subject, payload, { headers: toNatsHeaders(headers) });
  }

  /** The server's own limit: nats-server may be configured above or below the default. */
  private maxPayload(): number {
    return this.nc.info?.max_payload ?? NATS_MAX_PAYLOAD_BYTES;
  }

  subscribe(subject: string, handler: (msg: BusMessage) => void): Subscription {
    return this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (!err) handler(fromNats(msg));
      },
    });
  }

  kv(bucket: string, options: KvOptions = {}): Promise<KvStore> {
    let store = this.stores.get(bucket);
    if (!store) {
      const placement = options.cluster ? { placement: { cluster: options.cluster, tags: [] } } : {};
      const create = () => this.kvm.create(bucket, { ttl: options.ttlMs ?? 0, history: 1, ...placement });
      store = this.link.run(`opening KV ${bucket}`, Date.now() + DEFAULT_REQUEST_TIMEOUT_MS, create).then(async (kv) => {
        const probe = await jetstreamManager(this.nc, { timeout: PROBE_TIMEOUT_MS, checkAPI: false });
        return new NatsKv(this.nc, kv, await jetstreamManager(this.nc), probe, bucket, this.link);
      });
      // A failed open is not remembered: the next call tries again.
      store.catch(() => this.stores.delete(bucket));
      this.stores.set(bucket, store);
    }
    return store;
  }

  stream(name: string, config: StreamConfig): Promise<Stream> {
    return NatsStream.open(this.nc, this.link, name, config);
  }

  async flush(): Promise<void> {
    // A flush made while down is rejected when nats.js dials again: wait for the connection instead.
    await this.link.run('flush', Date.now() + DEFAULT_REQUEST_TIMEOUT_MS, () => this.nc.flush());
  }

  async close(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.drain();
  }
}

/** JetStream KV through the same link as requests, so an operation never waits on a request that was dropped. */
class NatsKv implements KvStore {
  constructor(
    private nc: NatsConnection,
    private kv: KV,
    private jsm: JetStreamManager,
    /** The same API with a short timeout, for checks repeated on a timer. */
    private probe: JetStreamManager,
    private bucket: string,
    private link: NatsLink,
  ) {}

  /** JetStream's own API timeout (5 s) bounds the operation; this bounds the wait for a connection. */
  private run<T>(what: string, key: string, op: () => Promise<T>): Promise<T> {
    return this.link.store(`KV ${what} ${this.bucket}/${key}`, Date.now() + DEFAULT_REQUEST_TIMEOUT_MS, op);
  }

  async get(key: string): Promise<KvEntry | null> {
    const entry = await this.run('get', key, () => this.kv.get(key));
    if (entry?.operation !== 'PUT') return null;
    return { value: entry.json(), revision: entry.revision };
  }

  put(key: string, value: unknown): Promise<number> {
    return this.run('put', key, () => this.kv.put(key, encode(value)));
  }

  /** A plain publish on the key's subject, which the bucket's stream stores as kv.put would, without a reply. */
  refresh(key: string, value: unknown): void {
    if (!(this.kv instanceof Bucket)) return void this.put(key, value).catch(() => undefined);
    try {
      this.nc.publish(this.kv.subjectForKey(this.kv.encodeKey(key), true), encode(value));
    } catch {
      // Closed or draining: nothing is written any more, and the next heartbeat has nowhere to go either.
    }
  }

  create(key: string, value: unknown): Promise<number> {
    return this.run('create', key, () => this.kv.create(key, encode(value)).catch((err: unknown) => rethrowConflict(err, key)));
  }

  update(key: string, value: unknown, revision: number): Promise<number> {
    return this.run('update', key, () =>
      this.kv.update(key, encode(value), revision).catch((err: unknown) => rethrowConflict(err, key)),
    );
  }

  async delete(key: string): Promise<void> {
    await this.run('delete', key, () => this.kv.delete(key));
  }

  async keys(prefix?: string): Promise<string[]> {
    return (await this.entries(prefix)).map(([key]) => key);
  }

  /**
   * The stream's subject map, from its leader in one request: nats.js's `kv.keys()` makes a consumer (through
   * the JetStream meta leader, which may be in another region) and could wait for a key that expired meanwhile.
   * The map still holds deleted keys' markers, so each key is read.
   */
  entries(prefix?: string): Promise<[string, KvEntry][]> {
    return this.run('entries', prefix ?? '*', async () => {
      const head = `$KV.${this.bucket}.`;
      const info = await this.jsm.streams.info(`KV_${this.bucket}`, { subjects_filter: `${head}${prefix ?? ''}>` });
      const keys = Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(head.length));
      const read = await Promise.all(keys.map(async (key) => [key, await this.kv.get(key)] as const));
      return read.flatMap(([key, e]): [string, KvEntry][] =>
        e?.operation === 'PUT' ? [[key, { value: e.json(), revision: e.revision }]] : [],
      );
    });
  }

  /** From the stream's leader (no consumer, so no JetStream meta leader needed: see KvCache). */
  lastRevision(): Promise<number> {
    return this.run('last revision', '*', async () => (await this.probe.streams.info(`KV_${this.bucket}`)).state.last_seq);
  }

  async watch(onChange: (key: string, value: unknown, revision: number) => void): Promise<Subscription> {
    // Once started, the watch (an ordered consumer) follows reconnects by itself.
    const updates = await this.run('watch', '*', () => this.kv.watch());
    void (async () => {
      for await (const entry of updates) {
        onChange(entry.key, entry.operation === 'PUT' ? entry.json() : null, entry.revision);
      }
    })();
    return { unsubscribe: () => updates.stop() };
  }
}

// JetStream answers a failed compare-and-set with "wrong last sequence" (API error 10071).
function rethrowConflict(err: unknown, key: string): never {
  if (err instanceof Error && /wrong last sequence|10071/.test(err.message)) {
    throw new ParleyError('CONFLICT', `key ${key} changed`);
  }
  throw err;
}

function isNoResponders(err: unknown): boolean {
  return err instanceof RequestError && err.isNoResponders();
}

function toParleyError(err: unknown, subject: string, timeout: number): Error {
  if (err instanceof ParleyError) return err;
  if (isNoResponders(err)) {
    return new ParleyError('UNAVAILABLE', `no responder for ${subject}`);
  }
  if (err instanceof TimeoutError || (err instanceof RequestError && err.cause instanceof TimeoutError)) {
    return new ParleyError('TIMEOUT', `${subject} timed out after ${timeout} ms`);
  }
  return new ParleyError('UNAVAILABLE', `bus request failed: ${err instanceof Error ? err.message : String(err)}`);
}

function encode(value: unknown): string {
  return JSON.stringify(value ?? null);
}

function fromNats(msg: Msg): BusMessage {
  return { subject: msg.subject, data: parseJson(msg.string()), headers: fromNatsHeaders(msg.headers) };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // A handler's schema check turns this into BAD_REQUEST with a clear path.
    return undefined;
  }
}

function toNatsHeaders(headers?: Headers): MsgHdrs | undefined {
  if (!headers || Object.keys(headers).length === 0) return undefined;
  const h = natsHeaders();
  for (const [k, v] of Object.entries(headers)) h.set(k, v);
  return h;
}

function fromNatsHeaders(h?: MsgHdrs): Headers {
  const out: Headers = {};
  if (!h) return out;
  for (const [k, values] of h) out[k.toLowerCase()] = values[0] ?? '';
  return out;
}
