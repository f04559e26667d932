import type { Bus } from '../../bus/bus.ts';
import { ParleyError } from '../../protocol/errors.ts';
import { subjects } from '../../protocol/subjects.ts';

/** An answer later than this is a miss: within a region one takes milliseconds, across regions a round trip. */
const PING_TIMEOUT_MS = 1_000;
/** Misses in a row before an instance counts as unreachable: one can be lost to a busy moment. */
const MISSES = 2;

/**
 * Which other media-worker instances answer now. The instances holding parts of our rooms are asked once per
 * sweep; any reply, even an error, is an answer, and a timeout or no responder is a miss. Their peers are
 * still in the room while unreachable (a cut between regions ends), so this is told to clients, not acted on.
 */
export class Reachability {
  private misses = new Map<string, number>();

  constructor(private bus: Bus) {}

  /** Pings each of `instanceIds` once and forgets the others. */
  async probe(instanceIds: Set<string>): Promise<void> {
    for (const id of this.misses.keys()) if (!instanceIds.has(id)) this.misses.delete(id);
    await Promise.all([...instanceIds].map(async (id) => this.misses.set(id, (await this.answers(id)) ? 0 : this.missed(id))));
  }

  reachable(instanceId: string): boolean {
    return (this.misses.get(instanceId) ?? 0) < MISSES;
  }

  private missed(id: string): number {
    return (this.misses.get(id) ?? 0) + 1;
  }

  private answers(instanceId: string): Promise<boolean> {
    return this.bus.request(subjects.mediaCommand(instanceId, 'ping'), {}, { timeoutMs: PING_TIMEOUT_MS }).then(
      () => true,
      (err: unknown) => err instanceof ParleyError && err.code !== 'TIMEOUT' && err.code !== 'UNAVAILABLE',
    );
  }
}
