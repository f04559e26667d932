import type { Bus, KvStore } from '../bus/bus.ts';
import { KvCache } from '../bus/kv-cache.ts';
import type { AccessClaims, Grants } from '../protocol/auth.ts';
import type { ChatAuthor } from '../protocol/chat.ts';
import { ParleyError } from '../protocol/errors.ts';
import { buckets, moderationKey, roomPartsPrefix } from '../protocol/kv.ts';
import { isCurrent, REGISTRY_TTL_MS, RoomPart } from '../protocol/media.ts';
import { ModerationState } from '../protocol/moderation.ts';
import type { ModerationNotice } from '../protocol/moderation.ts';
import type { Source } from '../protocol/room.ts';
import { inSpan, tracers } from '../tracing/context.ts';
import type { Chat } from './chat.ts';
import type { MediaClient } from './media.ts';

import type { Lobby } from './lobby.ts';
/** Moderation state outlives every removal ban it holds; nobody reads it after that. */
const STATE_TTL_MS = 7 * 24 * 3600_000;
const UPDATE_ATTEMPTS = 5;
/**
 * How long a join or a publish waits for the moderation bucket before it goes by the local copy: the bucket lives
 * in one region, and a cut link to it must not stop the other regions' rooms from taking participants.
 */
const READ_WAIT_MS = 1000;

/** Who a moderation action is aimed at, as presence knows them. */
interface Target {
  peerId: string;
  identity: string;
  displayName: string;
}

/** A moderator acting from a room (the client) or the server (the admin API: no author). */
export type Actor = ChatAuthor | null;

/**
 * What moderators (the `moderator` grant) and the admin API do to a room's participants: mute (the producer is
 * paused on its media worker; a lock keeps its owner from resuming it), remove (they are told why, and their
 * tokens from before the removal are refused in that room for REMOVAL_BAN_S), end the room, change grants.
 * State lives in KV per room and user, so every signaling instance enforces it; the holder of the target's
 * connection hears each change on the room feed. Each action is a span with an event and a chat notice.
 */
export class Moderation {
  private constructor(
    private bus: Bus,
    private media: MediaClient,
    private chat: Chat,
    private states: KvCache<ModerationState>,
    private lobby: Lobby,
    private parts: KvStore,
    private removalBanMs: number,
  ) {}

  static async open(bus: Bus, media: MediaClient, chat: Chat, lobby: Lobby, removalBanMs: number): Promise<Moderation> {
    const kv = await bus.kv(buckets.moderation, { ttlMs: Math.max(STATE_TTL_MS, removalBanMs) });
    const states = await KvCache.open(kv, (value) => ModerationState.safeParse(value).data);
    const parts = await bus.kv(buckets.roomParts, { ttlMs: REGISTRY_TTL_MS });
    return new Moderation(bus, media, chat, states, lobby, parts, removalBanMs);
  }

  async stateOf(roomId: string, identity: string): Promise<ModerationState> {
    return (await this.states.current(moderationKey(roomId, identity), READ_WAIT_MS)) ?? { locks: [] };
  }

  close(): void {
    this.states.close();
  }

  /** A removed user with a token issued before the removal is refused until the ban ends; the reason says why. */
  async admit(claims: AccessClaims, roomId: string): Promise<ModerationState> {
    const state = await this.stateOf(roomId, claims.sub);
    const removal = state.removal;
    if (removal && Date.now() < removal.until && claims.iat * 1000 <= removal.at) {
      throw new ParleyError('REMOVED', removal.reason);
    }
    return state;
  }

  async isLocked(roomId: string, identity: string, source: Source): Promise<boolean> {
    return (await this.stateOf(roomId, identity)).locks.includes(source);
  }

  mute(roomId: string, peerId: string, source: Source, locked: boolean, by: Actor): Promise<void> {
    return this.act('mute', roomId, peerId, by, async (target) => {
      const state = locked
        ? await this.update(roomId, target.identity, (s) => ({ ...s, locks: union(s.locks, source) }))
        : undefined;
      if (state) this.announceState(roomId, target.identity, state);
      await this.pauseProducers(roomId, peerId, source);
      return { action: 'mute', source, locked };
    });
  }

  unlock(roomId: string, peerId: string, source: Source, by: Actor): Promise<void> {
    return this.act('unlock', roomId, peerId, by, async (target) => {
      const state = await this.update(roomId, target.identity, (s) => ({ ...s, locks: s.locks.filter((l) => l !== source) }));
      this.announceState(roomId, target.identity, state);
      return { action: 'unlock', source };
    });
  }

  setGrants(roomId: string, peerId: string, grants: Grants, by: Actor): Promise<void> {
    return this.act('grants', roomId, peerId, by, async (target) => {
      const state = await this.update(roomId, target.identity, (s) => ({ ...s, grants }));
      this.announceState(roomId, target.identity, state);
      return { action: 'grants' };
    });
  }

