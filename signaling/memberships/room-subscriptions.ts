import type { Bus, Subscription } from '../../bus/bus.ts';
import { RoomEvent } from '../../protocol/media.ts';
import { subjects } from '../../protocol/subjects.ts';
import { log, reason } from '../../tracing/log.ts';

type Listener = (event: RoomEvent) => void;

interface Room {
  subscription: Subscription;
  listeners: Set<Listener>;
  /** The subscription is registered with the server: events published from now on reach us. */
  ready: Promise<void>;
}

/**
 * One subscription to a room's events per signaling instance, however many of the room's members it holds: each
 * event is received and parsed once and handed to every member here. (A subscription per member made every event
 * of a room of N cost N deliveries and N parses on the instance.)
 */
export class RoomSubscriptions {
  private rooms = new Map<string, Room>();

  constructor(private bus: Bus) {}

  /** `ready` resolves once events published from then on reach `listener`. */
  listen(roomId: string, listener: Listener): { subscription: Subscription; ready: Promise<void> } {
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

  private open(roomId: string): Room {
    const listeners = new Set<Listener>();
    const subscription = this.bus.subscribe(subjects.roomEvents(roomId), (msg) => {
      const event = RoomEvent.safeParse(msg.data);
      if (!event.success) return;
      for (const listener of [...listeners]) {
        try {
          listener(event.data);
        } catch (err) {
          log.error('room event listener failed', { room: roomId, error: reason(err) });
        }
      }
    });
    const room: Room = { subscription, listeners, ready: this.bus.flush() };
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
