import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeStartupFailure } from '../config/startup.ts';
import { connectBus } from '../bus/connect.ts';
import { natsOptionsFromEnv } from '../bus/nats-options.ts';
import { TracedBus } from '../tracing/traced-bus.ts';
import { mediaConfigFromEnv } from '../media-worker/config.ts';
import { startMediaWorker } from '../media-worker/service.ts';
import { serverConfigFromEnv, signalingConfigFromEnv } from '../signaling/config.ts';
import { loadTls } from '../signaling/tls.ts';
import { serveSignalingOnNode } from '../signaling/runtime/node.ts';
import { startTracing } from '../tracing/node.ts';

/**
 * `npm start`: the embedded default. Signaling, one media-worker and the web app in one process on the
 * in-process bus, listening on 127.0.0.1 unless HOST says otherwise; with NATS_URL set the same process joins
 * a distributed deployment instead (and then mints no dev tokens).
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function main(): Promise<void> {
  // One process needs no shared secret: a random one per start, and dev tokens for the web app's lobby.
  const env = {
    PARLEY_SECRET: crypto.randomUUID() + crypto.randomUUID(),
    PARLEY_DEV_TOKENS: '1',
    ...definedOnly(process.env),
  };
  const nats = natsOptionsFromEnv(env, 'combined');
  const config = signalingConfigFromEnv(env);
  const mediaConfig = mediaConfigFromEnv(env);
  const server = serverConfigFromEnv(env, { host: '127.0.0.1', webRoot: path.join(root, 'web', 'dist') });
  const https = server.https || process.argv.includes('--https');
  const tls = https ? await loadTls(server) : undefined;
  // Every message carries its trace context, so one trace crosses the bus.
  const bus = new TracedBus(await connectBus(nats, 'parley'));
  // One process keeps every tier's spans in one store; joined to a cluster it shares them over the bus.
  const tracing = startTracing({ service: 'parley', relay: nats ? bus : undefined, collect: true });
  const media = await startMediaWorker(bus, mediaConfig);
  if (config.devTokensRefused) console.warn(`[parley] dev tokens are off: ${config.devTokensRefused}`);
  const running = await serveSignalingOnNode({
    bus,
    config,
    tls,
    port: server.port,
    hostname: server.host,
    webRoot: server.webRoot,
    traces: tracing,
  });
  const where = nats ? `NATS ${nats.servers.join(',')}` : 'embedded, in-process bus';
  console.log(`Parley is running: open ${running.url} (${where}; listening on ${server.host})`);

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      void running
        .drain()
        .then(() => media.stop())
        .then(() => bus.close())
        .then(() => tracing.shutdown())
        .finally(() => process.exit(0));
    });
  }
}

/** An empty variable means "the default" (the harness and Compose pass `FOO=`). */
function definedOnly(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => Boolean(entry[1])));
}

main().catch((err: unknown) => {
  console.error(`[parley] ${describeStartupFailure(err)}`);
  process.exit(1);
});
