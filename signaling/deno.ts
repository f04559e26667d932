import { serveStatic, upgradeWebSocket } from 'hono/deno';
import { Hono } from 'hono';
import { wsconnect } from '@nats-io/nats-core';
import { NatsBus } from '../bus/nats.ts';
import { createSignaling } from './app.ts';
import { signalingConfigFromEnv } from './config.ts';
import { otlpTracesUrl } from '../tracing/otlp-json.ts';
import { collectSpans, SpanRelay } from '../tracing/relay.ts';
import { spanSink } from '../tracing/sink.ts';
import { TraceStore } from '../tracing/store.ts';
import { TracedBus } from '../tracing/traced-bus.ts';

/**
 * The Deno adapter and entry point: the same app as node.ts, served by Deno.serve. Edge runtimes have no raw
 * TCP, so NATS is reached over its WebSocket listener (NATS_URL=ws://host:port).
 */
const natsUrl = Deno.env.get('NATS_URL');
if (!natsUrl?.startsWith('ws')) {
  console.error('[signaling/deno] NATS_URL must be a NATS WebSocket URL (ws:// or wss://)');
  Deno.exit(1);
}
const config = signalingConfigFromEnv((name) => Deno.env.get(name));
const nats = new NatsBus(
  await wsconnect({
    servers: natsUrl.split(','),
    name: 'signaling-deno',
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 100,
  }),
);
// Deno's own OpenTelemetry (OTEL_DENO=true) exports our spans over OTLP; the dashboard's store fills from the relay.
const bus = new TracedBus(nats, 'nats');
const store = new TraceStore();
collectSpans(bus, store);
const traces = { store, ...spanSink(new SpanRelay(bus), otlpTracesUrl(Deno.env.toObject())) };
const app = new Hono();
const signaling = await createSignaling({ bus, config, upgradeWebSocket, traces });
app.route('/', signaling.app);
const webRoot = Deno.env.get('WEB_ROOT');
if (webRoot) {
  app.use('/*', serveStatic({ root: webRoot }));
  app.get('/*', serveStatic({ root: webRoot, path: 'index.html' }));
}

const port = Number(Deno.env.get('PORT') ?? 3000);
const server = Deno.serve(
  { port, onListen: () => console.log(`[signaling] listening on http://localhost:${port} (Deno, NATS ${natsUrl})`) },
  app.fetch,
);
Deno.addSignalListener('SIGTERM', () => {
  void signaling
    .drain()
    .then(() => server.shutdown())
    .then(() => bus.close())
    .finally(() => Deno.exit(0));
});
