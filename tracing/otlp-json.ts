import { readEnv, url } from '../config/env.ts';
import type { SpanRecord } from '../protocol/telemetry.ts';

/*
 * Spans the SDK did not make (the browser's, reported over the WebSocket) go to the OTLP endpoint as
 * OTLP/HTTP JSON, the same encoding the SDK's exporter uses.
 */

const KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;
const STATUS = { unset: 0, ok: 1, error: 2 } as const;

/** Posts to `url`, the traces endpoint itself (…/v1/traces). */
export async function exportOtlpJson(url: string, service: string, records: SpanRecord[]): Promise<void> {
  if (records.length === 0) return;
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(otlpRequest(service, records)),
  });
  if (!response.ok) throw new Error(`OTLP export to ${url} failed: HTTP ${response.status}`);
}

const otlpEnv = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url(), OTEL_EXPORTER_OTLP_ENDPOINT: url() };

/**
 * Where traces go per the standard variables: the traces endpoint itself, or the base URL + /v1/traces. A value
 * that is not an http(s) URL stops the start (StartupError) rather than losing every span quietly.
 */
export function otlpTracesUrl(env: Record<string, string | undefined>): string | undefined {
  const e = readEnv(otlpEnv, env);
  if (e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = e.OTEL_EXPORTER_OTLP_ENDPOINT;
  return base ? `${base.replace(/\/$/, '')}/v1/traces` : undefined;
}

export function otlpRequest(service: string, records: SpanRecord[]) {
  return {
    resourceSpans: [
      {
        resource: { attributes: [attribute('service.name', service)] },
        scopeSpans: [
          {
            scope: { name: service },
            spans: records.map((r) => ({
              traceId: r.traceId,
              spanId: r.spanId,
              parentSpanId: r.parentSpanId ?? '',
              name: r.name,
              kind: KIND[r.kind],
              startTimeUnixNano: nanos(r.startMs),
              endTimeUnixNano: nanos(r.endMs),
              attributes: Object.entries(r.attributes).map(([k, v]) => attribute(k, v)),
              events: r.events.map((e) => ({
                name: e.name,
                timeUnixNano: nanos(e.timeMs),
                attributes: Object.entries(e.attributes).map(([k, v]) => attribute(k, v)),
              })),
              status: { code: STATUS[r.status], message: r.statusMessage ?? '' },
            })),
          },
        ],
      },
    ],
  };
}

function nanos(ms: number): string {
  return (BigInt(Math.floor(ms)) * 1_000_000n + BigInt(Math.round((ms % 1) * 1e6))).toString();
}

function attribute(key: string, value: string | number | boolean) {
  if (typeof value === 'string') return { key, value: { stringValue: value } };
  if (typeof value === 'boolean') return { key, value: { boolValue: value } };
  return { key, value: Number.isInteger(value) ? { intValue: value } : { doubleValue: value } };
}
