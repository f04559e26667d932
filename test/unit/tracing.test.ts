import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../bus/memory.ts';
import type { SpanRecord } from '../../protocol/telemetry.ts';
import { context, inSpan, trace, tracers } from '../../tracing/context.ts';
import { keyValues, otlpRequest, otlpTarget, processResource } from '../../tracing/otlp-json.ts';
import { TraceStore } from '../../tracing/store.ts';
import { destinationTemplate, TracedBus } from '../../tracing/traced-bus.ts';

const store = new TraceStore(3);

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [store.processor()] }));
});

function record(traceId: string, spanId: string, parentSpanId?: string): SpanRecord {
  return {
    traceId,
    spanId,
    parentSpanId,
    name: `span ${spanId}`,
    kind: 'internal',
    service: 'test',
    startMs: 1,
    endMs: 2,
    attributes: {},
    events: [],
    status: 'unset',
  };
}

describe('tracing', () => {
  it('carries one trace across the bus: request span → served span → work inside the handler', async () => {
    const bus = new TracedBus(new MemoryBus());
    bus.serve('parley.v1.media.m1.join', () => inSpan(tracers.media(), 'mediasoup.createRouter', {}, async () => ({ ok: 1 })));
    const traceId = await inSpan(tracers.signaling(), 'parley.v1/join', {}, async (span) => {
      await bus.request('parley.v1.media.m1.join', {});
      return span.spanContext().traceId;
    });
    const spans = store.get(traceId);
    const byName = (name: string) => spans.find((s) => s.name === name)!;
    expect(spans.map((s) => s.name).sort()).toEqual([
      'mediasoup.createRouter',
      'parley.v1/join',
      'process parley.v1.media.{instance}.join',
      'send parley.v1.media.{instance}.join',
    ]);
    expect(byName('send parley.v1.media.{instance}.join').parentSpanId).toBe(byName('parley.v1/join').spanId);
    expect(byName('process parley.v1.media.{instance}.join').parentSpanId).toBe(
      byName('send parley.v1.media.{instance}.join').spanId,
    );
    expect(byName('mediasoup.createRouter').parentSpanId).toBe(byName('process parley.v1.media.{instance}.join').spanId);
    expect(byName('process parley.v1.media.{instance}.join').attributes).toMatchObject({
      'messaging.system': 'in-process',
      'messaging.operation.type': 'process',
    });
  });

  it('makes no spans for requests outside a trace (heartbeats, lease renewals)', async () => {
    const bus = new TracedBus(new MemoryBus());
    bus.serve('parley.v1.media.m1.renewLeases', async () => ({}));
    const before = store.recent(10).length;
    await bus.request('parley.v1.media.m1.renewLeases', {});
    expect(store.recent(10).length).toBe(before);
  });

  it('records a failure on the span and rethrows it', async () => {
    let traceId = '';
    await expect(
      inSpan(tracers.signaling(), 'fails', {}, (span) => {
        traceId = span.spanContext().traceId;
        throw Object.assign(new Error('nope'), { code: 'NOT_FOUND' });
      }),
    ).rejects.toThrow('nope');
    const [span] = store.get(traceId);
    expect(span).toMatchObject({ status: 'error', statusMessage: 'nope', attributes: { 'error.type': 'NOT_FOUND' } });
  });

  it('keeps a bounded number of traces, oldest out first, and shows spans still running', () => {
    const small = new TraceStore(2);
    small.add([record('a'.repeat(32), '1'.repeat(16))]);
    small.add([record('b'.repeat(32), '2'.repeat(16)), record('b'.repeat(32), '3'.repeat(16), '2'.repeat(16))]);
    small.add([record('c'.repeat(32), '4'.repeat(16))]);
    expect(small.get('a'.repeat(32))).toEqual([]);
    expect(small.recent().map((t) => t.traceId)).toEqual(['c'.repeat(32), 'b'.repeat(32)]);
    expect(small.recent()[1]).toMatchObject({ spans: 2, name: 'span 2222222222222222' });

    const live = tracers.media().startSpan('parley.consumer');
    const [running] = store.get(live.spanContext().traceId);
    expect(running?.attributes['parley.span.live']).toBe(true);
    live.end();
    expect(store.get(live.spanContext().traceId)[0]?.attributes['parley.span.live']).toBeUndefined();
  });

  it('encodes spans as OTLP/JSON and names subjects by template', () => {
    const body = otlpRequest('parley-web', [
      { ...record('a'.repeat(32), '1'.repeat(16)), startMs: 1700000000000.5, attributes: { n: 2, f: 0.5, b: true, s: 'x' } },
    ]);
    const span = body.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect(span.startTimeUnixNano).toBe('1700000000000500000');
    expect(span.attributes).toEqual([
      { key: 'n', value: { intValue: 2 } },
      { key: 'f', value: { doubleValue: 0.5 } },
      { key: 'b', value: { boolValue: true } },
      { key: 's', value: { stringValue: 'x' } },
    ]);
    expect(body.resourceSpans[0]!.resource.attributes).toEqual([{ key: 'service.name', value: { stringValue: 'parley-web' } }]);
    const withResource = otlpRequest('parley-web', [], { 'deployment.environment': 'prod', 'service.name': 'not-this' });
    expect(withResource.resourceSpans[0]!.resource.attributes).toEqual([
      { key: 'deployment.environment', value: { stringValue: 'prod' } },
      { key: 'service.name', value: { stringValue: 'parley-web' } },
    ]);
    expect(keyValues('authorization=Bearer%20k, x-a = 1,broken,=x,k2=a%3Db')).toEqual({
      authorization: 'Bearer k',
      'x-a': '1',
      k2: 'a=b',
    });
    expect(otlpTarget({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/', OTEL_EXPORTER_OTLP_HEADERS: 'k=v' })).toEqual({
      url: 'http://c:4318/v1/traces',
      headers: { k: 'v' },
      resource: { 'cloud.region': 'default' },
    });
    expect(processResource('parley-signaling', { PARLEY_REGION: 'ap-seoul', OTEL_RESOURCE_ATTRIBUTES: 'a=1' })).toEqual({
      a: '1',
      'cloud.region': 'ap-seoul',
      'service.name': 'parley-signaling',
    });
    expect(otlpTarget({})).toBeUndefined();
    expect(destinationTemplate('parley.v1.room.lounge.events')).toBe('parley.v1.room.{room}.events');
    expect(destinationTemplate('parley.v1.telemetry.spans')).toBe('parley.v1.telemetry.spans');
  });
});
