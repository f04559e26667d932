import type { SpanRecord } from '../../../protocol/telemetry.ts';

/** One span as a timeline row: its depth in the tree and its bar, in percent of the trace's duration. */
export interface TimelineRow {
  span: SpanRecord;
  depth: number;
  left: number;
  width: number;
  live: boolean;
}

export interface TimelineEvent {
  spanId: string;
  spanName: string;
  service: string;
  name: string;
  /** Milliseconds since the trace's start, and the same as a percentage of its duration. */
  offsetMs: number;
  at: number;
  attributes: SpanRecord['attributes'];
}

export interface Timeline {
  startMs: number;
  durationMs: number;
  rows: TimelineRow[];
  events: TimelineEvent[];
}

/**
 * Lays a trace out: spans depth-first under their parents (each level by start time), so a row's children
 * follow it. A span whose parent is missing (not reported, or from a tier that exports elsewhere) is a root.
 */
export function layoutTrace(spans: SpanRecord[]): Timeline {
  const startMs = Math.min(...spans.map((s) => s.startMs));
  const endMs = Math.max(...spans.map((s) => s.endMs), ...spans.flatMap((s) => s.events.map((e) => e.timeMs)));
  const durationMs = spans.length > 0 ? Math.max(endMs - startMs, 0.001) : 0;
  const pct = (ms: number) => (durationMs ? ((ms - startMs) / durationMs) * 100 : 0);

  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string | undefined, SpanRecord[]>();
  for (const span of spans) {
    const parent = span.parentSpanId && ids.has(span.parentSpanId) ? span.parentSpanId : undefined;
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  for (const list of children.values()) list.sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs);

  const rows: TimelineRow[] = [];
  const seen = new Set<string>();
  const visit = (span: SpanRecord, depth: number) => {
    if (seen.has(span.spanId)) return; // a malformed trace (a cycle) must not hang the page
    seen.add(span.spanId);
    const left = pct(span.startMs);
    rows.push({
      span,
      depth,
      left,
      width: Math.max(pct(span.endMs) - left, 0),
      live: span.attributes['parley.span.live'] === true,
    });
    for (const child of children.get(span.spanId) ?? []) visit(child, depth + 1);
  };
  for (const root of children.get(undefined) ?? []) visit(root, 0);
  // Spans only reachable through a cycle still get a row.
  for (const span of spans) visit(span, 0);

  const events = rows
    .flatMap(({ span }) =>
      span.events.map((e) => ({
        spanId: span.spanId,
        spanName: span.name,
        service: span.service,
        name: e.name,
        offsetMs: e.timeMs - startMs,
        at: pct(e.timeMs),
        attributes: e.attributes,
      })),
    )
    .sort((a, b) => a.offsetMs - b.offsetMs);
  return { startMs, durationMs, rows, events };
}

/** Service colors, the same in bars, legend and trace list. */
export const SERVICE_COLORS: Record<string, string> = {
  'parley-web': '#5865f2',
  'parley-signaling': '#3ba55d',
  'parley-bus': '#faa61a',
  'parley-media-worker': '#eb459e',
};

export function serviceColor(service: string): string {
  return SERVICE_COLORS[service] ?? '#8e9297';
}

/** 0.42 ms, 12.3 ms, 1.25 s. */
export function formatMs(ms: number): string {
  if (ms === 0) return '0 ms';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  if (ms < 10_000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}
