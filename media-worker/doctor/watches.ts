import type { types } from 'mediasoup';
import type { ClientConsumerStats, ConsumerHealth, HealthCause, Remediation } from '../../protocol/telemetry.ts';
import type { Source } from '../../protocol/room.ts';
import type { ConsumerTrace } from './consumer-trace.ts';
import type { LiveObservation, Verdict } from './health.ts';
import type { PeerTransport, ProducerData } from '../sfu/peer.ts';
import { pausedByPublisher } from '../sfu/key-frames.ts';

/*
 * What the doctor remembers between ticks about each consumer, producer and transport it watches. Counters
 * are judged by when they last advanced, measured at sample times (never "now"), so a consumer sampled
 * seldom is not taken for idle.
 */

/** The doctor looks this often; producers and consumers under suspicion are sampled every time. */
export const DOCTOR_TICK_MS = 500;
/** A consumer under suspicion (young, or something telling happened) is sampled every tick; others this often. */
export const SAMPLE_HEALTHY_MS = 4_000;
const WATCH_CLOSELY_MS = 10_000;
const MAX_REMEDIATIONS = 20;

/**
 * When a counter that moved since the previous sample last moved: between the two samples, so half a tick
 * back. On the tick grid a stall is then named after 1.5–2 s of real silence, whatever the phase of the ticks.
 */
function lastMoved(previousSampleAt: number, now: number): number {
  return Math.max(previousSampleAt, now - DOCTOR_TICK_MS / 2);
}

export type RemediationRecord = ConsumerHealth['remediations'][number];
export type ClientReport = ClientConsumerStats & { at: number };

/** Remediations done and when, each kept to its backoff. */
export class RemediationLog {
  readonly list: RemediationRecord[] = [];
  private last = new Map<Remediation, number>();

  /** Whether `action` may run now (at most once per `backoffMs`); records it if so. */
  tryRecord(action: Remediation, cause: HealthCause, now: number, backoffMs: number): boolean {
    const last = this.last.get(action);
    if (last !== undefined && now - last < backoffMs) return false;
    this.record(action, cause, now);
    return true;
  }

  record(action: Remediation, cause: HealthCause, at: number): void {
    if (this.last.get(action) === at) return;
    this.last.set(action, at);
    this.list.push({ action, at, cause });
    if (this.list.length > MAX_REMEDIATIONS) this.list.shift();
  }
}

/** One producer as its consumers here see it: sampled once per tick, shared by all of them. */
export class ProducerWatch {
  packetCount = 0;
  private samples = 0;
  private sampledAt = 0;
  private advancedAt: number;
  private resumedAt = 0;

  constructor(
    readonly producer: types.Producer<ProducerData>,
    now: number,
  ) {
    this.advancedAt = now;
  }

  async sample(now: number): Promise<void> {
    const stats = await this.producer.getStats();
    const count = stats.reduce((sum, s) => sum + s.packetCount, 0);
    if (count !== this.packetCount) this.advancedAt = lastMoved(this.sampledAt, now);
    this.packetCount = count;
    this.sampledAt = now;
    this.samples++;
  }

  resumed(now: number): void {
    this.resumedAt = now;
  }

  /** How long no packet has arrived, as of the latest sample; undefined before the first. */
  idleMs(): number | undefined {
    return this.samples === 0 ? undefined : Math.max(0, this.sampledAt - Math.max(this.advancedAt, this.resumedAt));
  }

  get score(): number {
    return Math.max(0, ...this.producer.score.map((s) => s.score));
  }
}

/** One WebRTC transport: since when it has not been connected, and the repairs asked of its client. */
export class TransportWatch {
  /** Undefined while connected; a new transport is not connected yet. */
  downSince: number | undefined;
  restartedIceAt?: number;

  constructor(readonly transport: PeerTransport) {
    this.downSince = Date.now();
    const update = () => {
      if (isUp(transport)) this.downSince = undefined;
      else this.downSince ??= Date.now();
    };
    if (transport.type === 'webrtc') {
      transport.on('icestatechange', update);
      transport.on('dtlsstatechange', update);
    } else {
      // A plain transport is up once it knows where to send (comedia: the first packet from the tester).
      transport.on('tuple', update);
    }
  }

