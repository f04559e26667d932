import type { Subscription } from '../bus/bus.ts';
import type { ClientNotification } from '../protocol/client.ts';
import type { RoomEvent } from '../protocol/media.ts';
import type { PresenceEntry } from '../protocol/presence.ts';
import type { Source } from '../protocol/sdp.ts';
import type { SessionRecord } from '../protocol/session.ts';
import { notificationFor } from './rooms.ts';

/** The connection a membership is attached to, as far as the membership needs it. */
export interface MemberSocket {
  notify(notification: ClientNotification): void;
  close(code: number, reason: string): void;
}

/**
 * One user's membership of one room. It outlives its WebSocket: while detached (connection lost) it waits
 * for `resume` until the grace period ends, and room events keep updating it.
 */
export class Membership {
  readonly producers: Map<string, Source>;
  socket?: MemberSocket;
  detachedAt?: number;
  events?: Subscription;

  constructor(
    readonly record: Omit<SessionRecord, 'producers'>,
    /** KV key of the session record: the hash of the resume token. */
    readonly recordKey: string,
    producers: Record<string, Source> = {},
  ) {
    this.producers = new Map(Object.entries(producers));
  }

  get roomId(): string {
    return this.record.roomId;
  }

  get peerId(): string {
    return this.record.peerId;
  }

  attach(socket: MemberSocket): void {
    this.socket = socket;
    this.detachedAt = undefined;
  }

  detach(now = Date.now()): void {
    this.socket = undefined;
    this.detachedAt = now;
  }

  onRoomEvent(event: RoomEvent): void {
    if (event.type === 'producerClosed' && event.peerId === this.peerId) this.producers.delete(event.producerId);
    const notification = notificationFor(event, this.peerId);
    if (notification) this.socket?.notify(notification);
  }

  toRecord(): SessionRecord {
    return { ...this.record, producers: Object.fromEntries(this.producers) };
  }

  presence(instanceId: string, now = Date.now()): PresenceEntry {
    const sources = new Set(this.producers.values());
    return {
      roomId: this.roomId,
      peerId: this.peerId,
      identity: this.record.identity,
      displayName: this.record.displayName,
      instanceId,
      connected: this.detachedAt === undefined,
      media: { microphone: sources.has('microphone'), camera: sources.has('camera'), screen: sources.has('screen') },
      updatedAt: now,
    };
  }
}
