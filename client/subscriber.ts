import type { Context, Span } from '@opentelemetry/api';
import type { types } from 'mediasoup-client';
import { ParleyError } from '../protocol/errors.ts';
import { MAX_REPORTED_CONSUMERS } from '../protocol/limits.ts';
import type { ProducerInfo, Source } from '../protocol/room.ts';
import type { ClientConsumerStats } from '../protocol/telemetry.ts';
import { consumerStats, relayCandidates, rowsOf } from './consumer-stats.ts';
import type { StatsRow, StatsRows } from './consumer-stats.ts';
import type { CallDeps } from './deps.ts';
import type { RemotePeer, RemoteTrack } from './host.ts';

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
  /** This consumer's rows of the latest sample (shared with the stats overlay). */
  rows?: StatsRow[];
  /** Counters at the previous stall check. */
  last?: { frames: number; packets: number };
  source: Source;
  /** The priority last asked for (setConsumerPriority). */
  priority?: number;
}

/**
 * Who gets the downlink first when it is short (mediasoup's consumer priority, 1..255): voices, then screens,
 * then the active speaker's camera, then the other cameras.
 */
export function priorityOf(source: Source, isActiveSpeaker: boolean): number {
  if (source === 'microphone') return 255;
  if (source === 'screen' || source === 'screen-audio') return 200;
  return isActiveSpeaker ? 150 : 100;
}

/** Stats are sampled (and reported to the server's doctor) this often; stalls are judged over 3 samples. */
const SAMPLE_MS = 1000;
const STALL_SAMPLES = 3;