  remove(roomId: string, peerId: string, reason: string, by: Actor): Promise<void> {
    if (by?.peerId === peerId)
      return Promise.reject(new ParleyError('BAD_REQUEST', 'leave the room instead of removing yourself'));
    return this.act('remove', roomId, peerId, by, async (target) => {
      const at = Date.now();
      await this.update(roomId, target.identity, (s) => ({ ...s, removal: { at, until: at + this.removalBanMs, reason } }));
      this.chat.publishFeed(roomId, {
        type: 'remove',
        peerId,
        removed: { reason, by: by?.displayName ?? null, roomEnded: false },
      });
      await this.bus.flush();
      // The holder of their connection ends the membership; this covers one that is detached or gone.
      await this.leaveMedia(roomId, [peerId]);
      return { action: 'remove', reason };
    });
  }

  /** Everyone out, the chat cleared; resolves with how many were in it. */
  endRoom(roomId: string, reason: string, by: Actor): Promise<number> {
    const attributes = { 'parley.room': roomId, 'parley.moderation.action': 'endRoom' };
    return inSpan(tracers.signaling(), 'moderation endRoom', { attributes }, async (span) => {
      const peers = (await this.roomParts(roomId)).flatMap((part) => part.peers.map((p) => p.id));
      span.addEvent('parley.moderation', {
        action: 'endRoom',
        by: by?.displayName ?? 'server',
        reason,
        participants: peers.length,
      });
      this.chat.publishFeed(roomId, {
        type: 'remove',
        peerId: null,
        removed: { reason, by: by?.displayName ?? null, roomEnded: true },
      });
      await this.bus.flush();
      await this.leaveMedia(roomId, peers);
      await this.chat.clear(roomId);
      return peers.length;
    });
  }

  /** One action on one target: a span with its event, then the notice everyone in the room sees. */
  private act(
    action: ModerationNotice['action'],
    roomId: string,
    peerId: string,
    by: Actor,
    run: (target: Target) => Promise<ModerationNotice>,
  ): Promise<void> {
    const attributes = { 'parley.room': roomId, 'parley.moderation.action': action, 'parley.moderation.target': peerId };
    return inSpan(tracers.signaling(), `moderation ${action}`, { attributes }, async (span) => {
      const target = await this.target(roomId, peerId);
      const notice = await run(target);
      span.addEvent('parley.moderation', {
        action,
        target: target.peerId,
        'target.identity': target.identity,
        by: by?.identity ?? 'server',
        ...(notice.source && { source: notice.source }),
        ...(notice.reason && { reason: notice.reason }),
      });
      await this.chat.notice(roomId, by, { ...notice, target });
    });
  }

  /** A participant of this room (another room's peer ids are not found here). */
  private async target(roomId: string, peerId: string): Promise<Target> {
    const entry = await this.lobby.entry(roomId, peerId);
    if (entry?.roomId !== roomId) throw new ParleyError('NOT_FOUND', `no participant ${peerId} in ${roomId}`);
    return { peerId, identity: entry.identity, displayName: entry.displayName };
  }

  private announceState(roomId: string, identity: string, state: ModerationState): void {
    this.chat.publishFeed(roomId, { type: 'self', identity, locks: state.locks, grants: state.grants });
  }

  /** Read, change, write back; another instance writing in between makes it read again. */
  private async update(
    roomId: string,
    identity: string,
    change: (state: ModerationState) => ModerationState,
  ): Promise<ModerationState> {
    const key = moderationKey(roomId, identity);
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
      const entry = await this.states.kv.get(key);
      const next = change(ModerationState.safeParse(entry?.value ?? {}).data ?? { locks: [] });
      try {
        if (entry) await this.states.kv.update(key, next, entry.revision);
        else await this.states.kv.create(key, next);
        return next;
      } catch (err) {
        if (!(err instanceof ParleyError && err.code === 'CONFLICT')) throw err;
      }
    }
    throw new ParleyError('CONFLICT', 'moderation state kept changing; try again');
  }

  /** Every producer of `source` the peer has, on whichever media worker hosts it. */
  private async pauseProducers(roomId: string, peerId: string, source: Source): Promise<void> {
    for (const part of await this.roomParts(roomId)) {
      for (const producer of part.producers) {
        if (producer.peerId !== peerId || producer.source !== source || producer.paused) continue;
        await this.media.call(part.instanceId, 'pauseProducer', { roomId, peerId, producerId: producer.id });
      }
    }
  }

  private async leaveMedia(roomId: string, peerIds: string[]): Promise<void> {
    const parts = await this.roomParts(roomId);
    await Promise.all(
      peerIds.map(async (peerId) => {
        const part = parts.find((p) => p.peers.some((peer) => peer.id === peerId));
        // Already gone (their holder was quicker): nothing to do.
        if (part) await this.media.call(part.instanceId, 'leave', { roomId, peerId }).catch(() => undefined);
      }),
    );
  }

  /** Read now rather than from a cache: an action must see the producer made a moment ago. */
  private async roomParts(roomId: string): Promise<RoomPart[]> {
    const keys = await this.parts.keys(roomPartsPrefix(roomId));
    const parts = await Promise.all(keys.map(async (key) => RoomPart.safeParse((await this.parts.get(key))?.value).data));
    return parts.filter((p): p is RoomPart => !!p && isCurrent(p));
  }
}

function union(sources: Source[], source: Source): Source[] {
  return sources.includes(source) ? sources : [...sources, source];
}