  downMs(now: number): number {
    return this.downSince === undefined ? 0 : now - this.downSince;
  }
}

function isUp(transport: PeerTransport): boolean {
  if (transport.type !== 'webrtc') return transport.tuple.remoteIp !== undefined;
  return transport.dtlsState === 'connected' && (transport.iceState === 'connected' || transport.iceState === 'completed');
}

function isLayered(consumer: types.Consumer): boolean {
  return consumer.type === 'simulcast' || consumer.type === 'svc';
}

export interface ConsumerOwner {
  peerId: string;
  producerPeerId: string;
  source: Source;
  /** The media-worker instance the producer is piped from (null: it is local). */
  pipedFrom: string | null;
}

/** One live consumer: the evidence the doctor gathers about it, its verdict and its remediations. */
export class ConsumerWatch {
  readonly createdAt = Date.now();
  /** Paused by its client on purpose (pauseConsumer), until it resumes it. */
  clientPaused = false;
  keyFrames = 0;
  client?: ClientReport;
  decodeStalls = 0;
  verdict: Verdict = { status: 'pending', cause: null, detail: 'just created' };
  since = this.createdAt;
  readonly remediations = new RemediationLog();
  firstRtpSeen = false;
  private resumedAt?: number;
  private packetCount = 0;
  private sampledAt = 0;
  private advancedAt = this.createdAt;
  private layersMissingSince?: number;
  /** When mediasoup last said no layer is current (its layerschange to none), while none came back since. */
  private layersLostAt?: number;
  /**
   * Whether mediasoup has a layer it means to forward (a target layer), as of the latest sample. With none
   * current, a target tells "waiting for its key frame" (no-key-frame) from "no layer it can choose".
   */
  private targetLayer = true;
  /** Whether a layer was ever current or targeted: a consumer that never had one has missed it since its start. */
  private hadLayer = false;
  private lastKeyFrameTimestamp?: number;
  private closelyUntil = this.createdAt + WATCH_CLOSELY_MS;
  private nextSampleAt = 0;

  constructor(
    readonly consumer: types.Consumer,
    readonly producer: ProducerWatch,
    readonly transport: TransportWatch,
    readonly owner: ConsumerOwner,
    readonly trace: ConsumerTrace,
    readonly workerPid = 0,
  ) {}

  /** Something telling happened (a score change, a stalled report, a resume): look every tick for a while. */
  watchClosely(now: number): void {
    this.closelyUntil = Math.max(this.closelyUntil, now + WATCH_CLOSELY_MS);
    this.nextSampleAt = 0;
  }

  resumed(now: number): void {
    this.resumedAt = now;
    this.watchClosely(now);
  }

  /** A layerschange: losing every layer is telling, and when it happened dates layer-unavailable's onset. */
  layersChanged(some: boolean, now: number): void {
    this.layersLostAt = some ? undefined : now;
    if (!some) this.watchClosely(now);
  }

  /** Paused by its publisher (a key frame forced by the room pauses it for a moment too: not that). */
  private get producerPaused(): boolean {
    return pausedByPublisher(this.consumer.producerId, this.consumer.producerPaused);
  }

  /** getStats only when due: every tick under suspicion, every few seconds when fine, never while paused. */
  due(now: number): boolean {
    if (this.consumer.paused || this.producerPaused || now < this.nextSampleAt) return false;
    const suspect = now < this.closelyUntil || this.verdict.status !== 'healthy';
    this.nextSampleAt = suspect ? 0 : now + SAMPLE_HEALTHY_MS;
    return true;
  }

  async sample(now: number): Promise<void> {
    const { consumer } = this;
    const [own] = await consumer.getStats();
    const count = own?.packetCount ?? 0;
    if (count !== this.packetCount) this.advancedAt = lastMoved(this.sampledAt, now);
    this.packetCount = count;
    this.sampledAt = now;
    // Only the dump says which layer mediasoup targets; asked only while no layer is current (rare, brief).
    if (isLayered(consumer) && !consumer.currentLayers) {
      const dump = await consumer.dump();
      this.targetLayer = 'targetSpatialLayer' in dump && dump.targetSpatialLayer >= 0;
    } else {
      this.targetLayer = true;
    }
  }

