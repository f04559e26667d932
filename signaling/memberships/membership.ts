import type { Subscription } from '../../bus/bus.ts';
import type { ClientNotification } from '../../protocol/client.ts';
import type { RoomEvent } from '../../protocol/media.ts';
import type { PresenceEntry } from '../../protocol/presence.ts';
import type { Source } from '../../protocol/room.ts';
import type { MembershipRecord } from '../../protocol/membership.ts';
import { notificationFor } from '../rooms.ts';
import { SeenRoom } from './seen-room.ts';

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
  readonly producers: Map<string, { source: Source; paused: boolean }>;
  speaking = false;
  socket?: MemberSocket;
  detachedAt?: number;
  events?: Subscription;
  /** Ends the membership unless it is attached again first; one per detach, cleared by attach. */
  private graceTimer?: ReturnType<typeof setTimeout>;
  /** The room as the client was told about it: what a resync after a NATS outage compares with. */
  readonly seen: SeenRoom;

  constructor(
    /** mediaInstanceId changes when the peer is moved off a dead media worker. */
    readonly record: Omit<MembershipRecord, 'producers'>,
    /** KV key of the session record: the hash of the resume token. */
    readonly recordKey: string,
    producers: MembershipRecord['producers'] = {},
  ) {
    this.producers = new Map(Object.entries(producers));
    this.seen = new SeenRoom(record.roomId, record.peerId);
  }

  get roomId(): string {
    return this.record.roomId;
  }

  get peerId(): string {
    return this.record.peerId;
  }

  attach(socket: MemberSocket): void {
    this.stopGrace();
    this.socket = socket;
    this.detachedAt = undefined;
  }

  /**
   * The connection is gone: `expire` runs after `graceMs` unless the membership is attached again. A timer
   * from an earlier detach is cancelled, so a resumed-then-dropped membership gets its full grace again.
   */
  detach(graceMs: number, expire: () => void, now = Date.now()): void {
    this.stopGrace();
    this.socket = undefined;
    this.detachedAt = now;
    this.graceTimer = setTimeout(expire, graceMs);
  }

  stopGrace(): void {
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
  }

  /** Applies a room event; true when this member's presence changed. */
  onRoomEvent(event: RoomEvent): boolean {
    const changed = this.track(event);
    const notification = notificationFor(event, this.peerId);
    if (notification) this.socket?.notify(notification);
    this.seen.apply(event);
    return changed;
  }

  private track(event: RoomEvent): boolean {
    if (event.type === 'producerClosed' && event.peerId === this.peerId) return this.producers.delete(event.producerId);
    // A moderator may pause our producer: presence follows the media worker, not only our own requests.
    if ((event.type === 'producerPaused' || event.type === 'producerResumed') && event.peerId === this.peerId) {
      const producer = this.producers.get(event.producerId);
      const paused = event.type === 'producerPaused';
      if (!producer || producer.paused === paused) return false;
      producer.paused = paused;
      return true;
    }
    if (event.type !== 'activeSpeaker' || this.speaking === (event.peerId === this.peerId)) return false;
    this.speaking = event.peerId === this.peerId;
    return true;
  }

  toRecord(): MembershipRecord {
    return { ...this.record, producers: Object.fromEntries(this.producers) };
  }

  presence(instanceId: string, region: string, now = Date.now()): PresenceEntry {
    const mic = [...this.producers.values()].find((p) => p.source === 'microphone');
    const sources = new Set([...this.producers.values()].map((p) => p.source));
    return {
      roomId: this.roomId,
      peerId: this.peerId,
      identity: this.record.identity,
      displayName: this.record.displayName,
      instanceId,
      region,
      connected: this.detachedAt === undefined,
      media: {
        microphone: mic !== undefined,
        muted: mic?.paused ?? false,
        camera: sources.has('camera'),
        screen: sources.has('screen'),
        speaking: this.speaking,
      },
      updatedAt: now,
    };
  }
}
