import type { Bus, KvStore, Subscription } from '../../bus/bus.ts';
import type { AccessClaims } from '../../protocol/auth.ts';
import type { ClientResponseData } from '../../protocol/client.ts';
import { ParleyError } from '../../protocol/errors.ts';
import { LEASE_RENEW_MS, RoomEvent } from '../../protocol/media.ts';
import type { MediaResponse } from '../../protocol/media.ts';
import { PRESENCE_HEARTBEAT_MS, PRESENCE_TTL_MS } from '../../protocol/presence.ts';
import { SessionRecord, Takeover } from '../../protocol/session.ts';
import { buckets, subjects } from '../../protocol/subjects.ts';
import { assertRoom } from '../auth.ts';
import type { SignalingConfig } from '../config.ts';
import { moveToLiveInstance } from './failover.ts';
import type { MediaClient } from '../media.ts';
import { Membership } from './membership.ts';
import type { MemberSocket } from './membership.ts';
import type { Placement } from '../placement.ts';
import type { Lobby } from '../lobby.ts';

type Snapshot = ClientResponseData<'join'>;

/** Close codes a client can act on (4xxx are ours; 1012 is "service restart"). */
export const CLOSE = {
  unauthorized: 4401,
  badVersion: 4400,
  resumedElsewhere: 4409,
  mediaLost: 4410,
  restarting: 1012,
} as const;

/**
 * Every membership this signaling instance holds. A heartbeat keeps their presence entries, session records
 * and media leases alive, ends the ones whose grace ran out, and notices the ones the media worker lost.
 */
export class Memberships {
  private byPeer = new Map<string, Membership>();
  private timers: ReturnType<typeof setInterval>[];
  private takeovers: Subscription;
  /** The bus's stability at the last check, and the members whose view must be compared with the room. */
  private busStable = true;
  private stale = new Set<Membership>();
  private resyncing = new Set<Membership>();

  private constructor(
    private bus: Bus,
    private media: MediaClient,
    private lobby: Lobby,
    private records: KvStore,
    private config: SignalingConfig,
    private placement: Placement,
  ) {
    this.timers = [
      setInterval(() => this.refreshPresence(), PRESENCE_HEARTBEAT_MS),
      // Renewing often is also how a dead media worker is noticed quickly.
      setInterval(() => void this.renewLeases(), LEASE_RENEW_MS),
      setInterval(() => this.checkBus(), BUS_CHECK_MS),
    ];
    this.takeovers = bus.subscribe(subjects.sessionTakeovers, (msg) => this.onTakeover(msg.data));
  }

  static async open(
    bus: Bus,
    media: MediaClient,
    lobby: Lobby,
    config: SignalingConfig,
    placement: Placement,
  ): Promise<Memberships> {
    // Records outlive a crashed instance by the grace period, so its users can resume elsewhere.
    const ttlMs = Math.max(config.graceMs, PRESENCE_TTL_MS);
    return new Memberships(bus, media, lobby, await bus.kv(buckets.sessions, { ttlMs }), config, placement);
  }

  get size(): number {
    return this.byPeer.size;
  }

  async join(
    claims: AccessClaims,
    roomId: string,
    mediaInstanceId: string,
    socket: MemberSocket,
  ): Promise<[Membership, Snapshot]> {
    const resumeToken = randomToken();
    const record = {
      roomId,
      peerId: crypto.randomUUID(),
      mediaInstanceId,
      identity: claims.sub,
      displayName: claims.name,
      grants: claims.grants,
    };
    const membership = new Membership(record, await hashToken(resumeToken));
    await this.listen(membership);
    try {
      const view = await this.media.call(mediaInstanceId, 'join', { roomId, peerId: record.peerId, displayName: claims.name });
      membership.seen.reset(view);
      return [this.adopt(membership, socket), { peerId: record.peerId, resumeToken, ...view }];
    } catch (err) {
      membership.events?.unsubscribe();
      throw err;
    }
  }

