import { wsconnect } from '@nats-io/nats-core';
import { describeStartupFailure, StartupError } from '../config/startup.ts';
import { NatsBus } from '../bus/nats.ts';
import { describeNatsFailure, natsOptionsFromEnv } from '../bus/nats-options.ts';
import { otlpTarget } from '../tracing/otlp-json.ts';
import { recentTraces } from '../tracing/recent.ts';
import { startSdkTracing } from '../tracing/sdk.ts';
import { TracedBus } from '../tracing/traced-bus.ts';
import { serverConfigFromEnv, signalingConfigFromEnv } from './config.ts';
import { serveSignalingOnDeno } from './runtime/deno.ts';
import { log, setLogService } from '../tracing/log.ts';

setLogService(Deno.env.get('OTEL_SERVICE_NAME') ?? 'parley-signaling');

/**
 * The signaling process on Deno, e.g. at the edge: the same app as main.ts. Edge runtimes have no raw TCP, so
 * NATS is reached over its WebSocket listener (NATS_URL=ws://host:port or wss://), with the same credentials.
 */
async function main(): Promise<void> {
  const env = Deno.env.toObject();
  const nats = natsOptionsFromEnv(env, 'signaling');
  if (nats?.transport !== 'websocket') {
    throw new StartupError('NATS_URL must be a NATS WebSocket URL (ws:// or wss://)');
  }
  const config = signalingConfigFromEnv(env);
  const server = serverConfigFromEnv(env, { host: '0.0.0.0' });
  if (server.https && !server.tlsCertFile) {
    throw new StartupError('HTTPS: on Deno, give TLS_CERT_FILE and TLS_KEY_FILE (no self-signed certificate is made)');
  }
  const tls = server.tlsCertFile && server.tlsKeyFile ? await readTls(server.tlsCertFile, server.tlsKeyFile) : undefined;
  const connection = await wsconnect({ servers: nats.servers, name: `signaling ${config.instanceId}`, ...nats.options }).catch(
    (err: unknown) => {
      throw new StartupError(describeNatsFailure(nats, err));
    },
  );
  const bus = new TracedBus(new NatsBus(connection));
  // Our spans go to every instance's /debug store through the relay, and to OTLP when it is configured.
  const traces = recentTraces({ relay: bus, collect: true, otlp: otlpTarget(env) });
  // Deno's built-in OpenTelemetry (OTEL_DENO=true) takes the API over: then our spans go to OTLP only, not /debug.
  const builtIn = env.OTEL_DENO === 'true';
  if (builtIn) log.warn('OTEL_DENO=true: Deno’s own OpenTelemetry exports the spans; /debug will not show this instance’s');
  const stopTracing = builtIn ? () => Promise.resolve() : startSdkTracing('parley-signaling', [traces.processor], env);
  if (config.devTokensRefused) log.warn(`PARLEY_DEV_TOKENS ignored: ${config.devTokensRefused}`);
  const running = await serveSignalingOnDeno({
    bus,
    config,
    port: server.port,
    hostname: server.host,
    webRoot: server.webRoot,
    traces,
    tls,
  });
  log.info(
    `listening on ${running.url} (Deno, NATS ${nats.servers.join(',')}, instance ${config.instanceId}, region ${config.region})`,
  );

  Deno.addSignalListener('SIGTERM', () => {
    void running
      .drain()
      .then(() => traces.stop())
      .then(() => stopTracing())
      .then(() => bus.close())
      .finally(() => Deno.exit(0));
  });
}

async function readTls(certFile: string, keyFile: string): Promise<{ cert: string; key: string }> {
  const read = (variable: string, file: string) =>
    Deno.readTextFile(file).catch((err: Error) => {
      throw new StartupError(`configuration: ${variable}: cannot read ${file} (${err.name})`);
    });
  return { cert: await read('TLS_CERT_FILE', certFile), key: await read('TLS_KEY_FILE', keyFile) };
}

main().catch((err: unknown) => {
  log.error(describeStartupFailure(err));
  Deno.exit(1);
});
