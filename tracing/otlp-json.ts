import { readEnv, url } from '../config/env.ts';
import { DEFAULT_REGION } from '../protocol/regions.ts';
import type { SpanRecord } from '../protocol/telemetry.ts';

/*
 * Spans the SDK did not make (the browser's, reported over the WebSocket) go to the OTLP endpoint as
 * OTLP/HTTP JSON, the same encoding the SDK's exporter uses.
 */

const KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;
const STATUS = { unset: 0, ok: 1, error: 2 } as const;

type Env = Record<string, string | undefined>;

/** Where and how spans are exported, from the standard OTEL_* variables. */
export interface OtlpTarget {
  /** The traces endpoint itself (…/v1/traces). */
  url: string;
  /** OTEL_EXPORTER_OTLP_TRACES_HEADERS or OTEL_EXPORTER_OTLP_HEADERS (e.g. an authenticated backend's key). */
  headers: Record<string, string>;
  /** OTEL_RESOURCE_ATTRIBUTES (e.g. deployment.environment), on every span this process exports. */
  resource: Record<string, string>;
}

/** Posts to the traces endpoint with the configured headers and resource. */
export async function exportOtlpJson(target: OtlpTarget, service: string, records: SpanRecord[]): Promise<void> {
  if (records.length === 0) return;
  const response = await fetch(target.url, {
    method: 'POST',
    headers: { ...target.headers, 'content-type': 'application/json' },
    body: JSON.stringify(otlpRequest(service, records, target.resource)),
  });
  if (!response.ok) throw new Error(`OTLP export to ${target.url} failed: HTTP ${response.status}`);
}

const otlpEnv = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url(), OTEL_EXPORTER_OTLP_ENDPOINT: url() };

/**
 * Where traces go per the standard variables: the traces endpoint itself, or the base URL + /v1/traces. A value
 * that is not an http(s) URL stops the start (StartupError) rather than losing every span quietly.
 */
export function otlpTracesUrl(env: Env): string | undefined {
  const e = readEnv(otlpEnv, env);
  if (e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = e.OTEL_EXPORTER_OTLP_ENDPOINT;
  return base ? `${base.replace(/\/$/, '')}/v1/traces` : undefined;
}

/** The export target per the standard variables, or undefined when no endpoint is set. */
export function otlpTarget(env: Env): OtlpTarget | undefined {
  const url = otlpTracesUrl(env);
  if (!url) return undefined;
  return {
    url,
    headers: keyValues(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? env.OTEL_EXPORTER_OTLP_HEADERS),
    // Spans relayed for others (the browser's) carry the deployment's resource and their own service.name.
    resource: deploymentResource(env),
  };
}

/**
 * The W3C-baggage-like list the OTEL_* variables use: `key1=value1,key2=value2`, values percent-encoded.
 * Malformed entries are skipped, as the OpenTelemetry SDKs do.
 */
export function keyValues(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of (text ?? '').split(',')) {
    const at = entry.indexOf('=');
    if (at <= 0) continue;
    try {
      out[decodeURIComponent(entry.slice(0, at).trim())] = decodeURIComponent(entry.slice(at + 1).trim());
    } catch {
      // Not valid percent-encoding: skipped.
    }
  }
  return out;
}

/** The deployment's part of every resource: OTEL_RESOURCE_ATTRIBUTES and `cloud.region` (PARLEY_REGION). */
export function deploymentResource(env: Record<string, string | undefined>): Record<string, string> {
  const configured = keyValues(env.OTEL_RESOURCE_ATTRIBUTES);
  return { ...configured, 'cloud.region': env.PARLEY_REGION || configured['cloud.region'] || DEFAULT_REGION };
}

/** The resource of this process's own spans: the deployment's, and `service.name` (OTEL_SERVICE_NAME, else `service`). */
export function processResource(service: string, env: Record<string, string | undefined>): Record<string, string> {
  const deployment = deploymentResource(env);
  return { ...deployment, 'service.name': env.OTEL_SERVICE_NAME ?? deployment['service.name'] ?? service };
}

/** `service` is the service that made the spans (the browser's: parley-web); `resource` adds the deployment's. */
export function otlpRequest(service: string, records: SpanRecord[], resource: Record<string, string> = {}) {
  const attributes = { ...resource, 'service.name': service };
  return {
    resourceSpans: [
      {
        resource: { attributes: Object.entries(attributes).map(([k, v]) => attribute(k, v)) },
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