  /** Re-attaches a membership by its resume token, whichever instance held it before. */
  async resume(claims: AccessClaims, resumeToken: string, socket: MemberSocket): Promise<[Membership, Snapshot]> {
    const key = await hashToken(resumeToken);
    const local = [...this.byPeer.values()].find((m) => m.recordKey === key);
    const membership = local ?? (await this.fromRecord(key));
    if (membership.record.identity !== claims.sub) throw new ParleyError('FORBIDDEN', 'this session belongs to another user');
    // The token presented now governs: its room must match and its grants replace the old ones.
    assertRoom(claims, membership.roomId);
    membership.record.grants = claims.grants;
    if (!local) {
      await this.listen(membership);
      this.bus.publish(subjects.sessionTakeover(membership.peerId), { peerId: membership.peerId, by: this.config.instanceId });
    }
    let view: MediaResponse<'snapshot'>;
    try {
      view = await this.media.call(membership.record.mediaInstanceId, 'snapshot', {
        roomId: membership.roomId,
        peerId: membership.peerId,
      });
    } catch (err) {
      if (err instanceof ParleyError && err.code === 'NOT_JOINED') {
        await this.end(membership);
        throw new ParleyError('NOT_FOUND', 'the session has ended; join again');
      }
      throw err;
    }
    local?.socket?.close(CLOSE.resumedElsewhere, 'resumed on another connection');
    membership.seen.reset(view);
    return [this.adopt(membership, socket), { peerId: membership.peerId, resumeToken, ...view }];
  }

  /** The connection dropped: keep everything for the grace period, then close it unless resumed. */
  detach(membership: Membership, socket: MemberSocket): void {
    if (membership.socket !== socket) return;
    membership.detach();
    setTimeout(() => {
      const expired = membership.detachedAt !== undefined && this.byPeer.get(membership.peerId) === membership;
      if (expired) void this.leave(membership).catch(logError('grace expiry'));
    }, this.config.graceMs);
  }

  /** The user left: close its media now. */
  async leave(membership: Membership): Promise<void> {
    await this.end(membership);
    const { roomId, peerId, mediaInstanceId } = membership.record;
    await this.media.call(mediaInstanceId, 'leave', { roomId, peerId });
  }

  /** A change the lobby should see now rather than at the next heartbeat. */
  async publishPresence(membership: Membership): Promise<void> {
    await Promise.all([
      this.lobby.put(membership.presence(this.config.instanceId)),
      this.records.put(membership.recordKey, membership.toRecord()),
    ]);
  }

  /** Stops heartbeats; memberships are left to be resumed elsewhere or to expire. */
  close(): void {
    this.timers.forEach(clearInterval);
    this.takeovers.unsubscribe();
    for (const m of this.byPeer.values()) m.events?.unsubscribe();
    this.byPeer.clear();
  }

  private async fromRecord(key: string): Promise<Membership> {
    const entry = await this.records.get(key);
    const record = SessionRecord.safeParse(entry?.value);
    if (!record.success) throw new ParleyError('NOT_FOUND', 'unknown or expired resume token; join again');
    const { producers, ...rest } = record.data;
    return new Membership(rest, key, producers);
  }

  /** Room events flow from before the media call, so nothing between its reply and our subscription is lost. */
  private async listen(membership: Membership): Promise<void> {
    membership.events = this.bus.subscribe(subjects.roomEvents(membership.roomId), (msg) => {
      const event = RoomEvent.safeParse(msg.data);
      if (event.success && membership.onRoomEvent(event.data)) void this.publishPresence(membership).catch(logError('presence'));
    });
    await this.bus.flush();
  }

  private adopt(membership: Membership, socket: MemberSocket): Membership {
    membership.attach(socket);
    this.byPeer.set(membership.peerId, membership);
    void this.publishPresence(membership).catch(logError('presence'));
    return membership;
  }

  private async end(membership: Membership): Promise<void> {
    this.byPeer.delete(membership.peerId);
    membership.events?.unsubscribe();
    await Promise.all([this.lobby.remove(membership.roomId, membership.peerId), this.records.delete(membership.recordKey)]).catch(
      logError('cleanup'),
    );
  }

