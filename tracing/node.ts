import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Bus } from '../bus/bus.ts';
import { otlpTracesUrl } from './otlp-json.ts';
import { recentTraces } from './recent.ts';
import type { SpanSink } from './sink.ts';
import type { TraceStore } from './store.ts';

export interface Tracing extends SpanSink {
  /** Recent traces for the /debug dashboard: this process's own, or (with `collect`) everyone's from the relay. */
  store: TraceStore;
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** `service.name` unless OTEL_SERVICE_NAME says otherwise. */
  service: string;
  /** Distributed mode: share finished spans over the bus instead of keeping them here. */
  relay?: Bus;
  /** With `relay`: fill the store from it (signaling instances, which serve the dashboard). */
  collect?: boolean;
  env?: Record<string, string | undefined>;
}

/**
 * OpenTelemetry for a Node process (@opentelemetry/sdk-node): OTLP/HTTP export when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set, and recent traces in memory or on the bus for the /debug dashboard.
 * Only traces: metrics are Prometheus (/metrics), and no auto-instrumentation (our own spans say more).
 */
export function startTracing({ service, relay, collect = false, env = process.env }: TracingOptions): Tracing {
  const otlpUrl = otlpTracesUrl(env);
  const recent = recentTraces({ relay, collect, otlpUrl });
  const processors: SpanProcessor[] = [recent.processor];
  if (otlpUrl) processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: otlpUrl })));
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME ?? service }),
    autoDetectResources: false,
    spanProcessors: processors,
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  return {
    store: recent.store,
    sink: recent.sink,
    async shutdown() {
      recent.stop();
      await sdk.shutdown();
    },
  };
}
