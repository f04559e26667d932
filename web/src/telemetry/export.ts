import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { MAX_CLIENT_MESSAGE_BYTES, MAX_REPORTED_SPANS } from '../../../protocol/limits.ts';
import type { SpanRecord } from '../../../protocol/telemetry.ts';
import { ParleyError } from '../../../protocol/errors.ts';
import { toRecord } from '../../../tracing/records.ts';

/** Sends one batch; rejects when it could not (the socket is down), so the batch is kept for later. */
export type SpanSink = (spans: SpanRecord[]) => Promise<unknown>;

const FLUSH_MS = 1000;
/** Spans kept while signaling is unreachable; the oldest go first: tracing must not grow without bound. */
const MAX_QUEUED = 8 * MAX_REPORTED_SPANS;
/** Room for the envelope: a batch must stay under the server's per-message limit. */
const MAX_BATCH_BYTES = MAX_CLIENT_MESSAGE_BYTES - 4096;

/**
 * The browser's span processor: finished spans as SpanRecords, sent in batches of at most 64 (and well
 * under the message size limit) about once a second, or at once on `flush()` (leave, pagehide).
 */
export class SpanBatcher implements SpanProcessor {
  private queue: SpanRecord[] = [];
  private timer?: ReturnType<typeof setTimeout>;
  private sink?: SpanSink;

  /** Where batches go: `reportSpans` on the current connection (none yet: spans wait in the queue). */
  setSink(sink: SpanSink | undefined): void {
    this.sink = sink;
    if (sink && this.queue.length > 0) this.schedule();
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    this.add(toRecord(span));
  }

  add(record: SpanRecord): void {
    this.queue.push(record);
    if (this.queue.length > MAX_QUEUED) this.queue.splice(0, this.queue.length - MAX_QUEUED);
    this.schedule();
  }

  /** Sends everything queued now, batch after batch (each send starts synchronously: pagehide-safe). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    return this.sendAll();
  }

  forceFlush(): Promise<void> {
    return this.flush();
  }

  shutdown(): Promise<void> {
    return this.flush();
  }

  get pending(): number {
    return this.queue.length;
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.sendAll();
    }, FLUSH_MS);
  }

  /**
   * Every batch is sent before any answer is awaited, so all of them leave even when the page is going
   * away. A batch the server refused is dropped (sending it again would fail again); one that could not be
   * sent (the socket is down) goes back to the queue.
   */
  private async sendAll(): Promise<void> {
    const sink = this.sink;
    if (!sink) return;
    const batches: SpanRecord[][] = [];
    while (this.queue.length > 0) batches.push(takeBatch(this.queue));
    const results = await Promise.allSettled(batches.map((batch) => sink(batch)));
    const unsent = batches.filter((_, i) => {
      const result = results[i];
      return result?.status === 'rejected' && !(result.reason instanceof ParleyError);
    });
    if (unsent.length === 0) return;
    this.queue.unshift(...unsent.flat());
    if (this.queue.length > MAX_QUEUED) this.queue.splice(0, this.queue.length - MAX_QUEUED);
  }
}

/** Removes and returns the oldest spans that fit in one request (always at least one). */
export function takeBatch(queue: SpanRecord[]): SpanRecord[] {
  let bytes = 0;
  let count = 0;
  while (count < queue.length && count < MAX_REPORTED_SPANS) {
    const size = JSON.stringify(queue[count]).length;
    if (count > 0 && bytes + size > MAX_BATCH_BYTES) break;
    bytes += size;
    count++;
  }
  return queue.splice(0, count);
}
