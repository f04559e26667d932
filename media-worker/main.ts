import { describeStartupFailure, StartupError } from '../config/startup.ts';
import { connectBus } from '../bus/connect.ts';
import { natsOptionsFromEnv } from '../bus/nats-options.ts';
import { TracedBus } from '../tracing/traced-bus.ts';
import { mediaConfigFromEnv } from './config.ts';
import { startMediaWorker } from './service.ts';
import { startTracing } from '../tracing/node.ts';
import { log, setLogService } from '../tracing/log.ts';

setLogService(process.env.OTEL_SERVICE_NAME ?? 'parley-media-worker');

/** The media-worker process of the distributed mode: NATS_URL is required. */
async function main(): Promise<void> {
  const nats = natsOptionsFromEnv(process.env, 'media-worker');
  if (!nats) throw new StartupError('NATS_URL is not set; for a single process use `npm start`');
  const config = mediaConfigFromEnv(process.env);
  // Every message carries its trace context, so one trace crosses the bus.
  const bus = new TracedBus(await connectBus(nats, `media-worker ${config.instanceId}`));
  const tracing = startTracing({ service: 'parley-media-worker', relay: bus });
  const service = await startMediaWorker(bus, config);
  log.info(`${service.instanceId} ready with ${config.numWorkers} worker(s) on ${nats.servers.join(',')}`, {
    instance: service.instanceId,
    region: config.region,
  });

  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      log.info(`${signal}: draining (new rooms go elsewhere)`);
      void service
        .drain(config.drainTimeoutMs)
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
