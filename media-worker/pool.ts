import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import type { MediaConfig } from './config.ts';
import { resolveWorkerBin } from './worker-bin.ts';

export interface PooledWorker {
  index: number;
  worker: types.Worker;
  webRtcServer: types.WebRtcServer;
  routers: number;
}

/** One mediasoup Worker per core, each with its own WebRtcServer so a host needs only a few open ports. */
export class WorkerPool {
  private workers: PooledWorker[] = [];
  private closed = false;

  constructor(
    private config: MediaConfig,
    private onWorkerDied: (worker: PooledWorker) => void,
  ) {}

  async start(): Promise<void> {
    const workerBin = resolveWorkerBin();
    for (let i = 0; i < this.config.numWorkers; i++) this.workers.push(await this.spawn(i, workerBin));
  }

  /** The worker that should host a new router: the one with the fewest routers. */
  leastLoaded(): PooledWorker {
    const [best] = [...this.workers].sort((a, b) => a.routers - b.routers);
    if (!best) throw new Error('worker pool is empty');
    return best;
  }

  get size(): number {
    return this.workers.length;
  }

  close(): void {
    this.closed = true;
    for (const w of this.workers) w.worker.close();
    this.workers = [];
  }

  private async spawn(index: number, workerBin: string): Promise<PooledWorker> {
    const { config } = this;
    const worker = await mediasoup.createWorker({
      workerBin,
      logLevel: config.logLevel,
      rtcMinPort: config.rtcMinPort,
      rtcMaxPort: config.rtcMaxPort,
    });
    const port = config.portBase ? config.portBase + index : undefined;
    const listen = { ip: config.listenIp, announcedAddress: config.announcedAddress, port };
    const webRtcServer = await worker.createWebRtcServer({
      listenInfos: [
        { ...listen, protocol: 'udp' },
        { ...listen, protocol: 'tcp' },
      ],
    });
    const pooled: PooledWorker = { index, worker, webRtcServer, routers: 0 };
    worker.on('died', (err) => {
      console.error(`[media-worker] mediasoup worker ${worker.pid} died: ${err.message}`);
      this.onWorkerDied(pooled);
      void this.replace(pooled, workerBin);
    });
    return pooled;
  }

  // A dead worker is replaced in place so the pool keeps its size; its rooms are gone with it.
  private async replace(dead: PooledWorker, workerBin: string): Promise<void> {
    if (this.closed) return;
    const fresh = await this.spawn(dead.index, workerBin);
    this.workers = this.workers.map((w) => (w === dead ? fresh : w));
  }
}
