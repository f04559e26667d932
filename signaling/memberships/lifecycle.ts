import type { Bus, Subscription } from '../../bus/bus.ts';
import type { AccessClaims } from '../../protocol/auth.ts';
import type { ClientResponseData } from '../../protocol/client.ts';
import { CloseCode } from '../../protocol/close-codes.ts';
import { ParleyError } from '../../protocol/errors.ts';
import { LEASE_RENEW_MS } from '../../protocol/media.ts';
import { RoomEvent } from '../../protocol/media.ts';
import type { MediaResponse } from '../../protocol/media.ts';
import { PRESENCE_HEARTBEAT_MS, PRESENCE_TTL_MS } from '../../protocol/presence.ts';
import { MembershipRecord, Takeover } from '../../protocol/membership.ts';
import { subjects } from '../../protocol/subjects.ts';
import { buckets, membershipKey } from '../../protocol/kv.ts';
import { assertRoom } from '../auth.ts';
import type { SignalingConfig } from '../config.ts';
import { logError } from './errors.ts';
import { Leases } from './leases.ts';
import { BUS_CHECK_MS, Resync } from './resync.ts';
import type { MediaClient } from '../media.ts';
import { Membership } from './membership.ts';
import type { MemberSocket } from './membership.ts';
import type { Placement } from '../placement.ts';
import type { Lobby } from '../lobby.ts';
import { RoomSubscriptions } from '../room-subscriptions.ts';
import { RegionalKv } from '../regional-kv.ts';

type Snapshot = ClientResponseData<'join'>;

/**
 * Every membership this signaling instance holds. A heartbeat keeps their presence entries, session records
 * and media leases alive, ends the ones whose grace ran out, and notices the ones the media worker lost.
 */
export class Memberships {
  private byPeer = new Map<string, Membership>();
  private timers: ReturnType<typeof setInterval>[];
  private takeovers: Subscription;
  private resync: Resync;
  private roomEvents: RoomSubscriptions<RoomEvent>;

  private constructor(
    private bus: Bus,
    private media: MediaClient,
    private lobby: Lobby,
    private records: RegionalKv,
    private config: SignalingConfig,
    placement: Placement,
  ) {
    const held = {
      all: () => this.byPeer.values(),
      holds: (m: Membership) => this.byPeer.get(m.peerId) === m,
      byPeer: (peerId: string) => this.byPeer.get(peerId),
      end: (m: Membership) => this.end(m),
      publishPresence: (m: Membership) => this.publishPresence(m),
    };
    const leases = new Leases(bus, media, placement, held);
    this.resync = new Resync(bus, media, held);
    this.roomEvents = new RoomSubscriptions(bus, subjects.roomEvents, (data) => RoomEvent.safeParse(data).data);
    this.timers = [
      setInterval(() => this.refreshPresence(), PRESENCE_HEARTBEAT_MS),
      // Renewing often is also how a dead media worker is noticed quickly.
      setInterval(() => void leases.renewAll(), LEASE_RENEW_MS),
      setInterval(() => this.resync.check(), BUS_CHECK_MS),
    ];
    this.takeovers = bus.subscribe(subjects.membershipTakeovers, (msg) => this.onTakeover(msg.data));
  }

  static async open(
    bus: Bus,
    media: MediaClient,
    lobby: Lobby,
    config: SignalingConfig,
    placement: Placement,
    regions: () => Iterable<string>,
  ): Promise<Memberships> {
    // Records outlive a crashed instance by the grace period, so its users can resume elsewhere.
    const ttlMs = Math.max(config.graceMs, PRESENCE_TTL_MS);
    const records = await RegionalKv.open(bus, buckets.memberships, ttlMs, config.region, regions);
    return new Memberships(bus, media, lobby, records, config, placement);
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
    const membership = new Membership(record, membershipKey(resumeToken));
    await this.listen(membership);
    try {
      const view = await this.media.call(mediaInstanceId, 'join', {
        roomId,
        peerId: record.peerId,
        displayName: claims.name,
        identity: claims.sub,
      });
      // A change heard during the call reached no client yet: compared with the room once the reply is out.
      if (membership.seen.reset(view)) this.resync.request(membership);
      return [this.adopt(membership, socket), { peerId: record.peerId, resumeToken, ...view }];
    } catch (err) {
      membership.events?.unsubscribe();
      throw err;
    }
  }

