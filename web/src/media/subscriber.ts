import type { types } from 'mediasoup-client';
import type { ProducerInfo } from '../../../protocol/sdp.ts';
import { errorMessage, remotePeers } from '../state.ts';
import type { RemoteTrack } from '../state.ts';
import type { Requester } from './signaling.ts';

/** How a tile shows a consumer's video: whether it is on screen, and how tall it is in device pixels. */
export interface TileView {
  visible: boolean;
  height: number;
}

interface Entry {
  consumer: types.Consumer;
  peerId: string;
  /** What the server was last asked for, so only changes are sent. */
  sent: { paused: boolean; layer?: number };
  /** Requests for one consumer go out one after another, in order. */
  chain: Promise<unknown>;
  last?: { frames: number; packets: number };
}

/** Simulcast layer for a tile height: the camera sends 1/4, 1/2 and full size (720p at most). */
export function layerForHeight(height: number): number {
  if (height <= 200) return 0;
  if (height <= 400) return 1;
  return 2;
}

/**
 * The receiving side of a call: one consumer per remote producer, created paused by the server and resumed
 * once ours is ready; paused again while its tile is hidden, and on the layer that fits the tile.
 */
export class Subscriber {
  private entries = new Map<string, Entry>();
  /** Producers being consumed or consumed, so a notification and a snapshot never make two consumers. */
  private producers = new Set<string>();
  private watchdog?: ReturnType<typeof setInterval>;

  constructor(
    private signaling: Requester,
    private transport: () => types.Transport | undefined,
    private device: () => types.Device,
  ) {
    this.watchdog = setInterval(() => void this.checkStalls(), 3000);
  }

  async consume(producer: ProducerInfo): Promise<void> {
    if (this.producers.has(producer.id)) return;
    this.producers.add(producer.id);
    const transport = this.transport();
    if (!transport) return;
    try {
      const options = await this.signaling.request('consume', {
        transportId: transport.id,
        producerId: producer.id,
        rtpCapabilities: this.device().recvRtpCapabilities as Record<string, unknown>,
      });
      if (!this.producers.has(producer.id)) return; // closed while we asked
      const consumer = await transport.consume({
        id: options.id,
        producerId: options.producerId,
        kind: options.kind,
        rtpParameters: options.rtpParameters as types.RtpParameters,
      });
      if (!this.producers.has(producer.id)) {
        consumer.close(); // the producer closed while our side was being set up
        return;
      }
      // The server created it paused; now that our side is ready, let media (and a key frame) flow.
      const resumed = this.signaling.request('resumeConsumer', { consumerId: consumer.id });
      this.entries.set(consumer.id, { consumer, peerId: options.peerId, sent: { paused: false }, chain: resumed.catch(() => undefined) });
      this.addTrack(options.peerId, {
        producerId: producer.id,
        consumerId: consumer.id,
        source: options.source,
        track: consumer.track,
        paused: producer.paused,
      });
      await resumed;
    } catch (err) {
      this.producers.delete(producer.id);
      if (this.transport()) errorMessage.value = `could not receive ${producer.source}: ${(err as Error).message}`;
    }
  }

  /** After a resume: consume what is new, drop what is gone. */
  reconcile(producers: ProducerInfo[]): void {
    const live = new Set(producers.map((p) => p.id));
    for (const id of [...this.producers]) if (!live.has(id)) this.dropProducer(id);
    for (const p of producers) {
      void this.consume(p);
      this.setPaused(p.id, p.paused);
    }
  }

  dropProducer(producerId: string): void {
    this.producers.delete(producerId);
    for (const [id, entry] of this.entries) {
      if (entry.consumer.producerId !== producerId) continue;
      entry.consumer.close();
      this.entries.delete(id);
    }
    remotePeers.value = remotePeers.value.map((p) => ({ ...p, tracks: p.tracks.filter((t) => t.producerId !== producerId) }));
  }

  dropPeer(peerId: string): void {
    const peer = remotePeers.value.find((p) => p.id === peerId);
    peer?.tracks.forEach((t) => this.dropProducer(t.producerId));
    for (const entry of this.entries.values()) if (entry.peerId === peerId) this.dropProducer(entry.consumer.producerId);
    remotePeers.value = remotePeers.value.filter((p) => p.id !== peerId);
  }

  /** The sender muted or unmuted. */
  setPaused(producerId: string, paused: boolean): void {
    remotePeers.value = remotePeers.value.map((p) =>
      p.tracks.some((t) => t.producerId === producerId)
        ? { ...p, tracks: p.tracks.map((t) => (t.producerId === producerId ? { ...t, paused } : t)) }
        : p,
    );
  }

  /** A tile appeared, moved off screen or changed size. */
  setView(consumerId: string, view: TileView): void {
    const entry = this.entries.get(consumerId);
    if (!entry || entry.consumer.kind !== 'video') return;
    const paused = !view.visible;
    const layer = layerForHeight(view.height);
    if (paused !== entry.sent.paused) {
      entry.sent.paused = paused;
      // Resuming also makes the server ask for a key frame, so the tile does not wait for one.
      this.send(entry, paused ? 'pauseConsumer' : 'resumeConsumer');
    }
    if (!paused && layer !== entry.sent.layer) {
      entry.sent.layer = layer;
      entry.chain = entry.chain.then(() =>
        this.signaling.request('setConsumerPreferredLayers', { consumerId, spatialLayer: layer }).catch(() => undefined),
      );
    }
  }

  consumer(consumerId: string): types.Consumer | undefined {
    return this.entries.get(consumerId)?.consumer;
  }

  all(): types.Consumer[] {
    return [...this.entries.values()].map((e) => e.consumer);
  }

  close(): void {
    clearInterval(this.watchdog);
    this.reset();
  }

  /** Drops every consumer (their transport is gone) but keeps watching the ones made after. */
  reset(): void {
    for (const entry of this.entries.values()) entry.consumer.close();
    this.entries.clear();
    this.producers.clear();
  }

  private send(entry: Entry, method: 'pauseConsumer' | 'resumeConsumer'): void {
    const consumerId = entry.consumer.id;
    entry.chain = entry.chain.then(() => this.signaling.request(method, { consumerId }).catch(() => undefined));
  }

  private addTrack(peerId: string, track: RemoteTrack): void {
    const known = remotePeers.value.some((p) => p.id === peerId);
    // A producer can be announced before its peer (a resume snapshot, reordered events): show it anyway.
    const peers = known ? remotePeers.value : [...remotePeers.value, { id: peerId, displayName: '…', tracks: [] }];
    remotePeers.value = peers.map((p) => (p.id === peerId ? { ...p, tracks: [...p.tracks.filter((t) => t.producerId !== track.producerId), track] } : p));
  }

  /** A visible video that receives packets but decodes nothing has lost its reference frame: ask for one. */
  private async checkStalls(): Promise<void> {
    for (const entry of this.entries.values()) {
      if (entry.consumer.kind !== 'video' || entry.sent.paused || entry.consumer.closed) continue;
      let frames = 0;
      let packets = 0;
      (await entry.consumer.getStats().catch(() => new Map())).forEach((s: { type?: string; framesDecoded?: number; packetsReceived?: number }) => {
        if (s.type !== 'inbound-rtp') return;
        frames += s.framesDecoded ?? 0;
        packets += s.packetsReceived ?? 0;
      });
      const stalled = !!entry.last && frames === entry.last.frames && packets > entry.last.packets;
      entry.last = { frames, packets };
      if (stalled) this.signaling.request('requestKeyFrame', { consumerId: entry.consumer.id }).catch(() => undefined);
    }
  }
}
