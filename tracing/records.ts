import type { Attributes, HrTime } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { SpanRecord } from '../protocol/telemetry.ts';

const KINDS: SpanRecord['kind'][] = ['internal', 'server', 'client', 'producer', 'consumer'];
const STATUS: SpanRecord['status'][] = ['unset', 'ok', 'error'];

/** An SDK span as a SpanRecord; `service` is the tracer's name (which tier made it), not the process's. */
export function toRecord(span: ReadableSpan, now?: number): SpanRecord {
  const context = span.spanContext();
  const record: SpanRecord = {
    traceId: context.traceId,
    spanId: context.spanId,
    name: span.name.slice(0, 256),
    kind: KINDS[span.kind] ?? 'internal',
    service: span.instrumentationScope.name.slice(0, 64),
    startMs: toMs(span.startTime),
    endMs: span.ended ? toMs(span.endTime) : (now ?? Date.now()),
    attributes: plain(span.attributes),
    events: span.events
      .slice(0, 256)
      .map((e) => ({ name: e.name.slice(0, 128), timeMs: toMs(e.time), attributes: plain(e.attributes ?? {}) })),
    status: STATUS[span.status.code] ?? 'unset',
  };
  if (span.parentSpanContext) record.parentSpanId = span.parentSpanContext.spanId;
  if (span.status.message) record.statusMessage = span.status.message.slice(0, 1024);
  if (!span.ended) record.attributes['parley.span.live'] = true;
  return record;
}

function toMs([seconds, nanos]: HrTime): number {
  return seconds * 1000 + nanos / 1e6;
}

/** Attribute values the record schema allows: strings, numbers and booleans (arrays become text). */
function plain(attributes: Attributes): SpanRecord['attributes'] {
  const out: SpanRecord['attributes'] = {};
  for (const [key, value] of Object.entries(attributes).slice(0, 128)) {
    if (value === undefined || value === null) continue;
    if (typeof value === 'string') out[key.slice(0, 128)] = value.slice(0, 1024);
    else if (typeof value === 'number' || typeof value === 'boolean') out[key.slice(0, 128)] = value;
    else out[key.slice(0, 128)] = JSON.stringify(value).slice(0, 1024);
  }
  return out;
}
