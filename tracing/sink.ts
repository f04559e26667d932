import type { SpanRecord } from '../protocol/telemetry.ts';
import { exportOtlpJson } from './otlp-json.ts';
import type { OtlpTarget } from './otlp-json.ts';
import type { SpanRelay } from './relay.ts';
import type { TraceStore } from './store.ts';

/** Where spans made outside this process's SDK (the browser's) go: the trace store and the OTLP endpoint. */
export interface SpanSink {
  sink(service: string, records: SpanRecord[]): void;
}

/** Into the local store (embedded) or onto the relay (distributed), and to OTLP when `otlp` is set. */
export function spanSink(target: TraceStore | SpanRelay, otlp: OtlpTarget | undefined): SpanSink {
  return {
    sink(service, records) {
      if ('send' in target) target.send(records);
      else target.add(records);
      if (otlp) void exportOtlpJson(otlp, service, records).catch((err: Error) => console.warn(`[tracing] ${err.message}`));
    },
  };
}
