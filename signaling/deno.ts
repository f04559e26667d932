import { wsconnect } from '@nats-io/nats-core';
import { NatsBus } from '../bus/nats.ts';
import { NATS_RECONNECT } from '../bus/nats-options.ts';
import { otlpTarget } from '../tracing/otlp-json.ts';
import { recentTraces } from '../tracing/recent.ts';
import { startSdkTracing } from '../tracing/sdk.ts';
import { TracedBus } from '../tracing/traced-bus.ts';
import { signalingConfigFromEnv } from './config.ts';
import { serveSignalingOnDeno } from './runtime/deno.ts';
import { log, setLogService } from '../tracing/log.ts';

setLogService(Deno.env.get('OTEL_SERVICE_NAME') ?? 'parley-signaling');

/**
 * The signaling process on Deno, e.g. at the edge: the same app as main.ts. Edge runtimes have no raw TCP, so
 * NATS is reached over its WebSocket listener (NATS_URL=ws://host:port).
 */
const natsUrl = Deno.env.get('NATS_URL');
if (!natsUrl?.startsWith('ws')) {
  log.error('NATS_URL must be a NATS WebSocket URL (ws:// or wss://)');
  Deno.exit(1);
}
const config = signalingConfigFromEnv((name) => Deno.env.get(name));
const nats = await wsconnect({ servers: natsUrl.split(','), name: `signaling ${config.instanceId}`, ...NATS_RECONNECT });
const bus = new TracedBus(new NatsBus(nats));
// Our spans go to every instance's /debug store through the relay, and to OTLP when it is configured.
const env = Deno.env.toObject();
const traces = recentTraces({ relay: bus, collect: true, otlp: otlpTarget(env) });
// Deno's built-in OpenTelemetry (OTEL_DENO=true) takes the API over: then our spans go to OTLP only, not /debug.
const builtIn = env.OTEL_DENO === 'true';
if (builtIn) log.warn('OTEL_DENO=true: Deno’s own OpenTelemetry exports the spans; /debug will not show this instance’s');
const stopTracing = builtIn ? () => Promise.resolve() : startSdkTracing('parley-signaling', [traces.processor], env);
const server = await serveSignalingOnDeno({
  bus,
  config,
  port: Number(Deno.env.get('PORT') ?? 3000),
  webRoot: Deno.env.get('WEB_ROOT'),
  traces,
});
log.info(`listening on ${server.url} (Deno, NATS ${natsUrl})`);

Deno.addSignalListener('SIGTERM', () => {
  void server
    .drain()
    .then(() => traces.stop())
    .then(() => stopTracing())
    .then(() => bus.close())
    .finally(() => Deno.exit(0));
});
