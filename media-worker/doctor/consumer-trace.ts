import { isSpanContextValid } from '@opentelemetry/api';
import { context, inSpan, ROOT_CONTEXT, SpanKind, trace, tracers } from '../../tracing/context.ts';
import type { Attributes, Context, Span } from '../../tracing/context.ts';

/** The lifecycle span stays open at most this long: trace stores show it live, exporters want it finished. */
export const LIFECYCLE_SPAN_MS = 30_000;
/** After it, child spans per consumer and minute for routine events (scores, layers, PLIs): a long life stays cheap. */
const ROUTINE_SPANS_PER_MINUTE = 30;
const ROUTINE = new Set(['score', 'layers-changed', 'pli', 'fir', 'nack', 'key-frame', 'client-freeze']);

/**
 * One consumer's whole life as one trace: a `parley.consumer` span, a child of the consume request, that
 * collects events while the consumer lives (30 s at most); later events become short child spans
 * `parley.consumer.<event>` of it. After the span ends only its context is kept, not the span and its events.
 */
export class ConsumerTrace {
  private span?: Span;
  /** The lifecycle span's context: the parent of everything later in this consumer's trace. */
  readonly context: Context;
  /** '' when tracing is off. */
  readonly traceId: string;
  private timer: ReturnType<typeof setTimeout>;
  private counts = new Map<string, number>();
  private routine = { since: 0, spans: 0 };

  constructor(attributes: Attributes, parent: Context = context.active()) {
    const span = tracers.media().startSpan('parley.consumer', { kind: SpanKind.INTERNAL, attributes }, parent);
    this.span = span;
    const spanContext = span.spanContext();
    this.context = trace.setSpanContext(ROOT_CONTEXT, spanContext);
    this.traceId = isSpanContextValid(spanContext) ? spanContext.traceId : '';
    this.timer = setTimeout(() => this.end(), LIFECYCLE_SPAN_MS);
    this.timer.unref();
  }

  event(name: string, attributes: Attributes = {}): void {
    if (this.span) this.span.addEvent(name, attributes);
    else if (this.affordable(name)) tracers.media().startSpan(`parley.consumer.${name}`, { attributes }, this.context).end();
  }

  /** Frequent events (PLI, FIR, NACK): the first three, then at powers of two, each with the running count. */
  count(name: string): void {
    const n = (this.counts.get(name) ?? 0) + 1;
    this.counts.set(name, n);
    if (n <= 3 || (n & (n - 1)) === 0) this.event(name, { count: n });
  }

  /** Runs `fn` (a remediation) in this trace, as an event of the live span or as a child span of its own. */
  run<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
    if (!this.span) return inSpan(tracers.media(), `parley.consumer.${name}`, { attributes, parent: this.context }, fn);
    this.span.addEvent(name, attributes);
    return context.with(this.context, fn);
  }

  private affordable(name: string): boolean {
    if (!ROUTINE.has(name)) return true;
    const now = Date.now();
    if (now - this.routine.since > 60_000) this.routine = { since: now, spans: 0 };
    return ++this.routine.spans <= ROUTINE_SPANS_PER_MINUTE;
  }

  end(attributes: Attributes = {}): void {
    clearTimeout(this.timer);
    const span = this.span;
    if (!span) return;
    this.span = undefined;
    for (const [name, n] of this.counts) span.setAttribute(`parley.consumer.${name}.count`, n);
    span.setAttributes(attributes);
    span.end();
  }
}
