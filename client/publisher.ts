import type { Context, Span } from '@opentelemetry/api';
import type { types } from 'mediasoup-client';
import type { Source } from '../protocol/room.ts';
import type { CallDeps } from './deps.ts';
import type { CaptureSource, Feed } from './host.ts';
import type { ProduceAppData } from './transport.ts';
import type { PublisherLayers } from '../protocol/publisher.ts';
import type { ClientProducerStats } from '../protocol/publisher.ts';
import { MAX_REPORTED_PRODUCERS, PRODUCER_REPORT_MS } from '../protocol/limits.ts';
import { producerStats } from './publisher-stats.ts';

/** What we send is reported to the server's doctor this often (as the receiving side is). */

const SCREEN_ENCODINGS: types.RtpEncodingParameters[] = [{ maxBitrate: 2_500_000 }];

/**
 * The local side of a call: capture, produce, pause, switch devices. Each feed has a wanted state and one
 * loop that moves the real state towards it, so any number of fast clicks ends in the last one's state and
 * never in two producers for one source.
 */
export class Publisher {
  private producers = new Map<Source, types.Producer>();
  private wanted = new Map<Feed, boolean>();
  /** The action behind the latest wish (e.g. join), so the publish it causes is part of its trace. */
  private wishTrace = new Map<Feed, Context | undefined>();
  private running = new Map<Feed, Promise<void>>();
  private pauseChain: Promise<unknown> = Promise.resolve();
  private closed = false;
  private reporter: ReturnType<typeof setInterval>;
  private reporting = false;
  /** Layer changes per producer, one after another. */
  private layerChains = new Map<string, Promise<unknown>>();

  constructor(
    private deps: CallDeps,
    private transport: () => types.Transport | undefined,
    private transportState: () => ClientProducerStats['transportState'],
  ) {
    this.reporter = setInterval(() => void this.report(), PRODUCER_REPORT_MS);
  }

  /**
   * Dynacast, or the doctor's bandwidth repair: send simulcast layers 0..max only (the others' encodings
   * inactive), so no one pays for a layer no viewer wants.
   */
  setLayers({ producerId, maxSpatialLayer, reason }: PublisherLayers): Promise<void> {
    const producer = [...this.producers.values()].find((p) => p.id === producerId);
    if (producer?.kind !== 'video') return Promise.resolve();
    const attributes = { 'parley.producer': producerId, 'parley.max_spatial_layer': maxSpatialLayer, 'parley.reason': reason };
    const run = () =>
      this.deps.tracer.action('set layers', attributes, undefined, () =>
        producer.closed ? Promise.resolve() : producer.setMaxSpatialLayer(maxSpatialLayer),
      );
    const next = (this.layerChains.get(producerId) ?? Promise.resolve()).then(run).catch((err: unknown) => {
      console.warn('[parley] could not change the sent layers', err);
    });
    this.layerChains.set(producerId, next);
    return next;
  }

  /** The doctor's repair for a track that ended or an encoder that stalled: capture the source again. */
  async reacquire(producerId: string): Promise<void> {
    const entry = [...this.producers.entries()].find(([, p]) => p.id === producerId);
    if (!entry) return;
    const [source, producer] = entry;
    if (source !== 'microphone' && source !== 'camera') return; // a screen is picked again only by its user
    await this.deps.tracer.action(
      'reacquire track',
      { 'parley.producer': producerId, 'parley.source': source },
      undefined,
      async () => this.replaceTrack(source, producer, await this.deps.capture.track(source)),
    );
  }

  isOn(feed: Feed): boolean {
    return this.producers.has(feed);
  }

  /** The latest wish (the real state may still be catching up with it). */
  wants(feed: Feed): boolean {
    return this.wanted.get(feed) ?? this.isOn(feed);
  }

  /** Turns a feed on or off; resolves once the real state matches the last wish. */
  set(feed: Feed, on: boolean, trace?: Context): Promise<void> {
    this.wanted.set(feed, on);
    this.wishTrace.set(feed, trace);
    let run = this.running.get(feed);
    if (!run) {
      run = this.converge(feed).finally(() => {
        this.running.delete(feed);
        this.setPending(feed, false);
      });
      this.running.set(feed, run);
      this.setPending(feed, true);
    }
    return run;
  }