  /** Re-attaches a membership by its resume token, whichever instance held it before. */
  async resume(claims: AccessClaims, resumeToken: string, socket: MemberSocket): Promise<[Membership, Snapshot]> {
    const key = membershipKey(resumeToken);
    const local = [...this.byPeer.values()].find((m) => m.recordKey === key);
    const [membership, from] = local ? [local, this.config.region] : await this.fromRecord(key);
    if (membership.record.identity !== claims.sub) throw new ParleyError('FORBIDDEN', 'this session belongs to another user');
    // The token presented now governs: its room must match and its grants replace the old ones.
    assertRoom(claims, membership.roomId);
    membership.record.grants = claims.grants;
    if (!local) {
      await this.listen(membership);
      this.bus.publish(subjects.membershipTakeover(membership.peerId), { peerId: membership.peerId, by: this.config.instanceId });
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
    local?.socket?.close(CloseCode.resumedElsewhere, 'resumed on another connection');
    if (membership.seen.reset(view)) this.resync.request(membership);
    // Its records move to this region's buckets (adopt writes them): the other region's copies go.
    if (from !== this.config.region) void this.forget(membership, from).catch(logError('cleanup'));
    return [this.adopt(membership, socket), { peerId: membership.peerId, resumeToken, ...view }];
  }

  /** The connection dropped: keep everything for the grace period, then close it unless resumed. */
  detach(membership: Membership, socket: MemberSocket): void {
    if (membership.socket !== socket) return;
    membership.detach(this.config.graceMs, () => {
      if (this.byPeer.get(membership.peerId) === membership) void this.leave(membership).catch(logError('grace expiry'));
    });
  }

  /**
   * The user left: close its media now. The media leave does not wait for the records to be deleted: in a
   * region cut off from the buckets those deletes can take the store's whole timeout (5 s).
   */
  async leave(membership: Membership): Promise<void> {
    const { roomId, peerId, mediaInstanceId } = membership.record;
    await Promise.all([this.end(membership), this.media.call(mediaInstanceId, 'leave', { roomId, peerId })]);
  }

  /** A change the lobby should see now rather than at the next heartbeat. */
  async publishPresence(membership: Membership): Promise<void> {
    await Promise.all([
      this.lobby.put(membership.presence(this.config.instanceId, this.config.region)),
      this.records.own.put(membership.recordKey, membership.toRecord()),
    ]);
  }

  /**
   * The presence heartbeat: every entry and record written again well within their TTL, unacknowledged: an
   * acknowledged put costs signaling ten times the CPU of a publish, and a lost one is replaced by the next beat.
   */
  private refreshPresence(): void {
    for (const m of this.byPeer.values()) {
      this.lobby.refresh(m.presence(this.config.instanceId, this.config.region));
      this.records.own.refresh(m.recordKey, m.toRecord());
    }
  }

  /** Stops heartbeats; memberships are left to be resumed elsewhere or to expire. */
  close(): void {
    this.timers.forEach(clearInterval);
    this.takeovers.unsubscribe();
    for (const m of this.byPeer.values()) {
      m.events?.unsubscribe();
      m.stopGrace();
    }
    this.byPeer.clear();
  }

  /**
   * The membership of a record key and the region whose bucket holds it: this region's, or, for a session that
   * began in another region, the first other region's that has it. Found nowhere: this region's answer (not found,
   * or its bucket out of reach).
   */
  private async fromRecord(key: string): Promise<[Membership, string]> {
    const read = async (region: string): Promise<[Membership, string]> => {
      const record = MembershipRecord.safeParse((await (await this.records.in(region)).get(key))?.value);
      if (!record.success) throw new ParleyError('NOT_FOUND', 'unknown or expired resume token; join again');
      const { producers, ...rest } = record.data;
      return [new Membership(rest, key, producers), region];
    };
    try {
      return await read(this.config.region);
    } catch (err) {
      return await Promise.any(this.records.others().map(read)).catch(() => {
        throw err;
      });
    }
  }

  /** Deletes a membership's record and presence entry from another region's buckets. */
  private async forget(membership: Membership, region: string): Promise<void> {
    const records = await this.records.in(region);
    await Promise.all([this.lobby.remove(membership.roomId, membership.peerId, region), records.delete(membership.recordKey)]);
  }

  /** Room events flow from before the media call, so nothing between its reply and our subscription is lost. */
  private async listen(membership: Membership): Promise<void> {
    const { subscription, ready } = this.roomEvents.listen(membership.roomId, (event) => {
      if (membership.onRoomEvent(event)) void this.publishPresence(membership).catch(logError('presence'));
      // Events published across a cut link were lost on the way. The media worker says peers are reachable
      // again once it holds their part as it is now, and that news was lost once its copy of a part lists what no
      // event announced: the member's view is compared with the room at once.
      if ((event.type === 'peerReachability' && event.reachable) || event.type === 'newsLost') this.resync.request(membership);
    });
    membership.events = subscription;
    await ready.catch((err: unknown) => {
      subscription.unsubscribe();
      throw err;
    });
  }

  private adopt(membership: Membership, socket: MemberSocket): Membership {
    membership.attach(socket);
    this.byPeer.set(membership.peerId, membership);
    void this.publishPresence(membership).catch(logError('presence'));
    return membership;
  }

  private async end(membership: Membership): Promise<void> {
    this.byPeer.delete(membership.peerId);
    membership.stopGrace();
    membership.events?.unsubscribe();
    await Promise.all([
      this.lobby.remove(membership.roomId, membership.peerId),
      this.records.own.delete(membership.recordKey),
    ]).catch(logError('cleanup'));
  }

  private onTakeover(raw: unknown): void {
    const takeover = Takeover.safeParse(raw);
    if (!takeover.success || takeover.data.by === this.config.instanceId) return;
    const membership = this.byPeer.get(takeover.data.peerId);
    if (!membership) return;
    // The new holder renews and rewrites everything; we only let go.
    this.byPeer.delete(membership.peerId);
    membership.stopGrace();
    membership.events?.unsubscribe();
    membership.socket?.close(CloseCode.resumedElsewhere, 'resumed on another connection');
  }
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}