export type ReconsumeOutcome = 'reconsumed' | 'already-replaced' | 'consume-under-way';

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
  /** Every producer we were told of and that still exists, so a remedy can consume one again. */
  private known = new Map<string, ProducerInfo>();
  private sampler?: ReturnType<typeof setInterval>;
  private samples = 0;
  private sampling = false;
  /** What the latest sample found of each consumer (the doctor's report; a problem report's too). */
  private latest: ClientConsumerStats[] = [];

  constructor(
    private deps: CallDeps,
    private transport: () => types.Transport | undefined,
    private device: () => types.Device,
  ) {
    this.sampler = setInterval(() => void this.sample(), SAMPLE_MS);
  }

  /** A consume action (its own trace unless `trace` is given, e.g. the join's). */
  async consume(producer: ProducerInfo, trace?: Context): Promise<void> {
    this.known.set(producer.id, producer);
    if (!this.deps.media.subscribe || this.producers.has(producer.id)) return;
    this.producers.add(producer.id);
    const transport = this.transport();
    if (!transport) return;
    const attributes = {
      'parley.producer': producer.id,
      'parley.source': producer.source,
      'parley.kind': producer.kind,
      'parley.remote_peer': producer.peerId,
    };
    try {
      await this.deps.tracer.action('consume', attributes, trace, (ctx, span) => this.consumeOn(transport, producer, ctx, span));
    } catch (err) {
      this.producers.delete(producer.id);
      // A consume cut short by a rebuild (its transport replaced), or of a producer closed meanwhile, is no fault.
      if (this.transport() !== transport || !this.known.has(producer.id)) return;
      const message = err instanceof Error ? err.message : String(err);
      const code = err instanceof ParleyError ? err.code : undefined;
      this.deps.events.emit('error', { kind: 'consume', producerId: producer.id, source: producer.source, message, code });
    }
  }

  /**
   * The doctor's `reconsume`: close our consumer `consumerId` of `producerId` and consume it again. The tile
   * keeps its place and its old track until the new one replaces it. A remedy about a consumer we already
   * replaced, or while a consume of that producer is under way, changes nothing (the doctor may ask again
   * about the old consumer, which the server still has): that would only start a loop.
   */
  async reconsume(consumerId: string, producerId: string, trace: Context): Promise<ReconsumeOutcome> {
    const producer = this.known.get(producerId);
    if (!producer) throw new Error(`producer ${producerId} is gone`);
    const current = [...this.entries.values()].find((e) => e.consumer.producerId === producerId);
    if (current && current.consumer.id !== consumerId) return 'already-replaced';
    if (!current && this.producers.has(producerId)) return 'consume-under-way';
    if (current) {
      current.consumer.close();
      this.entries.delete(current.consumer.id);
    }
    this.producers.delete(producerId);
    await this.consume(producer, trace);
    if (!this.producers.has(producerId)) throw new Error(`could not consume ${producerId} again`);
    return 'reconsumed';
  }

  /** After a resume: consume what is new, drop what is gone. */
  reconcile(producers: ProducerInfo[], trace?: Context): void {
    const live = new Set(producers.map((p) => p.id));
    for (const id of [...this.producers]) if (!live.has(id)) this.dropProducer(id);
    for (const p of producers) {
      void this.consume(p, trace);
      this.setPaused(p.id, p.paused);
    }
  }

  dropProducer(producerId: string): void {
    this.producers.delete(producerId);
    this.known.delete(producerId);
    for (const [id, entry] of this.entries) {
      if (entry.consumer.producerId !== producerId) continue;
      entry.consumer.close();
      this.entries.delete(id);
    }
    this.updatePeers((p) => ({ ...p, tracks: p.tracks.filter((t) => t.producerId !== producerId) }));
  }

  /**
   * The server closed one consumer. Only that consumer goes: a notice for one we no longer have (already
   * closed, or replaced by a reconsume) changes nothing, so a repeated one is harmless.
   */
  dropConsumer(consumerId: string): void {
    const entry = this.entries.get(consumerId);
    if (!entry) return;
    entry.consumer.close();
    this.entries.delete(consumerId);
    this.producers.delete(entry.consumer.producerId);
    this.updatePeers((p) => ({ ...p, tracks: p.tracks.filter((t) => t.consumerId !== consumerId) }));
  }

  dropPeer(peerId: string): void {
    const peer = this.deps.store.get('peers').find((p) => p.id === peerId);
    peer?.tracks.forEach((t) => this.dropProducer(t.producerId));
    for (const entry of this.entries.values()) if (entry.peerId === peerId) this.dropProducer(entry.consumer.producerId);
    for (const p of this.known.values()) if (p.peerId === peerId) this.known.delete(p.id);
    this.deps.store.set(
      'peers',
      this.deps.store.get('peers').filter((p) => p.id !== peerId),
    );
  }

  /** The sender paused or resumed. */
  setPaused(producerId: string, paused: boolean): void {
    const known = this.known.get(producerId);
    if (known) this.known.set(producerId, { ...known, paused });
    this.updatePeers((p) =>
      p.tracks.some((t) => t.producerId === producerId)
        ? { ...p, tracks: p.tracks.map((t) => (t.producerId === producerId ? { ...t, paused } : t)) }
        : p,
    );
  }

  /** A tile appeared, moved off screen or changed size. */
  setView(consumerId: string, view: TileView): void {
    const entry = this.entries.get(consumerId);
    if (entry?.consumer.kind !== 'video') return;
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
        this.deps.signaling.request('setConsumerPreferredLayers', { consumerId, spatialLayer: layer }).catch(() => undefined),
      );
    }
  }

  /** The active speaker changed: their camera goes before the others'. */
  prioritize(): void {
    for (const entry of this.entries.values()) this.setPriority(entry);
  }

  /** What the latest sample (at most a second old) found of each consumer. */
  stats(): ClientConsumerStats[] {
    return [...this.latest];
  }

  consumer(consumerId: string): types.Consumer | undefined {
    return this.entries.get(consumerId)?.consumer;
  }

  /** The consumer's rows of the latest sample (taken once a second), for a stats overlay. */
  latestStats(consumerId: string): StatsRows | undefined {
    return this.entries.get(consumerId)?.rows;
  }

  all(): types.Consumer[] {
    return [...this.entries.values()].map((e) => e.consumer);
  }

  close(): void {
    clearInterval(this.sampler);
    this.reset();
  }

  /** Drops every consumer (their transport is gone) but keeps watching the ones made after. */
  reset(): void {
    for (const entry of this.entries.values()) entry.consumer.close();
    this.entries.clear();
    this.producers.clear();
    this.known.clear();
  }

  private async consumeOn(transport: types.Transport, producer: ProducerInfo, ctx: Context, span: Span): Promise<void> {
    const rtpCapabilities = this.device().recvRtpCapabilities as Record<string, unknown>;
    const options = await this.deps.signaling.request(
      'consume',
      { transportId: transport.id, producerId: producer.id, rtpCapabilities },
      ctx,
    );
    span.setAttribute('parley.consumer', options.id);
    if (!this.producers.has(producer.id) || this.transport() !== transport) {
      span.addEvent('producer closed meanwhile');
      return;
    }
    const consumer = await transport.consume({
      id: options.id,
      producerId: options.producerId,
      kind: options.kind,
      rtpParameters: options.rtpParameters as types.RtpParameters,
    });
    if (!this.producers.has(producer.id) || this.transport() !== transport) {
      consumer.close(); // the producer closed (or our transport was replaced) while our side was being set up
      span.addEvent('producer closed meanwhile');
      return;
    }
    // The server created it paused; now that our side is ready, let media (and a key frame) flow.
    const resumed = this.deps.signaling.request('resumeConsumer', { consumerId: consumer.id }, ctx);
    const entry: Entry = {
      consumer,
      peerId: options.peerId,
      sent: { paused: false },
      chain: resumed.catch(() => undefined),
      source: options.source,
    };
    this.entries.set(consumer.id, entry);
    this.setPriority(entry);
    const { peerId, kind, source } = options;
    this.addTrack(peerId, {
      producerId: producer.id,
      consumerId: consumer.id,
      source,
      track: consumer.track,
      paused: this.known.get(producer.id)?.paused ?? producer.paused,
    });
    this.deps.events.emit('consumer', {
      consumerId: consumer.id,
      producerId: producer.id,
      peerId,
      kind,
      source,
      track: consumer.track,
    });
    await resumed;
  }

  private setPriority(entry: Entry): void {
    const priority = priorityOf(entry.source, this.deps.store.get('activeSpeaker') === entry.peerId);
    if (priority === entry.priority || entry.consumer.closed) return;
    entry.priority = priority;
    const consumerId = entry.consumer.id;
    entry.chain = entry.chain.then(() =>
      this.deps.signaling.request('setConsumerPriority', { consumerId, priority }).catch(() => undefined),
    );
  }

  private send(entry: Entry, method: 'pauseConsumer' | 'resumeConsumer'): void {
    const consumerId = entry.consumer.id;
    entry.chain = entry.chain.then(() => this.deps.signaling.request(method, { consumerId }).catch(() => undefined));
  }

  /** Adds the track to its peer's tile, in place of an earlier one for the same producer (a reconsume). */
  private addTrack(peerId: string, track: RemoteTrack): void {
    const peers = this.deps.store.get('peers');
    // A producer can be announced before its peer (a resume snapshot, reordered events): show it anyway.
    const withPeer = peers.some((p) => p.id === peerId) ? peers : [...peers, { id: peerId, displayName: '…', tracks: [] }];
    this.deps.store.set(
      'peers',
      withPeer.map((p) => {
        if (p.id !== peerId) return p;
        const replaced = p.tracks.some((t) => t.producerId === track.producerId);
        const tracks = replaced ? p.tracks.map((t) => (t.producerId === track.producerId ? track : t)) : [...p.tracks, track];
        return { ...p, tracks };
      }),
    );
  }

  private updatePeers(change: (peer: RemotePeer) => RemotePeer): void {
    this.deps.store.set('peers', this.deps.store.get('peers').map(change));
  }

  /**
   * Once a second: one stats report for the receive transport, split per consumer, sent to the server's
   * black-screen doctor and kept for a stats overlay; every few seconds, a visible video that receives
   * packets but decodes nothing has lost its reference frame, so we ask for one.
   */
  private async sample(): Promise<void> {
    const transport = this.transport();
    const entries = [...this.entries.values()].filter((e) => !e.consumer.closed);
    if (this.sampling || !transport || transport.closed || entries.length === 0) return;
    this.sampling = true;
    try {
      const checkStalls = ++this.samples % STALL_SAMPLES === 0;
      const report = await transport.getStats().catch(() => undefined);
      if (!report) return;
      // Consumers closed while we waited are not reported: the server forgot them too.
      const live = entries.filter((e) => this.entries.get(e.consumer.id) === e);
      const relay = this.deps.media.iceTransportPolicy === 'relay' ? { relayCandidates: relayCandidates(report) } : {};
      const consumers = live.slice(0, MAX_REPORTED_CONSUMERS).map((entry) => {
        const { consumer } = entry;
        entry.rows = rowsOf(report, consumer.rtpParameters.encodings?.[0]?.ssrc);
        const view = { consumerId: consumer.id, kind: consumer.kind, track: consumer.track, paused: entry.sent.paused };
        const stats = consumerStats(view, entry.rows);
        if (checkStalls && consumer.kind === 'video' && !entry.sent.paused)
          this.checkStall(entry, stats.framesDecoded ?? 0, stats.packetsReceived);
        return { ...stats, ...relay };
      });
      this.latest = consumers;
      if (consumers.length > 0) this.deps.signaling.request('reportConsumerStats', { consumers }).catch(() => undefined);
    } finally {
      this.sampling = false;
    }
  }

  private checkStall(entry: Entry, frames: number, packets: number): void {
    const stalled = !!entry.last && frames === entry.last.frames && packets > entry.last.packets;
    entry.last = { frames, packets };
    if (stalled) this.deps.signaling.request('requestKeyFrame', { consumerId: entry.consumer.id }).catch(() => undefined);
  }
}