  /**
   * Pausing keeps the producer (others keep their consumer) and stops its media on both sides: the
   * microphone's mute, or a camera that is held without sending.
   */
  setPaused(source: Source, paused: boolean, trace?: Context): Promise<void> {
    if (source === 'microphone') this.deps.store.set('microphoneMuted', paused);
    const producer = this.producers.get(source);
    if (!producer) return Promise.resolve();
    const attributes = { 'parley.producer': producer.id, 'parley.source': source };
    return this.deps.tracer.action(paused ? 'mute' : 'unmute', attributes, trace, (ctx) => {
      if (paused) producer.pause();
      else producer.resume();
      const method = paused ? 'pauseProducer' : 'resumeProducer';
      const next = this.pauseChain.then(() => this.deps.signaling.request(method, { producerId: producer.id }, ctx));
      this.pauseChain = next.catch(() => undefined);
      return next.then(() => undefined);
    });
  }

  /** Live device switch: a new track on the same producer, no renegotiation. */
  async switchDevice(source: CaptureSource, deviceId: string): Promise<void> {
    const producer = this.producers.get(source);
    if (!producer) return;
    const track = await this.deps.capture.track(source, deviceId);
    await this.replaceTrack(source, producer, track);
  }

  /** After a rejoin on a new transport: produce again what was on, with the tracks we still hold. */
  async republish(trace?: Context): Promise<void> {
    const held = [...this.producers.entries()];
    this.producers.clear();
    for (const [source, old] of held) {
      if (!old.track || old.track.readyState === 'ended') continue;
      await this.produce(source, old.track, trace);
      if (source === 'microphone' && this.deps.store.get('microphoneMuted')) await this.setPaused(source, true, trace);
    }
  }

  /** Stops every local track now (the camera light goes off), then tells the server. */
  async close(trace?: Context): Promise<void> {
    this.closed = true;
    clearInterval(this.reporter);
    const all = [...this.producers.values()];
    this.producers.clear();
    this.deps.store.set('localTracks', {});
    for (const producer of all) {
      this.stopTrack(producer.track);
      producer.close();
    }
    await Promise.all(
      all.map((p) => this.deps.signaling.request('closeProducer', { producerId: p.id }, trace).catch(() => undefined)),
    );
  }

  outbound(source: Source): types.Producer | undefined {
    return this.producers.get(source);
  }

  /** What we send of each producer, as the doctor reads it (also part of a problem report). */
  async stats(): Promise<ClientProducerStats[]> {
    const transport = this.transport();
    if (!transport || transport.closed || this.producers.size === 0) return [];
    const report = await transport.getStats().catch(() => undefined);
    if (!report) return [];
    const state = this.transportState();
    return [...this.producers.entries()]
      .filter(([, p]) => !p.closed)
      .slice(0, MAX_REPORTED_PRODUCERS)
      .map(([source, producer]) => producerStats(producer, source, report, state));
  }

  /** Once a second: what we send, for the server's doctor (the publisher's side of a black tile). */
  private async report(): Promise<void> {
    if (this.reporting || this.closed || this.producers.size === 0) return;
    this.reporting = true;
    try {
      const producers = await this.stats();
      if (producers.length > 0) await this.deps.signaling.request('reportProducerStats', { producers }).catch(() => undefined);
    } finally {
      this.reporting = false;
    }
  }

  private async converge(feed: Feed): Promise<void> {
    while (!this.closed && (this.wanted.get(feed) ?? false) !== this.isOn(feed)) {
      const trace = this.wishTrace.get(feed);
      const attributes = { 'parley.source': feed };
      if (this.wanted.get(feed)) {
        try {
          await this.deps.tracer.action(`publish ${feed}`, attributes, trace, (ctx, span) => this.start(feed, ctx, span));
        } catch (error) {
          this.wanted.set(feed, false);
          this.deps.events.emit('error', { kind: 'capture', feed, error });
        }
      } else {
        await this.deps.tracer.action(`unpublish ${feed}`, attributes, trace, (ctx) => this.stop(feed, ctx));
      }
    }
  }

  /** Capture, then produce each source of the feed (the screen brings its audio when there is some). */
  private async start(feed: Feed, trace: Context, span: Span): Promise<void> {
    if (feed === 'screen') {
      const { video, audio } = await this.deps.capture.screen();
      span.addEvent('captured', { 'parley.audio': !!audio });
      // The browser's own "Stop sharing" button ends the track.
      video.addEventListener('ended', () => void this.set('screen', false));
      try {
        await this.produce('screen', video, trace);
      } catch (err) {
        this.stopTrack(audio);
        throw err;
      }
      if (audio) await this.produce('screen-audio', audio, trace);
      return;
    }
    const track = await this.deps.capture.track(feed);
    span.addEvent('captured', { 'parley.device': track.label });
    await this.produce(feed, track, trace);
    if (feed === 'microphone' && this.deps.store.get('microphoneMuted')) await this.setPaused(feed, true, trace);
  }

