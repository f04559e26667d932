import type { Subscription } from '../bus/bus.ts';
import { mayChat } from '../protocol/auth.ts';
import type { AccessClaims, Grants } from '../protocol/auth.ts';
import type { ClientNotification, ClientRequestData } from '../protocol/client.ts';
import { chatOperations } from '../protocol/chat.ts';
import { ParleyError } from '../protocol/errors.ts';
import type { RoomFeedItem } from '../protocol/feed.ts';
import { moderationOperations } from '../protocol/moderation.ts';
import type { ModerationState, SelfState } from '../protocol/moderation.ts';
import type { Source } from '../protocol/room.ts';
import type { Chat } from './chat.ts';
import type { CommunityConfig } from './community-config.ts';
import { RateLimiter } from './limits.ts';
import type { MediaClient } from './media.ts';
import type { Membership } from './memberships/membership.ts';
import type { Moderation } from './moderation.ts';
import type { RoomRegistry } from './room-registry.ts';
import type { RoomSubscriptions } from './room-subscriptions.ts';

export type CommunityMethod = keyof typeof chatOperations | keyof typeof moderationOperations;
const communityMethods = new Set<string>([...Object.keys(chatOperations), ...Object.keys(moderationOperations)]);

export function isCommunityMethod(method: string): method is CommunityMethod {
  return communityMethods.has(method);
}

/** What every session of this instance shares. */
export interface CommunityServices {
  /** Each room's feed (chat, moderation), one subscription per room on this instance. */
  feeds: RoomSubscriptions<RoomFeedItem>;
  media: MediaClient;
  chat: Chat;
  moderation: Moderation;
  rooms: RoomRegistry;
  config: CommunityConfig;
}

/** What a session needs of its connection. */
export interface SessionHost {
  claims: AccessClaims;
  notify(notification: ClientNotification): void;
  /** A moderator removed this participant (or ended the room): end the membership; the client was told. */
  endMembership(): Promise<void>;
}

export function assertChat(grants: Grants): void {
  if (!mayChat(grants)) throw new ParleyError('FORBIDDEN', 'this token may not chat');
}

export function assertModerate(grants: Grants): void {
  if (!grants.moderator) throw new ParleyError('FORBIDDEN', 'this needs the moderator grant');
}

/**
 * Chat and moderation for one client connection: follows its room's feed while joined, enforces what
 * moderators decided (changed grants, locked sources, removal), and runs the chat and moderator methods.
 */
export class CommunitySession {
  private membership?: Membership;
  private feed?: Subscription;
  private locks = new Set<Source>();
  private limiter: RateLimiter;
  private admitted?: { roomId: string; state: ModerationState };

  constructor(
    private services: CommunityServices,
    private host: SessionHost,
  ) {
    this.limiter = new RateLimiter(services.config.chat.ratePerSecond, services.config.chat.rateBurst);
  }

  /** Before a join: a removed user is refused here, with the moderator's reason. */
  async admit(roomId: string): Promise<void> {
    this.admitted = { roomId, state: await this.services.moderation.admit(this.host.claims, roomId) };
  }

  /**
   * After a join or resume: the moderation state applies (a resume's token is checked again), the room's
   * feed is followed, and the room is on record. Resolves with what the snapshot tells the client of itself.
   */
  async attach(membership: Membership, joined: boolean): Promise<SelfState> {
    const { roomId } = membership;
    // A join was admitted a moment ago; a resume is checked now (its token may be another one).
    const admitted = joined && this.admitted?.roomId === roomId ? this.admitted.state : undefined;
    this.admitted = undefined;
    const state = admitted ?? (await this.services.moderation.admit(this.host.claims, roomId));
    if (state.grants) membership.record.grants = state.grants;
    this.locks = new Set(state.locks);
    this.membership = membership;
    this.feed?.unsubscribe();
    this.feed = this.services.feeds.listen(roomId, (item) => this.onFeed(item)).subscription;
    if (joined) await this.recordStart(roomId);
    return this.self(membership);
  }

  /**
   * A join into a room this instance's copy shows running needs no write and no read: a record finished at the
   * same moment (the copy a few milliseconds behind) is noticed by the sweep, which starts the room again
   * (RoomRegistry: an occupied room without a record). A room's first join waits, so it is on record before
   * anyone is in it.
   */
  private async recordStart(roomId: string): Promise<void> {
    // While the bucket is out of reach (a cut link to its region) the room goes unrecorded for now: the sweep
    // records it once presence shows it occupied.
    if (this.services.rooms.get(roomId) === undefined && this.services.rooms.reachable)
      await this.services.rooms.start(roomId, 'join');
  }

  detach(): void {
    this.feed?.unsubscribe();
    this.feed = undefined;
    this.membership = undefined;
  }

