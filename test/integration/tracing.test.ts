import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../harness/wait.ts';
import type { SpanRecord } from '../../protocol/telemetry.ts';
import { startDistributed, token, wsUrl } from '../../harness/cluster.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { OtlpReceiver } from '../../harness/otlp-receiver.ts';
import { TestClient } from '../../harness/ws-client.ts';

/**
 * One request, one trace: a client's traceparent is continued by signaling (Node and Deno), carried over NATS
 * in message headers and continued by the media worker around its mediasoup calls; the spans reach the
 * signaling instances' trace stores (the /debug API) and the OTLP endpoint.
 */
describe('tracing across signaling (Node and Deno), NATS and the media worker', () => {
  let cluster: Cluster;
  let receiver: OtlpReceiver;
  let admin: string;

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    cluster = await startDistributed({
      signaling: ['node', 'deno'],
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '200',
        OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20backend-key,x-tenant=parley',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=ci,service.namespace=parley%20test',
      },
    });
    admin = await token('Operator', { admin: true });
  });
  afterAll(async () => {
    await cluster?.stop();
    await receiver?.close();
  });

  async function traced(base: string, name: string): Promise<{ traceId: string; parent: string }> {
    const client = await TestClient.open(wsUrl(base, await token(name)));
    const traceId = randomBytes(16).toString('hex');
    const parent = randomBytes(8).toString('hex');
    const reply = await client.request('join', { room: 'traced' }, `00-${traceId}-${parent}-01`);
    expect(reply.ok).toBe(true);
    client.close();
    return { traceId, parent };
  }

  async function storedTrace(base: string, traceId: string, done: (spans: SpanRecord[]) => boolean): Promise<SpanRecord[]> {
    return waitFor(
      `trace ${traceId} in the store of ${base}`,
      async () => {
        const res = await fetch(`${base}/debug/api/traces/${traceId}`, { headers: { authorization: `Bearer ${admin}` } });
        const { spans } = (await res.json()) as { spans: SpanRecord[] };
        return done(spans) ? spans : undefined;
      },
      10_000,
    );
  }

  it('links browser-side parent → signaling → NATS request → media worker → mediasoup call', async () => {
    const [node] = cluster.signaling as [string, string];
    const { traceId, parent } = await traced(node, 'Ada');
    // Each process relays its spans in its own batches: wait for both ends of the chain.
    const spans = await storedTrace(
      node,
      traceId,
      (s) => s.some((x) => x.service === 'parley-media-worker') && s.some((x) => x.parentSpanId === parent),
    );
    const child = (of: SpanRecord | undefined, where: (s: SpanRecord) => boolean) =>
      spans.find((s) => s.parentSpanId === of?.spanId && where(s));

    const server = spans.find((s) => s.parentSpanId === parent);
    expect(server).toMatchObject({ name: 'parley.v1/join', kind: 'server', service: 'parley-signaling' });
    expect(server?.attributes).toMatchObject({ 'rpc.method': 'join', 'enduser.id': 'id-ada' });
    const send = child(server, (s) => s.kind === 'client' && s.attributes['messaging.system'] === 'nats');
    expect(send?.name).toBe('send parley.v1.media.{instance}.join');
    const process = child(send, (s) => s.kind === 'consumer');
    expect(process?.name).toBe('process parley.v1.media.{instance}.join');
    const mediasoup = child(process, (s) => s.service === 'parley-media-worker');
    expect(mediasoup?.name).toMatch(/^mediasoup\./);
    expect(spans.every((s) => s.traceId === traceId)).toBe(true);
  });

  it('exports spans of every process over OTLP/HTTP, and keeps the Deno instance’s own spans in the /debug stores', async () => {
    const [, deno] = cluster.signaling as [string, string];
    const { traceId, parent } = await traced(deno, 'Bob');
    const received = await waitFor(
      'spans of Deno signaling and the media worker at the OTLP endpoint',
      () => {
        const spans = receiver.spans.filter((s) => s.traceId === traceId);
        const fromDeno = spans.find((s) => s.parentSpanId === parent && s.name === 'parley.v1/join');
        return fromDeno && spans.some((s) => s.service === 'parley-media-worker') ? spans : undefined;
      },
      15_000,
    );
    expect(new Set(received.map((s) => s.service)).size).toBeGreaterThanOrEqual(2);
    const fromDeno = received.find((s) => s.parentSpanId === parent && s.name === 'parley.v1/join')!;
    expect(fromDeno.headers.authorization).toBe('Bearer backend-key');
    expect(fromDeno.resource).toMatchObject({ 'deployment.environment': 'ci', 'service.namespace': 'parley test' });
    // Deno's own server span is in the trace stores (its own and the Node instance's), not only at OTLP.
    const [node] = cluster.signaling as [string, string];
    for (const base of [deno, node]) {
      const spans = await storedTrace(base, traceId, (s) => s.some((x) => x.parentSpanId === parent));
      expect(spans.find((x) => x.parentSpanId === parent)).toMatchObject({ name: 'parley.v1/join', service: 'parley-signaling' });
    }
    // The Deno instance's store still shows the media worker's half, relayed over NATS.
    const stored = await storedTrace(deno, traceId, (s) => s.some((x) => x.kind === 'consumer' && x.service === 'parley-bus'));
    expect(stored.every((s) => s.traceId === traceId)).toBe(true);
  });

  it('honours OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES for every tier’s spans, the browser’s too', async () => {
    const [node] = cluster.signaling as [string];
    const { traceId } = await traced(node, 'Cy');
    // A browser's span, reported as the web app does, is exported by signaling with the same headers and resource.
    const client = await TestClient.open(wsUrl(node, await token('Cy')));
    // Only members report spans (issue #14).
    expect((await client.request('join', { room: 'otlp-headers' })).ok).toBe(true);
    const now = Date.now();
    const browserSpan = {
      traceId,
      spanId: randomBytes(8).toString('hex'),
      name: 'join',
      kind: 'internal',
      service: 'parley-web',
      startMs: now - 5,
      endMs: now,
      attributes: {},
      events: [],
      status: 'unset',
    };
    expect((await client.request('reportSpans', { spans: [browserSpan] })).ok).toBe(true);
    client.close();
    const services = ['parley-web', 'parley-signaling', 'parley-media-worker'];
    const received = await waitFor(
      'spans of the browser, signaling and the media worker at the OTLP endpoint',
      () => {
        const spans = receiver.spans.filter((s) => s.traceId === traceId);
        return services.every((service) => spans.some((s) => s.service === service)) ? spans : undefined;
      },
      15_000,
    );
    for (const service of services) {
      const span = received.find((s) => s.service === service)!;
      expect(span.headers.authorization, service).toBe('Bearer backend-key');
      expect(span.headers['x-tenant'], service).toBe('parley');
      expect(span.resource, service).toMatchObject({ 'deployment.environment': 'ci', 'service.namespace': 'parley test' });
    }
    expect(received.find((s) => s.service === 'parley-media-worker')!.resource['host.name']).toBeTruthy();
  });

  it('refuses the debug API without an admin token', async () => {
    const [node] = cluster.signaling as [string];
    expect((await fetch(`${node}/debug/api/traces`)).status).toBe(401);
    const user = await token('Eve');
    expect((await fetch(`${node}/debug/api/traces`, { headers: { authorization: `Bearer ${user}` } })).status).toBe(403);
    expect((await fetch(`${node}/debug/api/rooms`, { headers: { authorization: `Bearer ${admin}` } })).status).toBe(200);
  });
});
