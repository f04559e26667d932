import type { types } from 'mediasoup';
import type { PublisherLayers } from '../../protocol/publisher.ts';
import type { RoomEvent } from '../../protocol/media.ts';

/** A layer no one wants is switched off only after this long, so a tile that shrinks and grows back costs nothing. */
export const LOWER_AFTER_MS = 2_000;

type Reason = PublisherLayers['reason'];

interface Entry {
  producer: types.Producer;
  peerId: string;
  top: number;
  /** What the publisher was last told (undefined: nothing yet, so it sends every layer). */
  sent?: { max: number; reason: Reason };
  /** A ceiling the doctor set (a bandwidth or CPU repair). */
  cap?: { max: number; reason: Reason };
  /** Since when fewer layers than the publisher sends have been wanted. */
  lowerSince?: number;
}

export interface DynacastDeps {
  roomId: string;
  publish: (event: RoomEvent) => void;
  /** This instance's live consumers of a producer. */
  consumersOf: (producerId: string) => types.Consumer[];
  /** The spatial layer a consumer's viewer wants (undefined: any). */
  wanted: (consumer: types.Consumer) => number | undefined;
  /** Whether the producer is piped to another instance, whose viewers' wishes are not known here. */
  pipedOut: (producerId: string) => boolean;
}

/**
 * Dynacast: a simulcast producer's publisher sends only the layers some consumer currently wants (the highest
 * preferred spatial layer of its unpaused consumers, never less than the lowest layer), under any ceiling the
 * doctor set. A wish for more is passed on at once; a wish for less after LOWER_AFTER_MS.
 */
export class Dynacast {
  private entries = new Map<string, Entry>();

  constructor(private deps: DynacastDeps) {}

  add(producer: types.Producer, peerId: string): void {
    const layers = producer.rtpParameters.encodings?.length ?? 1;
    if (producer.kind !== 'video' || layers < 2) return;
    this.entries.set(producer.id, { producer, peerId, top: layers - 1 });
    producer.observer.once('close', () => this.entries.delete(producer.id));
  }

  /** The doctor's ceiling (undefined lifts it). */
  setCap(producerId: string, cap: { max: number; reason: Reason } | undefined, now = Date.now()): void {
    const entry = this.entries.get(producerId);
    if (!entry) return;
    entry.cap = cap;
    this.update(producerId, now);
  }

  /** Highest layer the publisher is asked to send now, or undefined if not simulcast. */
  state(producerId: string): { max: number; reason: Reason; top: number } | undefined {
    const entry = this.entries.get(producerId);
    if (!entry) return undefined;
    return { ...(entry.sent ?? { max: entry.top, reason: 'all-wanted' as const }), top: entry.top };
  }

  /** A consumer's wish changed (or may have): act on it. */
  update(producerId: string, now = Date.now()): void {
    const entry = this.entries.get(producerId);
    if (!entry || entry.producer.closed) return;
    const wanted = this.wanted(entry);
    const cap = entry.cap && entry.cap.max < wanted.max ? entry.cap : undefined;
    const target = cap ?? wanted;
    const current = entry.sent?.max ?? entry.top;
    if (target.max >= current) {
      entry.lowerSince = undefined;
      if (target.max > current || target.reason !== entry.sent?.reason) this.send(entry, target);
      return;
    }
    // A ceiling is a repair and acts at once; fewer wishes wait a little.
    entry.lowerSince ??= now;
    if (cap || now - entry.lowerSince >= LOWER_AFTER_MS) this.send(entry, target);
  }

  tick(now = Date.now()): void {
    for (const id of this.entries.keys()) this.update(id, now);
  }

  private wanted(entry: Entry): { max: number; reason: Reason } {
    if (this.deps.pipedOut(entry.producer.id)) return { max: entry.top, reason: 'all-wanted' };
    let max = 0;
    for (const consumer of this.deps.consumersOf(entry.producer.id)) {
      if (consumer.closed || consumer.paused) continue;
      max = Math.max(max, Math.min(this.deps.wanted(consumer) ?? entry.top, entry.top));
    }
    return { max, reason: max < entry.top ? 'dynacast' : 'all-wanted' };
  }

  private send(entry: Entry, target: { max: number; reason: Reason }): void {
    entry.sent = target;
    entry.lowerSince = undefined;
    const layers: PublisherLayers = { producerId: entry.producer.id, maxSpatialLayer: target.max, reason: target.reason };
    this.deps.publish({ type: 'publisherLayers', roomId: this.deps.roomId, peerId: entry.peerId, layers });
  }
}