  private onTakeover(raw: unknown): void {
    const takeover = Takeover.safeParse(raw);
    if (!takeover.success || takeover.data.by === this.config.instanceId) return;
    const membership = this.byPeer.get(takeover.data.peerId);
    if (!membership) return;
    // The new holder renews and rewrites everything; we only let go.
    this.byPeer.delete(membership.peerId);
    membership.events?.unsubscribe();
    membership.socket?.close(CLOSE.resumedElsewhere, 'resumed on another connection');
  }

  /**
   * Room events are plain pub/sub: those published while this instance or the media worker was cut off from
   * NATS are gone (a peer that joined right after a nats-server restart stayed unknown to the others). So when
   * the bus drops, and again once it has settled, each member's view is compared with a snapshot of its room
   * and the client is sent what it missed. A snapshot requested while down goes out on the reconnect.
   */
  private checkBus(): void {
    const stable = this.bus.stable();
    if (stable !== this.busStable) for (const m of this.byPeer.values()) this.stale.add(m);
    this.busStable = stable;
    for (const m of this.stale) if (!this.resyncing.has(m)) void this.resync(m);
  }

  private async resync(membership: Membership): Promise<void> {
    this.resyncing.add(membership);
    try {
      // A detached member gets the whole room in its resume reply instead.
      if (this.byPeer.get(membership.peerId) === membership && membership.socket) {
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

  private refreshPresence(): void {
    for (const m of this.byPeer.values()) void this.publishPresence(m).catch(logError('presence'));
  }

  private async renewLeases(): Promise<void> {
    const byMedia = new Map<string, Membership[]>();
    for (const m of this.byPeer.values()) {
      const list = byMedia.get(m.record.mediaInstanceId) ?? [];
      list.push(m);
      byMedia.set(m.record.mediaInstanceId, list);
    }
    await Promise.all([...byMedia].map(([instanceId, list]) => this.renew(instanceId, list)));
  }

  private async renew(instanceId: string, list: Membership[]): Promise<void> {
    const peers = list.map((m) => ({ roomId: m.roomId, peerId: m.peerId }));
    let unknown: { peerId: string }[];
    try {
      ({ unknown } = await this.renewal(instanceId, peers));
    } catch (err) {
      // No responder: the process is gone. A host that vanished (cable, power) keeps its NATS interest
      // until the server's ping timeout, so a renewal and an immediate retry that both time out count too.
      const gone =
        isCode(err, 'UNAVAILABLE') ||
        (isCode(err, 'TIMEOUT') &&
          !(await this.renewal(instanceId, []).then(
            () => true,
            () => false,
          )));
      if (gone) await this.failover(instanceId, list);
      else logError('lease renewal')(err);
      return;
    }
    for (const ref of unknown) {
      const membership = this.byPeer.get(ref.peerId);
      if (!membership) continue;
      await this.end(membership);
      membership.socket?.close(CLOSE.mediaLost, 'the media server lost this session; join again');
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
      console.warn(
        `[signaling] media worker ${dead} is not answering; not moving its peers (${alternatives.length ? 'bus unsettled' : 'no other media worker'})`,
      );
      return;
    }
    for (const membership of list) {
      try {
        await moveToLiveInstance(membership, dead, { bus: this.bus, media: this.media, placement: this.placement });
        await this.publishPresence(membership);
      } catch (err) {
        logError('failover')(err);
        await this.end(membership);
        membership.socket?.close(CLOSE.mediaLost, 'the media server was lost; join again');
      }
    }
  }
}

/** How often the bus's stability is looked at; a change starts a resync of every member's view. */
const BUS_CHECK_MS = 250;

/** A media worker answers a renewal in milliseconds; one that needs longer is treated as possibly gone. */
const RENEWAL_TIMEOUT_MS = 1000;

function isCode(err: unknown, code: ParleyError['code']): boolean {
  return err instanceof ParleyError && err.code === code;
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

async function hashToken(token: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function logError(what: string) {
  return (err: unknown) => console.error(`[signaling] ${what} failed:`, err instanceof Error ? err.message : err);
}
