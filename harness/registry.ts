import { connect } from '@nats-io/transport-node';
import { NatsBus } from '../bus/nats.ts';
import { MediaWorkerLoad, REGISTRY_TTL_MS } from '../protocol/media.ts';
import { buckets } from '../protocol/kv.ts';

/** A test's own view of the media-worker registry in a real NATS (what placement reads). */
export class RegistryReader {
  private constructor(readonly bus: NatsBus) {}

  /** `user`: a credential where NATS asks for one (the signaling role's reads the registry, with its inbox prefix). */
  static async open(natsUrl: string, user: { user?: string; pass?: string; inboxPrefix?: string } = {}): Promise<RegistryReader> {
    return new RegistryReader(new NatsBus(await connect({ servers: natsUrl, ...user })));
  }

  async loads(): Promise<MediaWorkerLoad[]> {
    // Opened as the media-workers open it: the first to open the bucket creates it with that TTL.
    const kv = await this.bus.kv(buckets.mediaWorkers, { ttlMs: REGISTRY_TTL_MS });
    const entries = await Promise.all((await kv.keys()).map(async (k) => (await kv.get(k))?.value));
    return entries.filter((v) => v !== undefined && v !== null).map((v) => MediaWorkerLoad.parse(v));
  }

  close(): Promise<void> {
    return this.bus.close();
  }
}