  run(method: CommunityMethod, data: unknown): Promise<unknown> {
    const membership = this.membership;
    if (!membership) throw new ParleyError('NOT_JOINED', `${method} needs a joined room`);
    const { roomId, peerId, identity, displayName } = membership.record;
    const moderation = this.services.moderation;
    const by = { peerId, identity, displayName };
    switch (method) {
      case 'sendChat':
        return this.sendChat(membership, (data as ClientRequestData<'sendChat'>).text);
      case 'chatHistory':
        return this.services.chat
          .history(roomId, (data as ClientRequestData<'chatHistory'>).afterSeq)
          .then((messages) => ({ messages }));
      case 'muteParticipant': {
        const r = data as ClientRequestData<'muteParticipant'>;
        return moderation.mute(roomId, r.peerId, r.source, r.locked, by).then(() => ({}));
      }
      case 'unlockParticipant': {
        const r = data as ClientRequestData<'unlockParticipant'>;
        return moderation.unlock(roomId, r.peerId, r.source, by).then(() => ({}));
      }
      case 'removeParticipant': {
        const r = data as ClientRequestData<'removeParticipant'>;
        return moderation.remove(roomId, r.peerId, r.reason, by).then(() => ({}));
      }
      case 'endRoom': {
        const reason = (data as ClientRequestData<'endRoom'>).reason ?? `${displayName} ended the room`;
        return moderation
          .endRoom(roomId, reason, by)
          .then(() => this.services.rooms.finish(roomId))
          .then(() => ({}));
      }
    }
  }

  /** Before a producer change goes to the media worker: a locked source cannot be resumed. */
  async guard(method: string, data: unknown): Promise<void> {
    const membership = this.membership;
    if (method !== 'resumeProducer' || !membership) return;
    const source = membership.producers.get((data as ClientRequestData<'resumeProducer'>).producerId)?.source;
    if (source && (await this.services.moderation.isLocked(membership.roomId, membership.record.identity, source))) {
      throw new ParleyError('FORBIDDEN', `your ${source} was muted by a moderator`);
    }
  }

  /** A new producer of a locked source starts paused (its owner's client pauses its side too). */
  async produced(source: Source, producerId: string): Promise<void> {
    const membership = this.membership;
    if (!membership || !(await this.services.moderation.isLocked(membership.roomId, membership.record.identity, source))) return;
    await this.pause(membership, producerId);
  }

  private async sendChat(membership: Membership, text: string) {
    if (!this.limiter.tryTake()) {
      const { ratePerSecond, rateBurst } = this.services.config.chat;
      throw new ParleyError('RATE_LIMITED', `chat is limited to ${rateBurst} messages at once and ${ratePerSecond} a second`);
    }
    const { roomId, peerId, identity, displayName } = membership.record;
    const message = await this.services.chat.send(roomId, { kind: 'text', from: { peerId, identity, displayName }, text });
    return { message };
  }

  private onFeed(feed: RoomFeedItem): void {
    const membership = this.membership;
    if (!membership) return;
    if (feed.type === 'chat') return this.host.notify({ notification: 'chat', data: feed.message });
    if (feed.type === 'self') {
      if (feed.identity === membership.record.identity) void this.apply(membership, feed.locks, feed.grants);
      return;
    }
    if (feed.peerId !== null && feed.peerId !== membership.peerId) return;
    this.host.notify({ notification: 'removed', data: feed.removed });
    void this.host.endMembership().catch(() => undefined);
  }

  /** A moderator changed our locks or grants: pause what is locked, close what is no longer allowed. */
  private async apply(membership: Membership, locks: Source[], grants: Grants | undefined): Promise<void> {
    this.locks = new Set(locks);
    if (grants) membership.record.grants = grants;
    this.host.notify({ notification: 'self', data: this.self(membership) });
    const allowed = membership.record.grants;
    for (const [producerId, producer] of membership.producers) {
      const permitted = allowed.canPublish && allowed.sources.includes(producer.source);
      if (!permitted) await this.closeProducer(membership, producerId);
      else if (this.locks.has(producer.source) && !producer.paused) await this.pause(membership, producerId);
    }
  }

  private self(membership: Membership): SelfState {
    return { grants: membership.record.grants, locks: [...this.locks] };
  }

  private async pause(membership: Membership, producerId: string): Promise<void> {
    const { roomId, peerId, mediaInstanceId } = membership.record;
    await this.services.media.call(mediaInstanceId, 'pauseProducer', { roomId, peerId, producerId }).catch(() => undefined);
    const producer = membership.producers.get(producerId);
    if (producer) producer.paused = true;
  }

  private async closeProducer(membership: Membership, producerId: string): Promise<void> {
    const { roomId, peerId, mediaInstanceId } = membership.record;
    await this.services.media.call(mediaInstanceId, 'closeProducer', { roomId, peerId, producerId }).catch(() => undefined);
    membership.producers.delete(producerId);
  }
}
