import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import type { Attributes, Context, Span } from '@opentelemetry/api';
import type { ClientTracer } from '../../../client/index.ts';
import { inSpan, ROOT_CONTEXT, SpanKind, trace } from '../../../tracing/context.ts';
import { SpanBatcher } from './export.ts';
import type { SpanSink } from './export.ts';

/*
 * The browser's half of each trace. There is no zone.js here, so nothing is "active": every action passes
 * its Context down explicitly, and requests made with it carry its `traceparent` (see client/socket.ts).
 * The provider is not registered globally: only this module makes browser spans.
 */

/** What the user (or the server, for a remedy) does: one trace each, unless started inside another. */
export type ActionName =
  | 'join'
  | 'rejoin'
  | 'publish'
  | 'produce'
  | 'unpublish'
  | 'consume'
  | 'resume'
  | 'reconnect'
  | 'restart-ice'
  | 'network-change'
  | 'media-reset'
  | 'mute'
  | 'unmute'
  | 'leave'
  | 'remedy';

/** A span's name: the action, optionally with what it acts on (`publish camera`). */
export type SpanName = ActionName | `${ActionName} ${string}`;

const batcher = new SpanBatcher();
const tracer = new BasicTracerProvider({ spanProcessors: [batcher] }).getTracer('parley-web');
/** Room and peer of the current call, added to every span made while it lasts. */
let scope: Attributes = {};
/** The trace id of the latest action of each name (window.parley.traces()). */
const latest = new Map<ActionName, string>();

/**
 * Runs `fn` as the action `name`: a span (a new trace unless `parent` is given) whose context `fn` passes to
 * whatever it calls. A throw marks the span failed and is rethrown.
 */
export function action<T>(
  name: SpanName,
  attributes: Attributes,
  parent: Context | undefined,
  fn: (ctx: Context, span: Span) => Promise<T>,
): Promise<T> {
  const base = parent ?? ROOT_CONTEXT;
  return inSpan(tracer, name, { attributes: { ...scope, ...attributes }, parent: base }, (span) => {
    latest.set(name.split(' ')[0] as ActionName, span.spanContext().traceId);
    return fn(trace.setSpan(base, span), span);
  });
}

/** A request to signaling inside an action: a client span, whose context the request carries. */
export function requestSpan<T>(method: string, parent: Context, fn: (ctx: Context) => Promise<T>): Promise<T> {
  const attributes = { ...scope, 'rpc.system': 'parley', 'rpc.method': method };
  return inSpan(tracer, `request ${method}`, { kind: SpanKind.CLIENT, attributes, parent }, (span) =>
    fn(trace.setSpan(parent, span)),
  );
}

/** Attributes for the spans of the current call (`undefined` values clear one). */
export function setScope(attributes: Record<string, string | undefined>): void {
  const next: Attributes = { ...scope };
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined) delete next[key];
    else next[key] = value;
  }
  scope = next;
}

/** The client SDK's tracer in the browser: these spans, sent to signaling by the batcher. */
export const webTracer: ClientTracer = {
  action: (name, attributes, parent, fn) => action(name as SpanName, attributes, parent, fn),
  request: requestSpan,
  scope: setScope,
};

/** The trace ids of the latest actions, by name: `{ join: '4bf9…', consume: '…' }`. */
export function traces(): Record<string, string> {
  return Object.fromEntries(latest);
}

export function setSpanSink(sink: SpanSink | undefined): void {
  batcher.setSink(sink);
}

/** Sends finished spans now (leave, pagehide) instead of within the next second. */
export function flushSpans(): Promise<void> {
  return batcher.flush();
}
