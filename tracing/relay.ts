import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Bus, Subscription } from '../bus/bus.ts';
import { SpanRecord } from '../protocol/telemetry.ts';
import { subjects } from '../protocol/subjects.ts';
import { toRecord } from './records.ts';
import type { TraceStore } from './store.ts';

const FLUSH_MS = 250;
const MAX_BATCH = 256;

/**
 * Distributed mode: every process publishes its finished spans on one subject, and each signaling instance's
 * trace store listens, so the dashboard on any instance shows whole traces. Batched, and dropped rather than
 * queued without bound when the bus is slow: tracing must never hurt media.
 */
export class SpanRelay implements SpanProcessor {
  private batch: SpanRecord[] = [];
  private timer?: ReturnType<typeof setTimeout>;

  constructor(private bus: Bus) {}

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    this.send([toRecord(span)]);
  }

  /** Also for spans that did not come from this process's SDK (the browser's). */
  send(records: SpanRecord[]): void {
    if (this.batch.length + records.length > 4 * MAX_BATCH) return;
    this.batch.push(...records);
    this.timer ??= setTimeout(() => this.flushNow(), FLUSH_MS);
  }

  forceFlush(): Promise<void> {
    this.flushNow();
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.forceFlush();
  }

  private flushNow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.batch.length > 0) this.bus.publish(subjects.telemetrySpans, { spans: this.batch.splice(0, MAX_BATCH) });
  }
}

/** A trace store's side of the relay. Malformed batches are ignored, valid spans in them kept. */
export function collectSpans(bus: Bus, store: TraceStore): Subscription {
  return bus.subscribe(subjects.telemetrySpans, (msg) => {
    const spans = (msg.data as { spans?: unknown } | null)?.spans;
    if (!Array.isArray(spans)) return;
    store.add(
      spans.flatMap((s) => {
        const parsed = SpanRecord.safeParse(s);
        return parsed.success ? [parsed.data] : [];
      }),
    );
  });
}
