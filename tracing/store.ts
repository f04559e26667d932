import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { MAX_REPORTED_SPANS } from '../protocol/limits.ts';
import type { SpanRecord, TraceSummary } from '../protocol/telemetry.ts';
import { toRecord } from './records.ts';

const MAX_SPANS_PER_TRACE = 8 * MAX_REPORTED_SPANS;

/**
 * Recent traces in memory, bounded (oldest trace out first), for the /debug dashboard in the embedded default
 * and on signaling instances. Spans still running (a consumer's lifecycle) are shown as they are now.
 */
export class TraceStore {
  private traces = new Map<string, Map<string, SpanRecord>>();
  private live = new Map<string, Span>();

  constructor(private maxTraces = 2000) {}

  add(records: SpanRecord[]): void {
    for (const record of records) {
      let trace = this.traces.get(record.traceId);
      if (!trace) {
        trace = new Map();
        this.traces.set(record.traceId, trace);
        this.evict();
      }
      if (trace.size < MAX_SPANS_PER_TRACE || trace.has(record.spanId)) trace.set(record.spanId, record);
    }
  }

  /** Every span of a trace, ordered by start, including live ones. */
  get(traceId: string): SpanRecord[] {
    const spans = [...(this.traces.get(traceId)?.values() ?? [])];
    const now = Date.now();
    for (const span of this.live.values())
      if (span.spanContext().traceId === traceId) spans.push(toRecord(span as unknown as ReadableSpan, now));
    return spans.sort((a, b) => a.startMs - b.startMs);
  }

  /** Newest first. */
  recent(limit = 50): TraceSummary[] {
    return [...this.traces.keys()]
      .reverse()
      .slice(0, limit)
      .map((id) => summarize(id, this.get(id)));
  }

  /** Feeds the store from this process's SDK: ended spans as records, running ones by reference. */
  processor(): SpanProcessor {
    return {
      onStart: (span: Span, _parent: Context) => {
        this.live.set(span.spanContext().spanId, span);
      },
      onEnd: (span: ReadableSpan) => {
        this.live.delete(span.spanContext().spanId);
        this.add([toRecord(span)]);
      },
      forceFlush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    };
  }

  private evict(): void {
    while (this.traces.size > this.maxTraces) {
      const oldest = this.traces.keys().next().value;
      if (oldest === undefined) return;
      this.traces.delete(oldest);
    }
  }
}

function summarize(traceId: string, spans: SpanRecord[]): TraceSummary {
  const ids = new Set(spans.map((s) => s.spanId));
  const root = spans.find((s) => !s.parentSpanId || !ids.has(s.parentSpanId)) ?? spans[0];
  return {
    traceId,
    name: root?.name ?? '',
    startMs: Math.min(...spans.map((s) => s.startMs)),
    endMs: Math.max(...spans.map((s) => s.endMs)),
    spans: spans.length,
    services: [...new Set(spans.map((s) => s.service))],
    errors: spans.filter((s) => s.status === 'error').length,
  };
}
