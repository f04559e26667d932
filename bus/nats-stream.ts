import { AckPolicy, DeliverPolicy, DiscardPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager, JsMsg, StreamConfig as NatsStreamConfig } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { DurableOptions, Outcome, StoredMessage, Stream, StreamConfig, Subscription } from './bus.ts';
import { DEFAULT_DUPLICATE_WINDOW_MS, DEFAULT_REQUEST_TIMEOUT_MS } from './bus.ts';
import type { NatsLink } from './nats-link.ts';

const ms = (n: number) => n * 1_000_000;
/** A history read waits this long at most for messages it knows are there. */
const READ_TIMEOUT_MS = 5_000;

type Handler = (message: StoredMessage & { attempt: number }) => Promise<Outcome>;

/** A JetStream stream through the same link as requests, so nothing waits on an operation that was dropped. */
export class NatsStream implements Stream {
  private constructor(
    private name: string,
    private js: JetStreamClient,
    private jsm: JetStreamManager,
    private link: NatsLink,
  ) {}

  static async open(nc: NatsConnection, link: NatsLink, name: string, config: StreamConfig): Promise<NatsStream> {
    const deadline = Date.now() + DEFAULT_REQUEST_TIMEOUT_MS;
    const jsm = await link.run(`opening stream ${name}`, deadline, () => jetstreamManager(nc));
    const wanted: Partial<NatsStreamConfig> & { name: string } = {
      name,
      subjects: config.subjects,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_msgs_per_subject: config.maxMsgsPerSubject ?? -1,
      max_msgs: config.maxMsgs ?? -1,
      max_age: ms(config.maxAgeMs ?? 0),
      // JetStream refuses a duplicate window longer than the age limit.
      duplicate_window: ms(Math.min(config.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS, config.maxAgeMs || Infinity)),
      num_replicas: 1,
    };
    await link.run(`opening stream ${name}`, deadline, async () => {
      const exists = await jsm.streams.info(name).then(
        () => true,
        () => false,
      );
      // Every process brings the stream to its configuration; two creating it at once: the loser updates.
      if (exists) return jsm.streams.update(name, wanted);
      await jsm.streams.add(wanted).catch(async (err: unknown) => {
        if (
          !(await jsm.streams.info(name).then(
            () => true,
            () => false,
          ))
        )
          throw err;
        await jsm.streams.update(name, wanted);
      });
    });
    return new NatsStream(name, jetstream(nc), jsm, link);
  }

  private run<T>(what: string, op: () => Promise<T>): Promise<T> {
    return this.link.store(`stream ${this.name} ${what}`, Date.now() + DEFAULT_REQUEST_TIMEOUT_MS, op);
  }

  async publish(subject: string, data: unknown, options: { msgId?: string } = {}): Promise<number> {
    const ack = await this.run('publish', () => this.js.publish(subject, JSON.stringify(data ?? null), { msgID: options.msgId }));
    return ack.seq;
  }

  async read(subject: string, options: { afterSeq?: number } = {}): Promise<StoredMessage[]> {
    const after = options.afterSeq ?? 0;
    const last = await this.run('last', () => this.jsm.streams.getMessage(this.name, { last_by_subj: subject }));
    if (!last || last.seq <= after) return [];
    return this.run('read', async () => {
      const consumer = await this.js.consumers.get(this.name, {
        filter_subjects: subject,
        ...(after > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1 } : {}),
      });
      const out: StoredMessage[] = [];
      const batch = await consumer.fetch({ max_messages: 10_000, expires: READ_TIMEOUT_MS });
      for await (const m of batch) {
        out.push(stored(m));
        // Everything up to the last one we looked up is there; later ones are for the next read.
        if (m.seq >= last.seq || m.info.pending === 0) break;
      }
      await consumer.delete().catch(() => undefined);
      return out;
    });
  }

  async purge(subject: string): Promise<void> {
    await this.run('purge', () => this.jsm.streams.purge(this.name, { filter: subject }));
  }

  async consume(durable: string, handler: Handler, options: DurableOptions): Promise<Subscription> {
    const config = {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      ack_wait: ms(options.ackWaitMs),
      // A new consumer starts with what is stored from now on, not with the stream's whole past.
      deliver_policy: DeliverPolicy.New,
      ...(options.filter ? { filter_subject: options.filter } : {}),
      max_ack_pending: 1_000,
    };
    await this.run(`consumer ${durable}`, async () => {
      const exists = await this.jsm.consumers.info(this.name, durable).then(
        () => true,
        () => false,
      );
      if (!exists) await this.jsm.consumers.add(this.name, config).catch(() => undefined);
      else await this.jsm.consumers.update(this.name, durable, { ack_wait: config.ack_wait, max_ack_pending: 1_000 });
    });
    const consumer = await this.run(`consumer ${durable}`, () => this.js.consumers.get(this.name, durable));
    const concurrency = options.concurrency ?? 1;
    const messages = await consumer.consume({ max_messages: concurrency });
    let inFlight = 0;
    let wake = () => {};
    void (async () => {
      for await (const m of messages) {
        inFlight++;
        void settle(m, handler).finally(() => {
          inFlight--;
          wake();
        });
        while (inFlight >= concurrency) await new Promise<void>((resolve) => (wake = resolve));
      }
    })();
    return { unsubscribe: () => void messages.stop() };
  }
}

async function settle(m: JsMsg, handler: Handler): Promise<void> {
  let outcome: Outcome;
  try {
    outcome = await handler({ ...stored(m), attempt: m.info.deliveryCount });
  } catch {
    // No answer: JetStream hands it out again once the ack wait has passed.
    return;
  }
  if ('ack' in outcome) m.ack();
  else if ('term' in outcome) m.term();
  else m.nak(outcome.retryInMs);
}

function stored(m: JsMsg): StoredMessage {
  let data: unknown;
  try {
    data = m.json();
  } catch {
    data = undefined;
  }
  return { seq: m.seq, subject: m.subject, data, time: m.time.getTime() };
}
