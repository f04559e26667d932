import { wsconnect } from '@nats-io/nats-core';
import { NatsBus } from '../bus/nats.ts';
import { NATS_RECONNECT } from '../bus/nats-options.ts';
import { otlpTracesUrl } from '../tracing/otlp-json.ts';
import { recentTraces } from '../tracing/recent.ts';
import { TracedBus } from '../tracing/traced-bus.ts';
import { signalingConfigFromEnv } from './config.ts';
import { serveSignalingOnDeno } from './runtime/deno.ts';

/**
 * The signaling process on Deno, e.g. at the edge: the same app as main.ts. Edge runtimes have no raw TCP, so
 * NATS is reached over its WebSocket listener (NATS_URL=ws://host:port).
 */
const natsUrl = Deno.env.get('NATS_URL');
if (!natsUrl?.startsWith('ws')) {
  console.error('[signaling/deno] NATS_URL must be a NATS WebSocket URL (ws:// or wss://)');
  Deno.exit(1);
}
const config = signalingConfigFromEnv((name) => Deno.env.get(name));
const nats = await wsconnect({ servers: natsUrl.split(','), name: `signaling ${config.instanceId}`, ...NATS_RECONNECT });
const bus = new TracedBus(new NatsBus(nats));
// Deno's own OpenTelemetry (OTEL_DENO=true) exports our spans over OTLP; the dashboard's store fills from the relay.
const traces = recentTraces({ relay: bus, collect: true, otlpUrl: otlpTracesUrl(Deno.env.toObject()) });
const server = await serveSignalingOnDeno({
  bus,
  config,
  port: Number(Deno.env.get('PORT') ?? 3000),
  webRoot: Deno.env.get('WEB_ROOT'),
  traces,
});
console.log(`[signaling] listening on ${server.url} (Deno, NATS ${natsUrl}, instance ${config.instanceId})`);

Deno.addSignalListener('SIGTERM', () => {
  void server
    .drain()
    .then(() => traces.stop())
    .then(() => bus.close())
    .finally(() => Deno.exit(0));
});
