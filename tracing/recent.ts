import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Bus, Subscription } from '../bus/bus.ts';
import { collectSpans, SpanRelay } from './relay.ts';
import { spanSink } from './sink.ts';
import type { SpanSink } from './sink.ts';
import { TraceStore } from './store.ts';
import type { OtlpTarget } from './otlp-json.ts';

export interface RecentTraces extends SpanSink {
  /** What the /debug dashboard reads: this process's spans, or (with `collect`) everyone's from the relay. */
  store: TraceStore;
  /** Where this process's own finished spans go: the store, or the relay in distributed mode. */
  processor: SpanProcessor;
  stop(): void;
}

/**
 * The trace store behind /debug and the way spans reach it, the same on every runtime: embedded, spans stay in
 * this process; distributed (`relay`), every process shares its spans over the bus and signaling instances
 * (`collect`) keep everyone's. The browser's spans go the same way, and to OTLP when `otlp` is set.
 */
export function recentTraces({
  relay,
  collect = false,
  otlp,
}: {
  relay?: Bus;
  collect?: boolean;
  otlp?: OtlpTarget;
}): RecentTraces {
  const store = new TraceStore();
  const relayProcessor = relay ? new SpanRelay(relay) : undefined;
  const collecting: Subscription | undefined = relay && collect ? collectSpans(relay, store) : undefined;
  return {
    store,
    processor: relayProcessor ?? store.processor(),
    ...spanSink(relayProcessor ?? store, otlp),
    stop: () => collecting?.unsubscribe(),
  };
}
