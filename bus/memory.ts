import { ParleyError } from '../protocol/errors.ts';
import type { Bus, BusMessage, Headers, KvEntry, KvStore, RequestOptions, Stream, StreamConfig, Subscription } from './bus.ts';
import type { KvOptions } from './bus.ts';
import { DEFAULT_REQUEST_TIMEOUT_MS, logOversize, wireBytes } from './bus.ts';
import { NATS_MAX_PAYLOAD_BYTES } from '../protocol/limits.ts';
import { MemoryStream } from './memory-stream.ts';
import { replyJson, runHandler, unwrapReply } from './reply.ts';
import { subjectMatches } from './subject.ts';

interface Listener {
  pattern: string;
  queue?: string;
  /** serve() listeners answer requests; subscribe() listeners only hear publishes. */
  responds: boolean;
  deliver(msg: BusMessage): void;
}

/**
 * The in-process bus of the embedded default. It behaves like NATS where the tiers can tell: delivery is
 * asynchronous, payloads are copied through JSON, requests without a responder fail fast.
 */
export class MemoryBus implements Bus {
  readonly system = 'in-process';
  private listeners = new Set<Listener>();
  private buckets = new Map<string, MemoryKv>();
  private streams = new Map<string, MemoryStream>();
  private rr = 0;

  async request(subject: string, data: unknown, options: RequestOptions = {}): Promise<unknown> {
    const responder = this.pickOne(this.match(subject).filter((l) => l.responds));
    if (!responder) throw new ParleyError('UNAVAILABLE', `no responder for ${subject}`);
    const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new ParleyError('TIMEOUT', `${subject} timed out after ${timeoutMs} ms`)), timeoutMs);
      const msg = message(subject, data, options.headers);
      (msg as ReplyableMessage).respond = (reply: unknown) => {
        clearTimeout(timer);
        try {
          resolve(unwrapReply(copy(reply)));
        } catch (err) {
          reject(err);
        }
      };
      setImmediate(() => responder.deliver(msg));
    });
  }

  serve(subject: string, handler: (msg: BusMessage) => Promise<unknown>, options: { queue?: string } = {}) {
    return this.listen({
      pattern: subject,
      queue: options.queue,
      responds: true,
      deliver: (msg) => {
        void runHandler(handler, msg).then((reply) =>
          (msg as ReplyableMessage).respond?.(JSON.parse(replyJson(msg.subject, reply, NATS_MAX_PAYLOAD_BYTES))),
        );
      },
    });
  }

  publish(subject: string, data: unknown, headers?: Headers): void {
    // As NATS would: the embedded deployment drops what a distributed one could not carry.
    const json = JSON.stringify(data ?? null);
    const bytes = wireBytes(json);
    if (bytes > NATS_MAX_PAYLOAD_BYTES) return logOversize(subject, bytes, NATS_MAX_PAYLOAD_BYTES);
    const msg: BusMessage = { subject, data: JSON.parse(json), headers: { ...headers } };
    for (const l of this.match(subject).filter((l) => !l.responds))
      setImmediate(() => l.deliver({ ...msg, data: copy(msg.data) }));
  }

  subscribe(subject: string, handler: (msg: BusMessage) => void): Subscription {
    return this.listen({ pattern: subject, responds: false, deliver: handler });
  }

  async kv(bucket: string, options: KvOptions = {}): Promise<KvStore> {
    let kv = this.buckets.get(bucket);
    if (!kv) {
      kv = new MemoryKv(options.ttlMs);
      this.buckets.set(bucket, kv);
    }
    return kv;
  }

  async stream(name: string, config: StreamConfig): Promise<Stream> {
    const existing = this.streams.get(name);
    if (existing) {
      existing.reconfigure(config);
      return existing;
    }
    const stream = new MemoryStream(config, (subject, data) => this.publish(subject, data));
    this.streams.set(name, stream);
    return stream;
  }

  stable(): boolean {
    return true;
  }

  async flush(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }

  private listen(listener: Listener): Subscription {
    this.listeners.add(listener);
    return { unsubscribe: () => this.listeners.delete(listener) };
  }

  private match(subject: string): Listener[] {
    return [...this.listeners].filter((l) => subjectMatches(l.pattern, subject));
  }

  private pickOne(listeners: Listener[]): Listener | undefined {
    if (listeners.length === 0) return undefined;
    return listeners[this.rr++ % listeners.length];
  }
}

interface ReplyableMessage extends BusMessage {
  respond?: (reply: unknown) => void;
}

function message(subject: string, data: unknown, headers: Headers = {}): BusMessage {
  return { subject, data: copy(data), headers: { ...headers } };
}

function copy(value: unknown): unknown {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}

class MemoryKv implements KvStore {
  private stored = new Map<string, { value: unknown; revision: number; writtenAt: number }>();
  private watchers = new Set<(key: string, value: unknown, revision: number) => void>();
  private revision = 0;

  constructor(private ttlMs?: number) {}

  async get(key: string): Promise<KvEntry | null> {
    const entry = this.live(key);
    return entry ? { value: copy(entry.value), revision: entry.revision } : null;
  }

  async put(key: string, value: unknown): Promise<number> {
    return this.write(key, value);
  }

  refresh(key: string, value: unknown): void {
    this.write(key, value);
  }

  async create(key: string, value: unknown): Promise<number> {
    if (this.live(key)) throw new ParleyError('CONFLICT', `key ${key} exists`);
    return this.write(key, value);
  }

  async update(key: string, value: unknown, revision: number): Promise<number> {
    if (this.live(key)?.revision !== revision) throw new ParleyError('CONFLICT', `key ${key} changed`);
    return this.write(key, value);
  }

  async delete(key: string): Promise<void> {
    this.stored.delete(key);
    this.notify(key, null, ++this.revision);
  }

  async keys(prefix = ''): Promise<string[]> {
    return (await this.entries(prefix)).map(([key]) => key);
  }

  async entries(prefix = ''): Promise<[string, KvEntry][]> {
    return [...this.stored.keys()].flatMap((key): [string, KvEntry][] => {
      const entry = key.startsWith(prefix) ? this.live(key) : undefined;
      return entry ? [[key, { value: copy(entry.value), revision: entry.revision }]] : [];
    });
  }

  async lastRevision(): Promise<number> {
    return this.revision;
  }

  async watch(onChange: (key: string, value: unknown, revision: number) => void): Promise<Subscription> {
    for (const [key, entry] of await this.entries()) onChange(key, entry.value, entry.revision);
    this.watchers.add(onChange);
    return { unsubscribe: () => this.watchers.delete(onChange) };
  }

  private write(key: string, value: unknown): number {
    this.revision++;
    this.stored.set(key, { value: copy(value), revision: this.revision, writtenAt: Date.now() });
    this.notify(key, value, this.revision);
    return this.revision;
  }

  private notify(key: string, value: unknown, revision: number): void {
    for (const w of this.watchers) setImmediate(() => w(key, copy(value), revision));
  }

  private live(key: string) {
    const entry = this.stored.get(key);
    if (!entry) return undefined;
    if (this.ttlMs !== undefined && Date.now() - entry.writtenAt > this.ttlMs) {
      this.stored.delete(key);
      return undefined;
    }
    return entry;
  }
}
