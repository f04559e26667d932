import type { DurableOptions, Outcome, StoredMessage, Stream, StreamConfig, Subscription } from './bus.ts';
import { DEFAULT_DUPLICATE_WINDOW_MS } from './bus.ts';
import { subjectMatches } from './subject.ts';

type Handler = (message: StoredMessage & { attempt: number }) => Promise<Outcome>;

interface Member {
  handler: Handler;
  concurrency: number;
  inFlight: number;
}

/** One durable consumer: which messages it has handed out, and which are due (again). */
interface Durable {
  filter?: string;
  ackWaitMs: number;
  /** The next stored sequence never handed out. */
  nextSeq: number;
  attempts: Map<number, number>;
  /** Handed out and waiting for an outcome, with the timer that hands it out again. */
  outstanding: Map<number, ReturnType<typeof setTimeout>>;
  /** Retries and timed-out ones, due now. */
  due: number[];
  members: Member[];
  rr: number;
}

/**
 * The in-process stream of the embedded default, with JetStream's semantics where callers can tell: limits
 * per subject, in all and by age; deduplication by message id; durable consumers shared by name, with
 * at-least-once delivery (a message without an outcome is handed out again after the ack wait).
 */
export class MemoryStream implements Stream {
  private messages: StoredMessage[] = [];
  private bySeq = new Map<number, StoredMessage>();
  private perSubject = new Map<string, number>();
  private seq = 0;
  private seen = new Map<string, { seq: number; at: number }>();
  private durables = new Map<string, Durable>();

  constructor(
    private config: StreamConfig,
    /** Plain subscribers of the bus hear stored messages too, as they do with NATS. */
    private fanOut: (subject: string, data: unknown) => void,
  ) {}

  reconfigure(config: StreamConfig): void {
    this.config = config;
    this.trim();
  }

  async publish(subject: string, data: unknown, options: { msgId?: string } = {}): Promise<number> {
    if (!this.config.subjects.some((pattern) => subjectMatches(pattern, subject))) {
      throw new Error(`subject ${subject} is not stored by this stream`);
    }
    const now = Date.now();
    const window = Math.min(this.config.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS, this.config.maxAgeMs || Infinity);
    for (const [id, entry] of this.seen) if (now - entry.at > window) this.seen.delete(id);
    const duplicate = options.msgId ? this.seen.get(options.msgId) : undefined;
    if (duplicate) return duplicate.seq;
    const message: StoredMessage = { seq: ++this.seq, subject, data: copy(data), time: now };
    this.messages.push(message);
    this.bySeq.set(message.seq, message);
    this.perSubject.set(subject, (this.perSubject.get(subject) ?? 0) + 1);
    if (options.msgId) this.seen.set(options.msgId, { seq: message.seq, at: now });
    this.trim();
    this.fanOut(subject, data);
    for (const durable of this.durables.values()) this.dispatch(durable);
    return message.seq;
  }

  async read(subject: string, options: { afterSeq?: number } = {}): Promise<StoredMessage[]> {
    this.trim();
    const after = options.afterSeq ?? 0;
    return this.messages.filter((m) => m.subject === subject && m.seq > after).map((m) => ({ ...m, data: copy(m.data) }));
  }

  async purge(subject: string): Promise<void> {
    for (const m of this.messages) if (m.subject === subject) this.forget(m);
    this.messages = this.messages.filter((m) => m.subject !== subject);
  }

  async consume(name: string, handler: Handler, options: DurableOptions): Promise<Subscription> {
    let durable = this.durables.get(name);
    if (!durable) {
      // Like a new JetStream consumer with the "new" deliver policy: what is stored from now on.
      durable = {
        filter: options.filter,
        ackWaitMs: options.ackWaitMs,
        nextSeq: this.seq + 1,
        attempts: new Map(),
        outstanding: new Map(),
        due: [],
        members: [],
        rr: 0,
      };
      this.durables.set(name, durable);
    }
    const member: Member = { handler, concurrency: options.concurrency ?? 1, inFlight: 0 };
    durable.members.push(member);
    this.dispatch(durable);
    const joined = durable;
    return {
      unsubscribe: () => {
        joined.members = joined.members.filter((m) => m !== member);
      },
    };
  }

