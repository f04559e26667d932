import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import type { MediaConfig } from '../config.ts';
import { IDLE_CONSUMER_WEIGHT } from '../../protocol/media.ts';
import { resolveWorkerBin } from './worker-bin.ts';
import { log } from '../../tracing/log.ts';

export interface PooledWorker {
  index: number;
  worker: types.Worker;
  webRtcServer: types.WebRtcServer;
  /** The address browsers reach (the WebRtcServer's), for load testers' plain transports too. */
  listen: { ip: string; announcedAddress?: string };
  routers: number;
  consumers: number;
  /** Of those, paused ones (by their viewer, or by their producer's pause): they forward nothing. */
  idle: number;
}

/** A worker's consumers weighed against its budget (see IDLE_CONSUMER_WEIGHT), to a tenth. */
export function workerLoad(w: Pick<PooledWorker, 'consumers' | 'idle'>): number {
  return Math.round((w.consumers - w.idle + w.idle * IDLE_CONSUMER_WEIGHT) * 10) / 10;
}

/** One mediasoup Worker per core, each with its own WebRtcServer so a host needs only a few open ports. */
export class WorkerPool {
  private workers: PooledWorker[] = [];
  private closed = false;
  private workerBin = '';
  private lastCpu = new Map<number, { cpuMs: number; at: number }>();

  /** Called once a dead worker has been replaced, so its rooms can move to live ones. */
  onWorkerReplaced: (dead: PooledWorker) => void = () => undefined;
  /**
   * Called when the pool's load reaches its capacity: placement sends new participants elsewhere only once
   * the registry says so, and a room filling up within one heartbeat would overshoot it.
   */
  onFull: () => void = () => undefined;

  constructor(private config: MediaConfig) {}

  async start(): Promise<void> {
    this.workerBin = resolveWorkerBin();
    for (let i = 0; i < this.config.numWorkers; i++) this.workers.push(await this.spawn(i));
  }

  /** The worker that should take new work: the one with the lowest load, then hosting the fewest routers. */
  leastLoaded(except?: PooledWorker): PooledWorker {
    const candidates = this.workers.filter((w) => w !== except);
    const [best] = candidates.sort((a, b) => workerLoad(a) - workerLoad(b) || a.routers - b.routers);
    if (!best) throw new Error('worker pool is empty');
    return best;
  }

  /**
   * Counts a consumer just created on `worker` (paused, as every consumer starts) until it closes, idle whenever
   * it or its producer is paused: mediasoup's observer tells exactly those changes.
   */
  countConsumer(worker: PooledWorker, consumer: Pick<types.Consumer, 'observer'>): void {
    let idle = true;
    const setIdle = (now: boolean) =>
      this.change(() => {
        worker.idle += now ? 1 : -1;
        idle = now;
      });
    this.change(() => {
      worker.consumers++;
      worker.idle++;
    });
    consumer.observer.on('pause', () => setIdle(true));
    consumer.observer.on('resume', () => setIdle(false));
    consumer.observer.once('close', () => {
      worker.consumers--;
      if (idle) worker.idle--;
    });
  }

  /** Whether this worker can take another participant's consumers. */
  hasRoom(worker: PooledWorker): boolean {
    return workerLoad(worker) < this.config.maxConsumersPerWorker;
  }

  /** The pool's load: its workers' consumers weighed against their budget. */
  get load(): number {
    return Math.round(this.workers.reduce((n, w) => n + workerLoad(w) * 10, 0)) / 10;
  }

  private change(apply: () => void): void {
    const capacity = this.workers.length * this.config.maxConsumersPerWorker;
    const before = this.load;
    apply();
    if (before < capacity && this.load >= capacity) this.onFull();
  }

  /** Per-worker figures for the registry; CPU is the share of one core since the previous call. */
  async usage() {
    const now = performance.now();
    return Promise.all(
      this.workers
        .filter((w) => !w.worker.closed)
        .map(async (w) => {
          const ru = await w.worker.getResourceUsage();
          const cpuMs = ru.ru_utime + ru.ru_stime;
          const last = this.lastCpu.get(w.worker.pid);
          this.lastCpu.set(w.worker.pid, { cpuMs, at: now });
          const cpu = last && now > last.at ? (cpuMs - last.cpuMs) / (now - last.at) : 0;
          return {
            index: w.index,
            pid: w.worker.pid,
            routers: w.routers,
            consumers: w.consumers,
            load: workerLoad(w),
            cpu: Math.round(cpu * 1000) / 1000,
          };
        }),
    );
  }

  get all(): readonly PooledWorker[] {
    return this.workers;
  }

  close(): void {
    this.closed = true;
    for (const w of this.workers) w.worker.close();
    this.workers = [];
  }

  private async spawn(index: number): Promise<PooledWorker> {
    const { config } = this;
    const worker = await mediasoup.createWorker({
      workerBin: this.workerBin,
      logLevel: config.logLevel,
      rtcMinPort: config.rtcMinPort,
      rtcMaxPort: config.rtcMaxPort,
    });
    keepThroughSignals(worker);
    const port = config.portBase ? config.portBase + index : undefined;
    const listen = { ip: config.listenIp, announcedAddress: config.announcedAddress, port };
    const webRtcServer = await worker.createWebRtcServer({
      listenInfos: [
        { ...listen, protocol: 'udp' },
        { ...listen, protocol: 'tcp' },
      ],
    });
    const pooled: PooledWorker = {
      index,
      worker,
      webRtcServer,
      listen: { ip: listen.ip, announcedAddress: listen.announcedAddress },
      routers: 0,
      consumers: 0,
      idle: 0,
    };
    worker.on('died', (err) => {
      log.error('mediasoup worker died; replacing it', { pid: worker.pid, error: err.message });
      void this.replace(pooled);
    });
    return pooled;
  }

  // The replacement takes the dead worker's slot (and port) before rooms move, so they have somewhere to go.
  private async replace(dead: PooledWorker): Promise<void> {
    if (this.closed) return;
    this.workers = this.workers.filter((w) => w !== dead);
    this.workers.push(await this.spawn(dead.index));
    this.workers.sort((a, b) => a.index - b.index);
    this.onWorkerReplaced(dead);
  }
}

/**
 * mediasoup closes every worker when the process gets SIGINT or SIGTERM. A draining instance must keep
 * forwarding until its rooms empty, so our own handler (main.ts) decides when workers close.
 */
function keepThroughSignals(worker: types.Worker): void {
  const onSignal = (worker as unknown as { onSignal?: (signal: string) => void }).onSignal;
  if (!onSignal) return;
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
}
