import { LEASE_TTL_MS } from '../../protocol/media.ts';

export interface PeerRef {
  roomId: string;
  peerId: string;
}

/**
 * When each peer was last vouched for by a signaling instance. A peer nobody renews (its instance died, or
 * its resume grace ended without a leave reaching us) is closed, so no transport outlives its user.
 */
export class Leases {
  private renewedAt = new Map<string, { ref: PeerRef; at: number }>();

  constructor(private ttlMs = LEASE_TTL_MS) {}

  touch(ref: PeerRef, now = Date.now()): void {
    this.renewedAt.set(key(ref), { ref, at: now });
  }

  drop(ref: PeerRef): void {
    this.renewedAt.delete(key(ref));
  }

  has(ref: PeerRef): boolean {
    return this.renewedAt.has(key(ref));
  }

  /** Removes and returns the peers whose lease ran out. */
  takeExpired(now = Date.now()): PeerRef[] {
    const expired: PeerRef[] = [];
    for (const [k, { ref, at }] of this.renewedAt) {
      if (now - at <= this.ttlMs) continue;
      this.renewedAt.delete(k);
      expired.push(ref);
    }
    return expired;
  }
}

function key({ roomId, peerId }: PeerRef): string {
  return `${roomId}/${peerId}`;
}
