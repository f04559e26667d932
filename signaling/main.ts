import { connectBus } from '../bus/connect.ts';
import { TracedBus } from '../tracing/traced-bus.ts';
import { signalingConfigFromEnv } from './config.ts';
import { loadTls, wantsHttps } from './tls.ts';
import { serveSignalingOnNode } from './runtime/node.ts';
import { startTracing } from '../tracing/node.ts';

/** The signaling process of the distributed mode on Node: NATS_URL is required. */
const natsUrl = process.env.NATS_URL;
if (!natsUrl) {
  console.error('[signaling] NATS_URL is not set; for a single process use `npm start`');
  process.exit(1);
}
const config = signalingConfigFromEnv((name) => process.env[name]);
// Every message carries its trace context, so one trace crosses the bus.
const bus = new TracedBus(await connectBus(natsUrl, `signaling ${config.instanceId}`));
const tracing = startTracing({ service: 'parley-signaling', relay: bus, collect: true });
const server = await serveSignalingOnNode({
  bus,
  config,
  tls: wantsHttps() ? await loadTls() : undefined,
  port: Number(process.env.PORT ?? 3000),
  webRoot: process.env.WEB_ROOT,
  traces: tracing,
});
console.log(`[signaling] listening on ${server.url} (NATS ${natsUrl}, instance ${config.instanceId})`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void server
      .drain()
      .then(() => tracing.shutdown())
      .then(() => bus.close())
      .finally(() => process.exit(0));
  });
}
