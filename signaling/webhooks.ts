import type { Bus, Outcome, Stream, Subscription } from '../bus/bus.ts';
import { openEventsStream } from '../bus/event-log.ts';
import { streams } from '../protocol/subjects.ts';
import { signatureHeader, WebhookEvent, webhookHeaders } from '../protocol/webhooks.ts';
import type { CommunityConfig } from './community-config.ts';

type Config = CommunityConfig['webhooks'];
type Result = 'delivered' | 'retried' | 'dead_lettered';

/** A receiver's refusal that retrying cannot change (a 4xx other than these) goes to the dead letters at once. */
const RETRYABLE_4XX = new Set([408, 409, 425, 429]);
const DEAD_LETTERS_MAX_AGE_MS = 7 * 24 * 3600_000;

/**
 * Webhook delivery, at least once: every signaling instance joins one durable consumer per endpoint on the
 * events stream, so each event goes to one instance at a time until the endpoint answers 2xx. Failures are
 * retried with backoff; an instance that dies mid-delivery leaves the event unacknowledged and another one
 * sends it after the ack wait. Each POST is signed (HMAC-SHA256 of "<timestamp>.<body>"). An event the
 * endpoint refuses for good, or that runs out of attempts, is kept in the dead-letter stream.
 */
export class Webhooks {
  private counts = new Map<string, number>();
  private subscriptions: Subscription[] = [];

  private constructor(
    private config: Config,
    private deadLetters: Stream,
    private userAgent: string,
  ) {}

  static async open(bus: Bus, config: Config, instanceId: string): Promise<Webhooks> {
    const deadLetters = await bus.stream(streams.deadLetters.name, {
      subjects: [...streams.deadLetters.subjects],
      maxAgeMs: DEAD_LETTERS_MAX_AGE_MS,
      maxMsgs: 100_000,
    });
    const webhooks = new Webhooks(config, deadLetters, `parley-signaling/${instanceId}`);
    if (config.urls.length === 0) return webhooks;
    const events = await openEventsStream(bus);
    for (const url of config.urls) {
      const durable = `webhook-${await endpointId(url)}`;
      const options = { ackWaitMs: config.ackWaitMs, concurrency: 4 };
      webhooks.subscriptions.push(await events.consume(durable, (m) => webhooks.deliver(url, m.data, m.attempt), options));
    }
    return webhooks;
  }

  /** parley_webhook_deliveries_total by endpoint and result, for /metrics. */
  metrics(): string {
    const lines = [
      '# HELP parley_webhook_deliveries_total Webhook delivery attempts by endpoint and result (delivered, retried, dead_lettered).',
      '# TYPE parley_webhook_deliveries_total counter',
    ];
    for (const url of this.config.urls) {
      for (const result of ['delivered', 'retried', 'dead_lettered'] as const) {
        const n = this.counts.get(key(url, result)) ?? 0;
        lines.push(`parley_webhook_deliveries_total{endpoint="${label(url)}",result="${result}"} ${n}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }

  close(): void {
    for (const s of this.subscriptions) s.unsubscribe();
  }

  private async deliver(url: string, data: unknown, attempt: number): Promise<Outcome> {
    const event = WebhookEvent.safeParse(data);
    if (!event.success) return { term: true };
    if (!this.config.events.includes(event.data.event)) return { ack: true };
    const body = JSON.stringify(event.data);
    const timestamp = Math.floor(Date.now() / 1000);
    let status = 0;
    let error = '';
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': this.userAgent,
          [webhookHeaders.signature]: await signatureHeader(this.config.secret, timestamp, body),
          [webhookHeaders.eventId]: event.data.id,
          [webhookHeaders.attempt]: String(attempt),
        },
        body,
        // A redirect is a failure, not a reason to send the signed event somewhere else.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
      status = res.status;
      await res.body?.cancel();
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    if (status >= 200 && status < 300) return this.count(url, 'delivered', { ack: true });
    const final = (status >= 400 && status < 500 && !RETRYABLE_4XX.has(status)) || attempt >= this.config.maxAttempts;
    if (!final) {
      const backoff = this.config.backoffMs;
      return this.count(url, 'retried', { retryInMs: backoff[Math.min(attempt, backoff.length) - 1]! });
    }
    const why = status ? `HTTP ${status}` : error;
    console.warn(`[signaling] webhook ${event.data.id} to ${label(url)} dead-lettered after ${attempt} attempt(s): ${why}`);
    await this.deadLetters.publish(`${streams.deadLetters.prefix}.${await endpointId(url)}`, {
      endpoint: label(url),
      event: event.data,
      attempts: attempt,
      status,
      error,
      at: Date.now(),
    });
    return this.count(url, 'dead_lettered', { term: true });
  }

  private count(url: string, result: Result, outcome: Outcome): Outcome {
    this.counts.set(key(url, result), (this.counts.get(key(url, result)) ?? 0) + 1);
    return outcome;
  }
}

function key(url: string, result: Result): string {
  return `${url} ${result}`;
}

/** The endpoint without its query (which may carry a secret), as a Prometheus label. */
function label(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`.replace(/["\\\n]/g, '');
}

/** A short stable id per endpoint URL: the durable consumer's name. */
async function endpointId(url: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(url));
  return [...new Uint8Array(digest).slice(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
