import type { ClientNotification } from '../protocol/client.ts';
import type { ErrorCode } from '../protocol/errors.ts';
import type { MediaKind, Source } from '../protocol/room.ts';
import type { CaptureSource, Feed } from './host.ts';
import type { ConsumerNotice } from '../protocol/publisher.ts';

/** Something went wrong that the user should hear about; the client carries on. */
export type ClientError =
  /** A device could not be captured (permission, missing, in use): `error` is what the platform threw. */
  | { kind: 'capture'; feed: Feed; error: unknown }
  /** A device in use went away; `replaced` when another one took over. */
  | { kind: 'device-lost'; source: CaptureSource; replaced: boolean }
  /** `code` NOT_FOUND: the producer closed before we could consume it (a race, not a fault). */
  | { kind: 'consume'; producerId: string; source: Source; message: string; code?: ErrorCode }
  /** The connection is gone for good (reconnecting gave up, or another tab took the membership over). */
  | { kind: 'connection'; reason: 'taken-over' | 'gave-up'; message: string }
  /** A moderator removed us (`by`: their name, null for the server) or ended the room; the call is over. */
  | { kind: 'removed'; reason: string; by: string | null; roomEnded: boolean };

/** A remote track the client started showing. */
export interface ConsumerShown {
  consumerId: string;
  producerId: string;
  peerId: string;
  kind: MediaKind;
  source: Source;
  track: MediaStreamTrack;
}

export interface ClientEvents {
  error: ClientError;
  /** Every notification from signaling, as it arrives (before the client acts on it). */
  notification: ClientNotification;
  consumer: ConsumerShown;
  /** The signaling connection dropped (`code`: the WebSocket close code); reconnecting follows unless off. */
  lost: { code: number; reason: string };
  /** The doctor's verdict on one of our consumers changed (`client.get('notices')` holds the current ones). */
  notice: ConsumerNotice;
}

type Listener<T> = (value: T) => void;

/** A small typed event emitter; a listener that throws does not stop the others. */
export class Emitter<E extends object> {
  private listeners = new Map<keyof E, Set<Listener<never>>>();

  /** Returns the function that removes the listener. */
  on<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener as Listener<never>);
    this.listeners.set(event, set);
    return () => set.delete(listener as Listener<never>);
  }

  emit<K extends keyof E>(event: K, value: E[K]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        (listener as Listener<E[K]>)(value);
      } catch (err) {
        console.error(`[parley] ${String(event)} listener failed`, err);
      }
    }
  }
}