  /** Hands out what is due, then what is new, to members with room for more. */
  private dispatch(durable: Durable): void {
    for (;;) {
      const member = this.freeMember(durable);
      if (!member) return;
      const seq = this.nextFor(durable);
      if (seq === undefined) return;
      this.handOut(durable, member, seq);
    }
  }

  private nextFor(durable: Durable): number | undefined {
    while (durable.due.length > 0) {
      const seq = durable.due.shift()!;
      if (this.stored(seq)) return seq;
      durable.attempts.delete(seq);
    }
    for (let seq = durable.nextSeq; seq <= this.seq; seq++) {
      durable.nextSeq = seq + 1;
      const m = this.bySeq.get(seq);
      if (m && (!durable.filter || subjectMatches(durable.filter, m.subject))) return m.seq;
    }
    durable.nextSeq = this.seq + 1;
    return undefined;
  }

  private handOut(durable: Durable, member: Member, seq: number): void {
    const message = this.stored(seq)!;
    const attempt = (durable.attempts.get(seq) ?? 0) + 1;
    durable.attempts.set(seq, attempt);
    member.inFlight++;
    let settled = false;
    const again = () => {
      durable.outstanding.delete(seq);
      durable.due.push(seq);
      this.dispatch(durable);
    };
    // No outcome within the ack wait: the member is presumed dead, the message goes to whoever is free.
    durable.outstanding.set(
      seq,
      setTimeout(() => {
        settled = true;
        again();
      }, durable.ackWaitMs),
    );
    const settle = (outcome: Outcome | undefined) => {
      member.inFlight--;
      if (settled) return this.dispatch(durable);
      settled = true;
      clearTimeout(durable.outstanding.get(seq));
      durable.outstanding.delete(seq);
      if (outcome === undefined) {
        // A handler that threw: handed out again after the ack wait, as JetStream would.
        durable.outstanding.set(seq, setTimeout(again, durable.ackWaitMs));
      } else if ('retryInMs' in outcome) {
        durable.outstanding.set(seq, setTimeout(again, outcome.retryInMs));
      } else {
        durable.attempts.delete(seq);
      }
      this.dispatch(durable);
    };
    setImmediate(() => {
      member.handler({ ...message, data: copy(message.data), attempt }).then(settle, () => settle(undefined));
    });
  }

  private freeMember(durable: Durable): Member | undefined {
    const n = durable.members.length;
    for (let i = 0; i < n; i++) {
      const member = durable.members[(durable.rr + i) % n]!;
      if (member.inFlight < member.concurrency) {
        durable.rr = (durable.rr + i + 1) % n;
        return member;
      }
    }
    return undefined;
  }

  private stored(seq: number): StoredMessage | undefined {
    return this.bySeq.get(seq);
  }

  /** Messages are in sequence (and time) order, so each limit drops from the front. */
  private trim(): void {
    const { maxAgeMs, maxMsgs, maxMsgsPerSubject } = this.config;
    const cutoff = maxAgeMs === undefined ? -Infinity : Date.now() - maxAgeMs;
    let drop = 0;
    while (drop < this.messages.length && this.messages[drop]!.time < cutoff) drop++;
    if (maxMsgs !== undefined) drop = Math.max(drop, this.messages.length - maxMsgs);
    for (const m of this.messages.splice(0, drop)) this.forget(m);
    if (maxMsgsPerSubject === undefined) return;
    for (const [subject, count] of this.perSubject) {
      if (count <= maxMsgsPerSubject) continue;
      let excess = count - maxMsgsPerSubject;
      this.messages = this.messages.filter((m) => {
        if (excess === 0 || m.subject !== subject) return true;
        excess--;
        this.forget(m);
        return false;
      });
    }
  }

  private forget(m: StoredMessage): void {
    this.bySeq.delete(m.seq);
    const left = (this.perSubject.get(m.subject) ?? 1) - 1;
    if (left > 0) this.perSubject.set(m.subject, left);
    else this.perSubject.delete(m.subject);
  }
}

function copy(value: unknown): unknown {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}
