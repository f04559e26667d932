import { connectBus } from '../bus/connect.ts';
import { TracedBus } from '../tracing/traced-bus.ts';
import { mediaConfigFromEnv } from './config.ts';
import { startMediaWorker } from './service.ts';
import { startTracing } from '../tracing/node.ts';
import { log, setLogService } from '../tracing/log.ts';

setLogService(process.env.OTEL_SERVICE_NAME ?? 'parley-media-worker');

/** The media-worker process of the distributed mode: NATS_URL is required. */
const natsUrl = process.env.NATS_URL;
if (!natsUrl) {
  log.error('NATS_URL is not set; for a single process use `npm start`');
  process.exit(1);
}
const config = mediaConfigFromEnv();
// Every message carries its trace context, so one trace crosses the bus.
const bus = new TracedBus(await connectBus(natsUrl, `media-worker ${config.instanceId}`));
const tracing = startTracing({ service: 'parley-media-worker', relay: bus });
const service = await startMediaWorker(bus, config);
log.info(`${service.instanceId} ready with ${config.numWorkers} worker(s) on ${natsUrl}`, { instance: service.instanceId });

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: draining (new rooms go elsewhere)`);
    void service
      .drain(Number(process.env.DRAIN_TIMEOUT_MS ?? 30_000))
      .then(() => tracing.shutdown())
      .then(() => bus.close())
      .finally(() => process.exit(0));
  });
}
