import type { Bus } from '../bus/bus.ts';
import { EventLog } from '../bus/event-log.ts';
import { MediaCommands } from './sfu/commands.ts';
import { Federation } from './cluster/federation.ts';
import type { MediaConfig } from './config.ts';
import { serveMetrics } from './metrics.ts';
import { WorkerPool } from './sfu/pool.ts';
import { Registry } from './cluster/registry.ts';

export interface MediaWorkerService {
  instanceId: string;
  /** SIGTERM: take no new rooms, wait for the current ones to empty (or the timeout), then stop. */
  drain(timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the media plane on a bus: the worker pool, its command handlers, its registry heartbeat and metrics. */
export async function startMediaWorker(bus: Bus, config: MediaConfig): Promise<MediaWorkerService> {
  const pool = new WorkerPool(config);
  const federation = await Federation.open(bus, config.instanceId, config.region, {
    ip: config.pipeListenIp,
    announcedAddress: config.pipeAnnouncedAddress,
  });
  const events = await EventLog.open(bus);
  const commands = new MediaCommands(bus, pool, config.instanceId, config.maxPeersPerRoom, federation, events);
  pool.onWorkerReplaced = (dead) => void commands.recoverFrom(dead);
  await pool.start();
  commands.listen();
  const load = async () => ({
    region: config.region,
    workers: pool.all.length,
    ...(await commands.counts()),
    load: pool.load,
    capacity: pool.all.length * config.maxConsumersPerWorker,
    pipeAddress: config.pipeAnnouncedAddress,
    draining: commands.draining,
    perWorker: await pool.usage(),
  });
  const registry = new Registry(bus, config.instanceId, load);
  await registry.start();
  pool.onFull = () => registry.beatNow();
  const metrics = config.metricsPort
    ? await serveMetrics(config.metricsPort, config.instanceId, load, commands.health)
    : undefined;

  const stop = async () => {
    metrics?.close();
    await registry.stop();
    federation.close();
    await commands.close();
    events.close();
    pool.close();
  };
  return {
    instanceId: config.instanceId,
    async drain(timeoutMs) {
      commands.draining = true;
      await registry.beat();
      const deadline = Date.now() + timeoutMs;
      while (commands.roomCount > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      await stop();
    },
    stop,
  };
}
