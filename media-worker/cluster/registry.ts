import type { Bus, KvStore } from '../../bus/bus.ts';
import { MEDIA_PROTOCOL_VERSION, REGISTRY_TTL_MS } from '../../protocol/media.ts';
import type { MediaWorkerLoad } from '../../protocol/media.ts';
import { buckets } from '../../protocol/kv.ts';
import { log, reason } from '../../tracing/log.ts';

export const HEARTBEAT_MS = 2000;

type Load = Omit<MediaWorkerLoad, 'instanceId' | 'version' | 'updatedAt'>;

/** Writes this instance's load into the shared registry until stopped; placement reads only that. */
export class Registry {
  private timer?: ReturnType<typeof setInterval>;
  private kv?: KvStore;

  constructor(
    private bus: Bus,
    private instanceId: string,
    private load: () => Promise<Load>,
  ) {}

  async start(): Promise<void> {
    this.kv = await this.bus.kv(buckets.mediaWorkers, { ttlMs: REGISTRY_TTL_MS });
    await this.beat();
    this.timer = setInterval(() => this.beatNow(), HEARTBEAT_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.kv?.delete(this.instanceId).catch(logFailure);
  }

  /** Writes the current load now, between heartbeats (a failure is logged: the next heartbeat tries again). */
  beatNow(): void {
    void this.beat().catch(logFailure);
  }

  /** Writes the current load now (also used to announce a drain at once). */
  async beat(): Promise<void> {
    const entry: MediaWorkerLoad = {
      instanceId: this.instanceId,
      version: MEDIA_PROTOCOL_VERSION,
      ...(await this.load()),
      updatedAt: Date.now(),
    };
    await this.kv?.put(this.instanceId, entry);
  }
}

function logFailure(err: unknown): void {
  log.error('registry write failed', { error: reason(err) });
}