  onKeyFrame(rtpTimestamp: number | undefined): boolean {
    // mediasoup traces every packet of a key frame; they share the RTP timestamp.
    if (rtpTimestamp !== undefined && rtpTimestamp === this.lastKeyFrameTimestamp) return false;
    this.lastKeyFrameTimestamp = rtpTimestamp;
    this.keyFrames++;
    return true;
  }

  /** A client report: returns the trace events it implies. */
  onReport(stats: ClientConsumerStats, now: number): string[] {
    const previous = this.client;
    const events: string[] = [];
    const frames = stats.framesDecoded ?? 0;
    const packetsMoved = stats.packetsReceived > (previous?.packetsReceived ?? 0);
    if (frames > (previous?.framesDecoded ?? 0)) this.decodeStalls = 0;
    else if (packetsMoved && this.consumer.kind === 'video' && !stats.hidden) this.decodeStalls++;
    else this.decodeStalls = 0;
    if (frames > 0 && !(previous?.framesDecoded ?? 0)) events.push('client-first-frame');
    if ((stats.freezeCount ?? 0) > (previous?.freezeCount ?? 0)) events.push('client-freeze');
    if (!packetsMoved || this.decodeStalls > 0) this.watchClosely(now);
    this.client = { ...stats, at: now };
    return events;
  }

  observe(now: number): LiveObservation {
    const { consumer, transport } = this;
    const active = !consumer.paused && !this.producerPaused;
    const layered = isLayered(consumer);
    const start = this.resumedAt ?? this.createdAt;
    if (!layered || !active || consumer.currentLayers || this.targetLayer) {
      this.layersMissingSince = undefined;
      this.hadLayer ||= layered && active;
    }
    // From the moment mediasoup dropped the layer (or, for a consumer that never had one, its start), not the
    // tick that saw it (as lastMoved does for counters).
    else this.layersMissingSince ??= Math.max(this.layersLostAt ?? (this.hadLayer ? now : start), start);
    // Forwarding is judged from the (last) resume of the consumer or its producer, at the latest sample.
    const forwarding = Math.max(this.advancedAt, start);
    const forwardIdleMs = active && this.sampledAt > forwarding ? this.sampledAt - forwarding : undefined;
    return {
      kind: consumer.kind,
      layered,
      ageMs: now - this.createdAt,
      transport: {
        iceState: transport.transport.type === 'webrtc' ? transport.transport.iceState : 'none',
        dtlsState: transport.transport.type === 'webrtc' ? transport.transport.dtlsState : 'none',
        downMs: transport.downMs(now),
      },
      paused: consumer.paused,
      producerPaused: this.producerPaused,
      clientPaused: this.clientPaused || (this.client?.hidden === true && now - this.client.at < 3_000),
      producerIdleMs: this.producerPaused ? undefined : this.producer.idleMs(),
      forwardIdleMs,
      layersMissingMs: this.layersMissingSince === undefined ? 0 : now - this.layersMissingSince,
      keyFrames: this.keyFrames,
      decodeStalls: this.decodeStalls,
      relayCandidates: this.client && now - this.client.at < 3_000 ? this.client.relayCandidates : undefined,
    };
  }

  health(traceId: string): ConsumerHealth {
    const { consumer, owner } = this;
    return {
      consumerId: consumer.id,
      producerId: consumer.producerId,
      peerId: owner.peerId,
      producerPeerId: owner.producerPeerId,
      kind: consumer.kind,
      source: owner.source,
      ...this.verdict,
      since: this.since,
      traceId,
      server: {
        paused: consumer.paused,
        producerPaused: this.producerPaused,
        score: consumer.score.score,
        producerScore: consumer.score.producerScore,
        packetCount: this.packetCount,
        producerPacketCount: this.producer.packetCount,
        keyFrames: this.keyFrames,
        currentSpatialLayer: consumer.currentLayers?.spatialLayer ?? null,
        preferredSpatialLayer: consumer.preferredLayers?.spatialLayer ?? null,
      },
      client: this.client ?? null,
      remediations: [...this.remediations.list],
    };
  }
}
