import type { Bus } from '../bus/bus.ts';
import { MediaCommands } from './commands.ts';
import type { MediaConfig } from './config.ts';
import { WorkerPool } from './pool.ts';
import { Registry } from './registry.ts';

export interface MediaWorkerService {
  instanceId: string;
  stop(): Promise<void>;
}

/** Starts the media plane on a bus: the worker pool, its command handlers and its registry heartbeat. */
export async function startMediaWorker(bus: Bus, config: MediaConfig): Promise<MediaWorkerService> {
  const pool = new WorkerPool(config, (dead) => commands.dropRoomsOn(dead));
  const commands = new MediaCommands(bus, pool, config.instanceId, config.maxPeersPerRoom);
  await pool.start();
  commands.listen();
  const registry = new Registry(bus, config.instanceId, async () => ({
    workers: pool.size,
    ...(await commands.counts()),
  }));
  await registry.start();
  return {
    instanceId: config.instanceId,
    async stop() {
      await registry.stop();
      await commands.close();
      pool.close();
    },
  };
}
