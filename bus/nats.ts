import { headers as natsHeaders, RequestError, TimeoutError } from '@nats-io/nats-core';
import type { Msg, MsgHdrs, NatsConnection } from '@nats-io/nats-core';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { ParleyError } from '../protocol/errors.ts';
import type { Bus, BusMessage, Headers, KvEntry, KvStore, RequestOptions, Subscription } from './bus.ts';
import { DEFAULT_REQUEST_TIMEOUT_MS } from './bus.ts';
import { runHandler, unwrapReply } from './reply.ts';

/** How long after a disconnect or reconnect the bus counts as unsettled (others are resubscribing). */
const UNSETTLED_MS = 10_000;

/** The distributed bus. It takes a connection so each runtime can open it its own way (TCP or WebSocket). */
export class NatsBus implements Bus {
  private kvm: Kvm;
  private stores = new Map<string, Promise<KvStore>>();

  private unsettledUntil = 0;

  constructor(readonly nc: NatsConnection) {
    this.kvm = new Kvm(nc);
    void this.watchStatus();
  }

  stable(): boolean {
    return Date.now() > this.unsettledUntil;
  }

  private async watchStatus(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnect') this.unsettledUntil = Date.now() + UNSETTLED_MS;
    }
  }

  async request(subject: string, data: unknown, options: RequestOptions = {}): Promise<unknown> {
    const timeout = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    try {
      const msg = await this.nc.request(subject, encode(data), { timeout, headers: toNatsHeaders(options.headers) });
      return unwrapReply(msg.json());
    } catch (err) {
      throw toParleyError(err, subject, timeout);
    }
  }

  serve(subject: string, handler: (msg: BusMessage) => Promise<unknown>, options: { queue?: string } = {}) {
    return this.nc.subscribe(subject, {
      queue: options.queue,
      callback: (err, msg) => {
        if (err) return;
        void runHandler(handler, fromNats(msg)).then((reply) => msg.respond(encode(reply)));
      },
    });
  }

  publish(subject: string, data: unknown, headers?: Headers): void {
    this.nc.publish(subject, encode(data), { headers: toNatsHeaders(headers) });
  }

  subscribe(subject: string, handler: (msg: BusMessage) => void): Subscription {
    return this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (!err) handler(fromNats(msg));
      },
    });
  }

  kv(bucket: string, options: { ttlMs?: number } = {}): Promise<KvStore> {
    let store = this.stores.get(bucket);
    if (!store) {
      store = this.kvm.create(bucket, { ttl: options.ttlMs ?? 0, history: 1 }).then((kv) => new NatsKv(kv));
      this.stores.set(bucket, store);
    }
    return store;
  }

  async flush(): Promise<void> {
    await this.nc.flush();
  }

  async close(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.drain();
  }
}

class NatsKv implements KvStore {
  constructor(private kv: KV) {}

  async get(key: string): Promise<KvEntry | null> {
    const entry = await this.kv.get(key);
    if (!entry || entry.operation !== 'PUT') return null;
    return { value: entry.json(), revision: entry.revision };
  }

  put(key: string, value: unknown): Promise<number> {
    return this.kv.put(key, encode(value));
  }

  create(key: string, value: unknown): Promise<number> {
    return this.kv.create(key, encode(value)).catch((err: unknown) => rethrowConflict(err, key));
  }

  update(key: string, value: unknown, revision: number): Promise<number> {
    return this.kv.update(key, encode(value), revision).catch((err: unknown) => rethrowConflict(err, key));
  }

  async delete(key: string): Promise<void> {
    await this.kv.delete(key);
  }

  async keys(prefix?: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const key of await this.kv.keys(prefix ? `${prefix}>` : undefined)) keys.push(key);
    return keys;
  }

  async watch(onChange: (key: string, value: unknown) => void): Promise<Subscription> {
    const updates = await this.kv.watch();
    void (async () => {
      for await (const entry of updates) {
        onChange(entry.key, entry.operation === 'PUT' ? entry.json() : null);
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

function toParleyError(err: unknown, subject: string, timeout: number): Error {
  if (err instanceof ParleyError) return err;
  if (err instanceof RequestError && err.isNoResponders()) {
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
