import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

/*
 * Runtime-neutral tracing helpers (Node, Deno and the browser): only @opentelemetry/api. Without an SDK the
 * API is a no-op, so code that calls these costs nothing where tracing is off.
 */

export type Carrier = Record<string, string>;

// Explicit rather than the global propagator: it must work the same whether or not an SDK registered one.
const w3c = new W3CTraceContextPropagator();

/** The tiers' tracers; their names become the `service` of the spans in the trace store. */
export const tracers = {
  signaling: () => trace.getTracer('parley-signaling'),
  media: () => trace.getTracer('parley-media-worker'),
  bus: () => trace.getTracer('parley-bus'),
};

/** The trace context in `carrier` (a `traceparent` header), or the active one when it has none. */
export function extractContext(carrier: Carrier | undefined, base: Context = context.active()): Context {
  if (!carrier?.traceparent) return base;
  return w3c.extract(base, carrier, { get: (c, key) => c[key], keys: (c) => Object.keys(c) });
}

/** Writes `traceparent` (and `tracestate`) of `ctx` into `carrier`; returns it. */
export function injectContext(carrier: Carrier, ctx: Context = context.active()): Carrier {
  w3c.inject(ctx, carrier, { set: (c, key, value) => (c[key] = value) });
  return carrier;
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The parent; the active context when omitted. */
  parent?: Context;
}

/**
 * Runs `fn` inside a new span that is active for everything `fn` awaits; a throw marks the span as an error
 * (with the exception recorded) and is rethrown.
 */
export async function inSpan<T>(
  tracer: Tracer,
  name: string,
  options: SpanOptions,
  fn: (span: Span) => Promise<T> | T,
): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer.startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    markFailed(span, err);
    throw err;
  } finally {
    span.end();
  }
}

export function markFailed(span: Span, err: unknown): void {
  const error = err instanceof Error ? err : new Error(String(err));
  span.recordException(error);
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') span.setAttribute('error.type', code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
}

/** The trace id of the active span (or of `ctx`), '' when there is none. */
export function traceIdOf(ctx: Context = context.active()): string {
  return trace.getSpanContext(ctx)?.traceId ?? '';
}

export { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace };
export type { Attributes, Context, Span, Tracer };
