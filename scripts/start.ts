import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectBus } from '../bus/connect.ts';
import { TracedBus } from '../tracing/traced-bus.ts';
import { mediaConfigFromEnv } from '../media-worker/config.ts';
import { startMediaWorker } from '../media-worker/service.ts';
import { signalingConfigFromEnv } from '../signaling/config.ts';
import { loadTls, wantsHttps } from '../signaling/tls.ts';
import { serveSignalingOnNode } from '../signaling/runtime/node.ts';
import { startTracing } from '../tracing/node.ts';

/**
 * `npm start`: the embedded default. Signaling, one media-worker and the web app in one process on the
 * in-process bus; with NATS_URL set the same process joins a distributed deployment instead.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const natsUrl = process.env.NATS_URL || undefined;
const embeddedDefaults: Record<string, string> = {
  PARLEY_SECRET: crypto.randomUUID() + crypto.randomUUID(),
  PARLEY_DEV_TOKENS: '1',
};
// Every message carries its trace context, so one trace crosses the bus.
const bus = new TracedBus(await connectBus(natsUrl, 'parley'));
// One process keeps every tier's spans in one store; joined to a cluster it shares them over the bus.
const tracing = startTracing({ service: 'parley', relay: natsUrl ? bus : undefined, collect: true });
const media = await startMediaWorker(bus, mediaConfigFromEnv());
// One process needs no shared secret: a random one per start, and dev tokens for the web app's lobby.
const config = signalingConfigFromEnv((name) => process.env[name] ?? embeddedDefaults[name]);
const server = await serveSignalingOnNode({
  bus,
  config,
  tls: wantsHttps() ? await loadTls() : undefined,
  port: Number(process.env.PORT ?? 3000),
  webRoot: path.join(root, 'web', 'dist'),
  traces: tracing,
});
console.log(`Parley is running: open ${server.url} (${natsUrl ? `NATS ${natsUrl}` : 'embedded, in-process bus'})`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void server
      .drain()
      .then(() => media.stop())
      .then(() => bus.close())
      .then(() => tracing.shutdown())
      .finally(() => process.exit(0));
  });
}
