import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { otlpTarget, processResource } from './otlp-json.ts';

/**
 * OpenTelemetry for a runtime without @opentelemetry/sdk-node (Deno): the trace SDK with the same resource and
 * OTLP export as tracing/node.ts, plus `processors` (the /debug store's relay), so this process's spans reach the
 * /debug store as well as OTLP. Not together with Deno's built-in OpenTelemetry (OTEL_DENO=true), which hooks the
 * API its own way. Returns the shutdown.
 */
export function startSdkTracing(
  service: string,
  processors: SpanProcessor[],
  env: Record<string, string | undefined>,
): () => Promise<void> {
  const otlp = otlpTarget(env);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(processResource(service, env)),
    spanProcessors: [
      ...processors,
      ...(otlp ? [new BatchSpanProcessor(new OTLPTraceExporter({ url: otlp.url, headers: otlp.headers }))] : []),
    ],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return () => provider.shutdown();
}
