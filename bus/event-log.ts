import { streams, subjects } from '../protocol/subjects.ts';
import type { WebhookEvent } from '../protocol/webhooks.ts';
import type { Bus, Stream } from './bus.ts';

/** Webhook events are kept until every endpoint has them or gave up on them; the retry schedule is far shorter. */
const EVENTS_MAX_AGE_MS = 3 * 24 * 3600_000;
const EVENTS_MAX = 100_000;
/** A store that fails (NATS away) is retried this often, for as long as the process lives. */
const RETRY_MS = 1000;
/** Events kept for a retry at most; beyond that the oldest are dropped (and said so), not the process. */
const BACKLOG_MAX = 10_000;

/**
 * Where any tier records a webhook event: the events stream, once per event id (the stream deduplicates by it,
 * so a tier that records again after an unclear failure does no harm). Recording never blocks the caller: an
 * event that cannot be stored now is kept and stored again until it is.
 */
export class EventLog {
  private backlog: WebhookEvent[] = [];
  private timer?: ReturnType<typeof setTimeout>;
  private closed = false;

  private constructor(private stream: Stream) {}

  static async open(bus: Bus): Promise<EventLog> {
    return new EventLog(await openEventsStream(bus));
  }

  record(event: WebhookEvent): void {
    void this.store(event).catch(() => this.keep(event));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private store(event: WebhookEvent): Promise<number> {
    return this.stream.publish(subjects.event(event.room.roomId, event.event), event, { msgId: event.id });
  }

  private keep(event: WebhookEvent): void {
    this.backlog.push(event);
    if (this.backlog.length > BACKLOG_MAX) {
      const dropped = this.backlog.splice(0, this.backlog.length - BACKLOG_MAX);
      console.warn(`[events] ${dropped.length} webhook event(s) dropped: the events stream is out of reach`);
    }
    if (!this.timer && !this.closed) this.timer = setTimeout(() => void this.retry(), RETRY_MS);
  }

  private async retry(): Promise<void> {
    this.timer = undefined;
    const pending = this.backlog.splice(0);
    for (const event of pending) await this.store(event).catch(() => this.keep(event));
  }
}

export function openEventsStream(bus: Bus): Promise<Stream> {
  return bus.stream(streams.events.name, {
    subjects: [...streams.events.subjects],
    maxAgeMs: EVENTS_MAX_AGE_MS,
    maxMsgs: EVENTS_MAX,
  });
}
