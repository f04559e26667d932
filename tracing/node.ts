import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { hostDetector, processDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Bus } from '../bus/bus.ts';
import { otlpTarget, processResource } from './otlp-json.ts';
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
 * OTEL_EXPORTER_OTLP_ENDPOINT is set (with OTEL_EXPORTER_OTLP_HEADERS), and recent traces in memory or on the
 * bus for the /debug dashboard. The resource: OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME (else `service`),
 * the host and the process. Only traces: metrics are Prometheus (/metrics), and no auto-instrumentation (our
 * own spans say more).
 */
export function startTracing({ service, relay, collect = false, env = process.env }: TracingOptions): Tracing {
  const otlp = otlpTarget(env);
  const recent = recentTraces({ relay, collect, otlp });
  const processors: SpanProcessor[] = [recent.processor];
  if (otlp) processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: otlp.url, headers: otlp.headers })));
  const sdk = new NodeSDK({
    resource: resourceFromAttributes(processResource(service, env)),
    // Host and process attributes (detected); the OTEL_* ones above come from `env`, so tests can pass their own.
    autoDetectResources: true,
    resourceDetectors: [hostDetector, processDetector],
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