  private async stop(feed: Feed, trace: Context): Promise<void> {
    const sources: Source[] = feed === 'screen' ? ['screen', 'screen-audio'] : [feed];
    for (const source of sources) {
      const producer = this.producers.get(source);
      if (!producer) continue;
      this.producers.delete(source);
      this.stopTrack(producer.track);
      producer.close();
      this.showTrack(source, undefined);
      await this.deps.signaling.request('closeProducer', { producerId: producer.id }, trace).catch(() => undefined);
    }
  }

  /** One producer (a span of its own: a feed can have two, and a rebuild produces again). */
  private produce(source: Source, track: MediaStreamTrack, trace: Context | undefined): Promise<void> {
    const transport = this.transport();
    if (this.closed || !transport) {
      this.stopTrack(track);
      return Promise.resolve();
    }
    if (source === 'microphone' || source === 'camera') {
      track.addEventListener('ended', () => void this.onUnplugged(source, track));
    }
    const attributes = { 'parley.source': source, 'parley.kind': track.kind };
    return this.deps.tracer.action(`produce ${source}`, attributes, trace, async (ctx, span) => {
      try {
        const appData: ProduceAppData = { source, trace: ctx };
        const producer = await transport.produce({
          track,
          encodings: encodingsFor(source, this.deps.media.cameraEncodings),
          codecOptions:
            track.kind === 'video'
              ? { videoGoogleStartBitrate: 1000 }
              : { opusFec: true, opusDtx: source === 'microphone', opusStereo: source === 'screen-audio' },
          // We stop tracks ourselves: a rejoin re-produces the same tracks on a new transport.
          stopTracks: false,
          appData,
        });
        // The context was only for the produce request; the producer outlives the action.
        delete producer.appData.trace;
        span.setAttribute('parley.producer', producer.id);
        if (this.closed) {
          this.stopTrack(track);
          producer.close();
          return;
        }
        this.producers.set(source, producer);
        this.showTrack(source, track);
        // A moderator locked it: the server holds it paused, so our side does too.
        if (this.deps.store.get('self')?.locks.includes(source)) await this.setPaused(source, true, ctx);
      } catch (err) {
        this.stopTrack(track);
        throw err;
      }
    });
  }

  /** The device went away (unplugged, or taken by the OS): try the default one, else turn the feed off. */
  private async onUnplugged(source: CaptureSource, ended: MediaStreamTrack): Promise<void> {
    const producer = this.producers.get(source);
    if (this.closed || !producer || producer.track !== ended) return;
    try {
      await this.replaceTrack(source, producer, await this.deps.capture.track(source, ''));
      this.deps.events.emit('error', { kind: 'device-lost', source, replaced: true });
    } catch {
      this.deps.events.emit('error', { kind: 'device-lost', source, replaced: false });
      await this.set(source, false);
    }
  }

  /**
   * The new track is stopped unless it ends up on a live producer: the capture took time, and meanwhile the
   * user may have turned the feed off or left (the camera light must go off).
   */
  private async replaceTrack(source: CaptureSource, producer: types.Producer, track: MediaStreamTrack): Promise<void> {
    const old = producer.track;
    try {
      if (this.closed || producer.closed) throw new Error(`the ${source} producer was closed`);
      await producer.replaceTrack({ track });
    } catch (err) {
      this.stopTrack(track);
      throw err;
    }
    this.stopTrack(old);
    if (this.closed || producer.closed) {
      this.stopTrack(track);
      return;
    }
    track.addEventListener('ended', () => void this.onUnplugged(source, track));
    this.showTrack(source, track);
  }

  private stopTrack(track: MediaStreamTrack | null | undefined): void {
    if (!track) return;
    track.stop();
    this.deps.capture.release?.(track);
  }

  private showTrack(source: Source, track: MediaStreamTrack | undefined): void {
    const { [source]: _old, ...rest } = this.deps.store.get('localTracks');
    this.deps.store.set('localTracks', track ? { ...rest, [source]: track } : rest);
  }

  private setPending(feed: Feed, pending: boolean): void {
    const next = new Set(this.deps.store.get('pendingFeeds'));
    if (pending) next.add(feed);
    else next.delete(feed);
    this.deps.store.set('pendingFeeds', next);
  }
}

function encodingsFor(source: Source, camera: types.RtpEncodingParameters[]): types.RtpEncodingParameters[] | undefined {
  if (source === 'camera') return camera;
  if (source === 'screen') return SCREEN_ENCODINGS;
  return undefined;
}
