import { token } from './cluster.ts';
import type { SpanRecord } from '../protocol/telemetry.ts';

/** A trace as the /debug API serves it, read with an admin token (minted as `npm run token -- --admin` does). */
export async function traceFromApi(base: string, traceId: string): Promise<SpanRecord[]> {
  const admin = await token('ops', { admin: true });
  const res = await fetch(`${base}/debug/api/traces/${traceId}`, { headers: { authorization: `Bearer ${admin}` } });
  return ((await res.json()) as { spans: SpanRecord[] }).spans;
}

/** `service:name` of a span and its ancestors, root first ([] for a span not in the trace). */
export function ancestry(spans: SpanRecord[], leaf: SpanRecord | undefined): string[] {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const names: string[] = [];
  for (let s = leaf; s; s = s.parentSpanId ? byId.get(s.parentSpanId) : undefined) names.unshift(`${s.service}:${s.name}`);
  return names;
}

/** Spans whose parent is not in the trace (the root has none). */
export function orphans(spans: SpanRecord[]): SpanRecord[] {
  const ids = new Set(spans.map((s) => s.spanId));
  return spans.filter((s) => s.parentSpanId && !ids.has(s.parentSpanId));
}

/** A browser join's transport creation, from the click to the mediasoup call. */
export const JOIN_TRANSPORT_CHAIN = [
  'parley-web:join',
  'parley-web:request createTransport',
  'parley-signaling:parley.v1/createTransport',
  'parley-bus:send parley.v1.media.{instance}.createTransport',
  'parley-bus:process parley.v1.media.{instance}.createTransport',
  'parley-media-worker:mediasoup.createWebRtcTransport',
];
