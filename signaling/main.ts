import { describeStartupFailure, StartupError } from '../config/startup.ts';
import { connectBus } from '../bus/connect.ts';
import { natsOptionsFromEnv } from '../bus/nats-options.ts';
import { TracedBus } from '../tracing/traced-bus.ts';
import { serverConfigFromEnv, signalingConfigFromEnv } from './config.ts';
import { loadTls } from './tls.ts';
import { serveSignalingOnNode } from './runtime/node.ts';
import { startTracing } from '../tracing/node.ts';
import { log, setLogService } from '../tracing/log.ts';

setLogService(process.env.OTEL_SERVICE_NAME ?? 'parley-signaling');

/** The signaling process of the distributed mode on Node: NATS_URL is required. */
async function main(): Promise<void> {
  const nats = natsOptionsFromEnv(process.env, 'signaling');
  if (!nats) throw new StartupError('NATS_URL is not set; for a single process use `npm start`');
  const config = signalingConfigFromEnv(process.env);
  const server = serverConfigFromEnv(process.env, { host: '0.0.0.0' });
  const tls = server.https ? await loadTls(server) : undefined;
  // Every message carries its trace context, so one trace crosses the bus.
  const bus = new TracedBus(await connectBus(nats, `signaling ${config.instanceId}`));
  const tracing = startTracing({ service: 'parley-signaling', relay: bus, collect: true });
  if (config.devTokensRefused) log.warn(`PARLEY_DEV_TOKENS ignored: ${config.devTokensRefused}`);
  const running = await serveSignalingOnNode({
    bus,
    config,
    tls,
    port: server.port,
    hostname: server.host,
    webRoot: server.webRoot,
    traces: tracing,
  });
  log.info(
    `listening on ${running.url} (NATS ${nats.servers.join(',')}, instance ${config.instanceId}, region ${config.region})`,
  );

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      void running
        .drain()
        .then(() => tracing.shutdown())
        .then(() => bus.close())
        .finally(() => process.exit(0));
    });
  }
}

main().catch((err: unknown) => {
  log.error(describeStartupFailure(err));
  process.exit(1);
});
