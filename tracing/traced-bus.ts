import type { Bus, BusMessage, KvStore, RequestOptions, Stream, StreamConfig, Subscription } from '../bus/bus.ts';
import { context, extractContext, injectContext, inSpan, SpanKind, trace, tracers } from './context.ts';

/**
 * The bus with a span around every request and every served request, following OpenTelemetry's messaging
 * conventions, and the trace context carried in message headers: this is how one trace crosses from
 * signaling over NATS into the media worker.
 */
export class TracedBus implements Bus {
  readonly system: Bus['system'];

  constructor(private inner: Bus) {
    this.system = inner.system;
  }

  request(subject: string, data: unknown, options: RequestOptions = {}): Promise<unknown> {
    // Only requests made within a trace get a span: heartbeats and lease renewals would drown the rest.
    if (!trace.getSpan(context.active())) return this.inner.request(subject, data, options);
    const destination = destinationTemplate(subject);
    return inSpan(
      tracers.bus(),
      `send ${destination}`,
      { kind: SpanKind.CLIENT, attributes: this.attributes(subject, destination, 'send') },
      () => {
        const headers = injectContext({ ...options.headers });
        return this.inner.request(subject, data, { ...options, headers });
      },
    );
  }

  serve(subject: string, handler: (msg: BusMessage) => Promise<unknown>, options?: { queue?: string }): Subscription {
    return this.inner.serve(
      subject,
      (msg) => {
        if (!msg.headers.traceparent) return handler(msg);
        const destination = destinationTemplate(msg.subject);
        const parent = extractContext(msg.headers);
        const attributes = this.attributes(msg.subject, destination, 'process');
        return inSpan(tracers.bus(), `process ${destination}`, { kind: SpanKind.CONSUMER, attributes, parent }, () =>
          handler(msg),
        );
      },
      options,
    );
  }

  publish(subject: string, data: unknown, headers?: Record<string, string>): void {
    this.inner.publish(subject, data, trace.getSpan(context.active()) ? injectContext({ ...headers }) : headers);
  }

  subscribe(subject: string, handler: (msg: BusMessage) => void): Subscription {
    return this.inner.subscribe(subject, handler);
  }

  kv(bucket: string, options?: { ttlMs?: number }): Promise<KvStore> {
    return this.inner.kv(bucket, options);
  }

  stream(name: string, config: StreamConfig): Promise<Stream> {
    return this.inner.stream(name, config);
  }

  stable(): boolean {
    return this.inner.stable();
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private attributes(subject: string, destination: string, operation: 'send' | 'process') {
    return {
      'messaging.system': this.system,
      'messaging.operation.type': operation,
      'messaging.operation.name': operation === 'send' ? 'request' : 'reply',
      'messaging.destination.name': subject,
      'messaging.destination.template': destination,
    };
  }
}

/** Low-cardinality span names: ids in subjects become placeholders (parley.v1.media.{instance}.join). */
export function destinationTemplate(subject: string): string {
  const parts = subject.split('.');
  if (parts[2] === 'media' && parts.length === 5) return [parts[0], parts[1], 'media', '{instance}', parts[4]].join('.');
  if (parts[2] === 'room' && parts.length === 5) return [parts[0], parts[1], 'room', '{room}', parts[4]].join('.');
  return subject;
}
