import type { Bus, Subscription } from '../bus/bus.ts';
import { log, reason } from '../tracing/log.ts';

type Listener<T> = (item: T) => void;

interface Room<T> {
  subscription: Subscription;
  listeners: Set<Listener<T>>;
  /** The subscription is registered with the server: messages published from now on reach us. */
  ready: Promise<void>;
}

/**
 * One subscription to a room's subject (its events, its feed) per signaling instance, however many of the room's
 * members it holds: each message is received and parsed once and handed to every member here. (A subscription per
 * member made every message to a room of N cost N deliveries and N parses on the instance.)
 */
export class RoomSubscriptions<T> {
  private rooms = new Map<string, Room<T>>();

  /** `parse` answers undefined for a malformed message, which no listener then sees. */
  constructor(
    private bus: Bus,
    private subject: (roomId: string) => string,
    private parse: (data: unknown) => T | undefined,
  ) {}

  /** `ready` resolves once messages published from then on reach `listener`. */
  listen(roomId: string, listener: Listener<T>): { subscription: Subscription; ready: Promise<void> } {
    const room = this.rooms.get(roomId) ?? this.open(roomId);
    room.listeners.add(listener);
    const subscription = {
      unsubscribe: () => {
        room.listeners.delete(listener);
        if (room.listeners.size > 0 || this.rooms.get(roomId) !== room) return;
        this.rooms.delete(roomId);
        room.subscription.unsubscribe();
      },
    };
    return { subscription, ready: room.ready };
  }

  private open(roomId: string): Room<T> {
    const listeners = new Set<Listener<T>>();
    const subscription = this.bus.subscribe(this.subject(roomId), (msg) => {
      const item = this.parse(msg.data);
      if (item === undefined) return;
      for (const listener of [...listeners]) {
        try {
          listener(item);
        } catch (err) {
          log.error('room listener failed', { room: roomId, error: reason(err) });
        }
      }
    });
    const room: Room<T> = { subscription, listeners, ready: this.bus.flush() };
    // Not registered after all (NATS went away meanwhile): the next member here subscribes afresh.
    room.ready.catch(() => {
      if (this.rooms.get(roomId) !== room) return;
      this.rooms.delete(roomId);
      subscription.unsubscribe();
    });
    this.rooms.set(roomId, room);
    return room;
  }
}
