import type { Bus } from '../../bus/bus.ts';
import { CloseCode } from '../../protocol/close-codes.ts';
import { buckets, roomPartKey } from '../../protocol/kv.ts';
import { MAX_LEASES_PER_RENEWAL } from '../../protocol/limits.ts';
import { REGISTRY_TTL_MS } from '../../protocol/media.ts';
import type { RoomEvent } from '../../protocol/media.ts';
import { subjects } from '../../protocol/subjects.ts';
import type { MediaClient } from '../media.ts';
import type { Placement } from '../placement.ts';
import { isCode, logError } from './errors.ts';
import type { Membership } from './membership.ts';
import { log } from '../../tracing/log.ts';

/** A media worker answers a renewal in milliseconds; one that needs longer is treated as possibly gone. */
const RENEWAL_TIMEOUT_MS = 1000;
/** A renewal still unanswered this long is followed by a second, empty one (see `renew`). */
const PROBE_AFTER_MS = 500;

/** What lease renewal needs of the memberships it renews. */
export interface LeaseHolder {
  all(): Iterable<Membership>;
  byPeer(peerId: string): Membership | undefined;
  /** Drops a membership this instance can no longer keep (its presence and record too). */
  end(membership: Membership): Promise<void>;
  publishPresence(membership: Membership): Promise<void>;
}

/**
 * Keeps every held peer alive on its media worker (which closes peers nobody renews) and notices the worker's
 * death from the renewals: then the peers move to a live instance and rebuild their media (`mediaReset`).
 */
export class Leases {
  /**
   * Memberships on their way to a live instance. Renewal rounds start every second and a failover can outlast one
   * (joins on the new instance, under load), so a later round must neither renew them against the dead instance nor move
   * them a second time (the second join would fail and end the membership).
   */
  private moving = new Set<Membership>();

  constructor(
    private bus: Bus,
    private media: MediaClient,
    private placement: Placement,
    private holder: LeaseHolder,
  ) {}

  async renewAll(): Promise<void> {
    const byMedia = new Map<string, Membership[]>();
    for (const m of this.holder.all()) {
      if (this.moving.has(m)) continue;
      const list = byMedia.get(m.record.mediaInstanceId) ?? [];
      list.push(m);
      byMedia.set(m.record.mediaInstanceId, list);
    }
    await Promise.all([...byMedia].map(([instanceId, list]) => this.renew(instanceId, list)));
  }

  private async renew(instanceId: string, list: Membership[]): Promise<void> {
    const peers = list.map((m) => ({ roomId: m.roomId, peerId: m.peerId }));
    const unknown: { peerId: string }[] = [];
    // No responder: the process is gone. A host that vanished (cable, power) keeps its NATS interest until the
    // server's ping timeout, so silence has to show it: a second request goes out half-way through the first's
    // wait, and the instance is gone when both time out (1.5 s of silence; one lost message is not enough).
    let probe: Promise<boolean> | undefined;
    const probing = setTimeout(() => (probe = this.media.answers(instanceId)), PROBE_AFTER_MS);
    try {
      // In batches, so that a request stays well under NATS's max payload however many peers we hold.
      for (let i = 0; i < peers.length || i === 0; i += MAX_LEASES_PER_RENEWAL) {
        unknown.push(...(await this.renewal(instanceId, peers.slice(i, i + MAX_LEASES_PER_RENEWAL))).unknown);
      }
    } catch (err) {
      const gone = isCode(err, 'UNAVAILABLE') || (isCode(err, 'TIMEOUT') && !(await (probe ?? this.media.answers(instanceId))));
      if (gone) await this.failover(instanceId, list);
      else logError('lease renewal')(err);
      return;
    } finally {
      clearTimeout(probing);
    }
    for (const ref of unknown) {
      const membership = this.holder.byPeer(ref.peerId);
      if (!membership) continue;
      await this.holder.end(membership);
      membership.socket?.close(CloseCode.mediaLost, 'the media server lost this session; join again');
    }
  }

  private renewal(instanceId: string, peers: { roomId: string; peerId: string }[]) {
    return this.media.call(instanceId, 'renewLeases', { peers }, undefined, RENEWAL_TIMEOUT_MS);
  }

  private async failover(dead: string, list: Membership[]): Promise<void> {
    // During a NATS outage or right after it every instance looks dead; and with nowhere to go, moving
    // would only end memberships that may well recover. Either way: wait, the leases are still running.
    const alternatives = (await this.placement.liveInstances()).filter((w) => w.instanceId !== dead && !w.draining);
    if (!this.bus.stable() || alternatives.length === 0) {
      const why = alternatives.length ? 'bus unsettled' : 'no other media worker';
      log.warn('media worker not answering; not moving its peers', { instance: dead, why });
      return;
    }
    this.placement.markDead(dead);
    // Another round may be moving some, or have moved them, since this list was made. The rest move at once:
    // every second here is a second of black tiles.
    const mine = list.filter((m) => !this.moving.has(m) && m.record.mediaInstanceId === dead);
    mine.forEach((m) => this.moving.add(m));
    await Promise.all(mine.map((m) => this.move(m, dead)));
  }

  private async move(membership: Membership, dead: string): Promise<void> {
    try {
      await this.moveToLiveInstance(membership, dead);
      await this.holder.publishPresence(membership);
    } catch (err) {
      logError('failover')(err);
      await this.holder.end(membership);
      membership.socket?.close(CloseCode.mediaLost, 'the media server was lost; join again');
    } finally {
      this.moving.delete(membership);
    }
  }

  /**
   * The media-worker instance holding a membership is gone (its subject has no responders). Its producers
   * died with it, so the room is told they closed (the dead instance cannot say so), the peer joins a live
   * instance under the same id, and its client rebuilds transports from `mediaReset`: no rejoin, no leave.
   */
  private async moveToLiveInstance(membership: Membership, dead: string): Promise<void> {
    const { roomId, peerId, displayName, identity } = membership.record;
    for (const producerId of membership.producers.keys()) {
      const event: RoomEvent = { type: 'producerClosed', roomId, producerId, peerId };
      this.bus.publish(subjects.roomEvents(roomId), event);
    }
    membership.producers.clear();
    // Its share of the room would otherwise be offered to others until the part's TTL runs out.
    await (await this.bus.kv(buckets.roomParts, { ttlMs: REGISTRY_TTL_MS })).delete(roomPartKey(roomId, dead));
    // In the region it was in (the client may have asked for that one: the region it reaches fastest).
    const host = await this.placement.hostFor(roomId, this.placement.regionOf(dead));
    const view = await this.media.call(host, 'join', { roomId, peerId, displayName, identity });
    membership.record.mediaInstanceId = host;
    membership.socket?.notify({ notification: 'mediaReset', data: { producers: view.producers } });
    log.warn('moved a peer off a dead media worker', { peer: peerId, room: roomId, from: dead, to: host });
  }
}
