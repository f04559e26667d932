import type { Bus } from '../../bus/bus.ts';
import type { MediaClient } from '../media.ts';
import { isCode } from './errors.ts';
import type { Membership } from './membership.ts';

/** How often the bus's stability is looked at; a change starts a resync of every member's view. */
export const BUS_CHECK_MS = 250;

/**
 * Room events are plain pub/sub: those published while this instance or the media worker was cut off from
 * NATS are gone (a peer that joined right after a nats-server restart stayed unknown to the others). So when
 * the bus drops, and again once it has settled, each member's view is compared with a snapshot of its room
 * and the client is sent what it missed. A snapshot requested while down goes out on the reconnect.
 */
export class Resync {
  /** The bus's stability at the last check, and the members whose view must be compared with the room. */
  private busStable = true;
  private stale = new Set<Membership>();
  private resyncing = new Set<Membership>();

  constructor(
    private bus: Bus,
    private media: MediaClient,
    /** The members held now; one no longer held is not resynced. */
    private held: { all(): Iterable<Membership>; holds(m: Membership): boolean },
  ) {}

  /** The room may have changed out of this instance's sight (a link between regions is back): compare it soon. */
  request(membership: Membership): void {
    this.stale.add(membership);
  }

  check(): void {
    const stable = this.bus.stable();
    if (stable !== this.busStable) for (const m of this.held.all()) this.stale.add(m);
    this.busStable = stable;
    for (const m of this.stale) if (!this.resyncing.has(m)) void this.resync(m);
  }

  private async resync(membership: Membership): Promise<void> {
    this.resyncing.add(membership);
    try {
      // A detached member gets the whole room in its resume reply instead.
      if (this.held.holds(membership) && membership.socket) {
        const { roomId, peerId, mediaInstanceId } = membership.record;
        const view = await this.media.call(mediaInstanceId, 'snapshot', { roomId, peerId });
        for (const event of membership.seen.missed(view)) membership.onRoomEvent(event);
      }
      this.stale.delete(membership);
    } catch (err) {
      // Still out of reach: try again at the next check. Other failures are the lease renewal's to act on.
      if (!isCode(err, 'TIMEOUT') && !isCode(err, 'UNAVAILABLE')) this.stale.delete(membership);
    } finally {
      this.resyncing.delete(membership);
    }
  }
}
