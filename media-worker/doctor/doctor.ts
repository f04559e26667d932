import type { types } from 'mediasoup';
import type { RoomEvent } from '../../protocol/media.ts';
import type { ClientConsumerStats, ConsumerHealth, HealthCause, Remediation } from '../../protocol/telemetry.ts';
import { context, traceIdOf } from '../../tracing/context.ts';
import type { Attributes } from '../../tracing/context.ts';
import { ConsumerTrace } from './consumer-trace.ts';
import { judge } from './health.ts';
import type { Observation, Verdict } from './health.ts';
import type { HealthCounters } from '../metrics.ts';
import type { KeyFrameCause } from '../sfu/key-frames.ts';
import type { PeerTransport, ProducerData } from '../sfu/peer.ts';
import { mediaAttributes, mediasoupCall } from '../sfu/spans.ts';
import type { MediaIds } from '../sfu/spans.ts';
import { ConsumerWatch, ProducerWatch, RemediationLog, TransportWatch } from './watches.ts';
import { Publishers } from './publishers.ts';
import type { PublisherFault } from './publishers.ts';
import type { ClientProducerStats, ConsumerNotice, ProducerHealth } from '../../protocol/publisher.ts';
import type { UnhealthyConsumer, UnhealthyProducer } from '../../protocol/incidents.ts';

export { DOCTOR_TICK_MS } from './watches.ts';
import type { ConsumerOwner } from './watches.ts';
import { log } from '../../tracing/log.ts';

const TOMBSTONE_MS = 60_000;
/** A client report older than this no longer says what the client shows. */
const REPORT_FRESH_MS = 3_000;
/** Minimum time between two attempts of the same remediation on the same target. */
const BACKOFF_MS: Record<Remediation, number> = {
  'request-key-frame': 1_000,
  'resume-consumer': 3_000,
  'set-preferred-layers': 5_000,
  'close-consumer': 2_000,
  'restart-ice': 10_000,
  'reset-media': 15_000,
  reconsume: 10_000,
  // The publisher's side (publishers.ts keeps its own backoffs).
  'lower-top-layer': 3_000,
  'restart-send-ice': 10_000,
  'reacquire-track': 10_000,
};
/** A repair is "under way" on a viewer's tile for this long after it was tried. */
const REPAIR_SHOWN_MS = 10_000;
/** transport-not-connected: how long after an ICE restart was asked for the client is told to rebuild. */
const RESET_AFTER_RESTART_MS = 2_000;
/** decoder-stall: how long a key frame may take to cure it before the client is asked to consume again. */
const RECONSUME_AFTER_MS = 3_000;

export interface DoctorDeps {
  roomId: string;
  publish: (event: RoomEvent) => void;
  /** Runs an operation on a consumer after those already queued on it (the room's KeyedSerial). */
  serial: <T>(key: string, operation: () => Promise<T>) => Promise<T>;
  /** Closes a peer's transports and tells its client to build them again. */
  resetMedia: (peerId: string) => void;
  /** Before the doctor resumes a consumer: aim it at its lowest layer, as every resume does (sfu/viewer-layers.ts). */
  startLow: (consumer: types.Consumer) => Promise<void>;
  counters: HealthCounters;
  /** Dynacast (sfu/dynacast.ts): a ceiling on a producer's simulcast layers, and what it sends now. */
  limitLayers: (producerId: string, cap: { max: number; reason: 'bandwidth' | 'cpu' } | undefined) => void;
  layers: (producerId: string) => { max: number; reason: NonNullable<ProducerHealth['layerReason']>; top: number } | undefined;
}

/** A consumer that is gone (or never was), kept for a while: what its client still shows is evidence. */
interface Tombstone {
  cause: 'codec-unsupported' | 'producer-closed';
  at: number;
  health: ConsumerHealth;
  trace?: ConsumerTrace;
  remediations: RemediationLog;
  /** The latest client report that listed it. */
  reportedAt?: number;
}

/** The consumer trace events the doctor counts for a consumer's whole life (mediasoup sends each one it asks for). */
const RARE_TRACE_EVENTS: types.ConsumerTraceEventType[] = ['keyframe', 'pli', 'fir', 'nack'];

/**
 * The black-screen doctor of one room: watches every consumer, names why one shows no picture (health.ts),
 * repairs what it can, and records all of it in the consumer's trace.
 */
export class Doctor {
  private watches = new Map<string, ConsumerWatch>();
  private producers = new Map<string, ProducerWatch>();
  private transports = new Map<string, TransportWatch>();
  /** Keyed by `<peerId>/<consumerId>`. */
  private tombstones = new Map<string, Tombstone>();
  private lastReportAt = new Map<string, number>();
  private resetAt = new Map<string, number>();
  private busy = false;
  /** The publishers' side: a verdict per producer of a peer connected here. */
  private publishers: Publishers;
  /** What each viewer was last told of each consumer (consumerId → key), so only changes are sent. */
  private told = new Map<string, string>();

  constructor(private deps: DoctorDeps) {
    const { roomId, publish, counters } = deps;
    this.publishers = new Publishers({
      tell: (peerId, remedy) => publish({ type: 'remedy', roomId, peerId, remedy }),
      limitLayers: deps.limitLayers,
      layers: deps.layers,
      changed: (producerId, fault) => publish({ type: 'producerVerdict', roomId, producerId, fault }),
      remediated: (action, cause) => counters.remediated(action, cause),
    });
  }

  /** A new producer of a peer connected here: its publisher's side is judged too. */
  watchProducer(producer: types.Producer<ProducerData>, transport: PeerTransport): void {
    this.publishers.watch(producer, this.transports.get(transport.id) ?? this.watchTransport(transport));
  }

  /** What a publisher's client sends (reportProducerStats); producers it does not own are ignored. */
  reportProducers(peerId: string, producers: ClientProducerStats[]): void {
    this.publishers.report(peerId, producers);
  }

  /** Another instance's verdict on one of its producers, for our consumers piped from it. */
  remoteProducerVerdict(producerId: string, fault: PublisherFault | null): void {
    this.publishers.remoteVerdict(producerId, fault);
  }

  /** Every unhealthy consumer and producer of the room, for the incident correlator (protocol/incidents.ts). */
  unhealthy(): { consumers: UnhealthyConsumer[]; producers: UnhealthyProducer[] } {
    const roomId = this.deps.roomId;
    const consumers: UnhealthyConsumer[] = [];
    for (const w of this.watches.values()) {
      if (w.verdict.status !== 'unhealthy' || !w.verdict.cause) continue;
      consumers.push({
        roomId,
        consumerId: w.consumer.id,
        peerId: w.owner.peerId,
        producerId: w.consumer.producerId,
        producerPeerId: w.owner.producerPeerId,
        cause: w.verdict.cause,
        since: w.since,
        pipedFrom: w.owner.pipedFrom,
        workerPid: w.workerPid,
        repairs: [...new Set(w.remediations.list.filter((r) => r.cause === w.verdict.cause).map((r) => r.action))],
      });
    }
    return { consumers, producers: this.publishers.unhealthy(roomId) };
  }

  /** This peer's producers as the doctor sees them. */
  publishing(peerId: string): ProducerHealth[] {
    return this.publishers.health(peerId);
  }

  watchTransport(transport: PeerTransport): TransportWatch {
    const watch = new TransportWatch(transport);
    this.transports.set(transport.id, watch);
    (transport.observer as types.TransportObserver).once('close', () => this.transports.delete(transport.id));
    return watch;
  }

  /** A new consumer (created paused); its lifecycle span is a child of the active context (the consume). */
  watch(
    consumer: types.Consumer,
    producer: types.Producer<ProducerData>,
    transport: PeerTransport,
    owner: ConsumerOwner,
    workerPid: number,
  ): ConsumerWatch {
    const ids = {
      room: this.deps.roomId,
      peer: owner.peerId,
      transport: transport.id,
      producer: producer.id,
      consumer: consumer.id,
      workerPid,
    };
    const consumerTrace = new ConsumerTrace({
      ...mediaAttributes(ids),
      'parley.kind': consumer.kind,
      'parley.source': owner.source,
      'parley.consumer.type': consumer.type,
    });
    let producerWatch = this.producers.get(producer.id);
    if (producerWatch?.producer !== producer) {
      producerWatch = new ProducerWatch(producer, Date.now());
      this.producers.set(producer.id, producerWatch);
    }
    const transportWatch = this.transports.get(transport.id) ?? this.watchTransport(transport);
    const w = new ConsumerWatch(consumer, producerWatch, transportWatch, owner, consumerTrace, workerPid);
    this.watches.set(consumer.id, w);
    consumerTrace.event('created', { paused: consumer.paused });
    this.listen(w);
    return w;
  }

  /** consume refused (router.canConsume false; its span fails with the error): a tombstone per subscriber and producer. */
  unsupported(peerId: string, producer: types.Producer<ProducerData>, ownerPeerId: string): void {
    const consumerId = `unsupported-${producer.id}`;
    const now = Date.now();
    const health = blankHealth(consumerId, producer, peerId, ownerPeerId, traceIdOf(context.active()), now);
    const tomb: Tombstone = { cause: 'codec-unsupported', at: now, health, remediations: new RemediationLog() };
    this.tombstones.set(`${peerId}/${consumerId}`, tomb);
    this.judgeGone(tomb, now);
  }

  /** The consumer is about to close because its producer closed: its client must drop the tile. */
  producerClosed(consumerId: string): void {
    const w = this.watches.get(consumerId);
    if (!w) return;
    const now = Date.now();
    w.trace.event('producer-closed');
    const health = {
      ...w.health(w.trace.traceId),
      status: 'healthy' as const,
      cause: null,
      detail: 'closed with its producer',
      since: now,
    };
    const tomb: Tombstone = { cause: 'producer-closed', at: now, health, trace: w.trace, remediations: w.remediations };
    this.tombstones.set(`${w.owner.peerId}/${consumerId}`, tomb);
  }

  /** The room forces a key frame from this producer (sfu/key-frames.ts): the pause and resume around it are not the publisher's. */
  keyFrameForced(producerId: string, cause: KeyFrameCause): void {
    this.deps.counters.keyFrameForced(cause);
    for (const w of this.watches.values()) if (w.consumer.producerId === producerId) w.trace.event('key-frame-forced', { cause });
  }

  /** pauseConsumer / resumeConsumer from the client. */
  clientSetPaused(consumerId: string, paused: boolean): void {
    const w = this.watches.get(consumerId);
    if (!w) return;
    w.clientPaused = paused;
    w.trace.event(paused ? 'paused' : 'resumed', { by: 'client' });
    if (!paused) w.resumed(Date.now());
  }

  /** What the client shows of its consumers; ids it does not own are ignored, tombstones noted. */
  report(peerId: string, consumers: ClientConsumerStats[]): void {
    const now = Date.now();
    this.lastReportAt.set(peerId, now);
    for (const stats of consumers) {
      const w = this.watches.get(stats.consumerId);
      if (w?.owner.peerId === peerId) {
        for (const event of w.onReport(stats, now)) w.trace.event(event, clientAttributes(stats));
        continue;
      }
      const tomb = this.tombstones.get(`${peerId}/${stats.consumerId}`);
      if (tomb) {
        tomb.reportedAt = now;
        tomb.health.client = { ...stats, at: now };
        // Judged now rather than at the next tick: reports are this verdict's only evidence.
        this.judgeGone(tomb, now);
      }
    }
  }

  /** One look at every consumer: sample what is due, judge, repair. Skipped while the previous one runs. */
  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await Promise.all([this.sample(Date.now()), this.publishers.tick(Date.now())]);
      const now = Date.now();
      for (const w of this.watches.values()) this.judgeLive(w, now);
      for (const [key, tomb] of this.tombstones) {
        if (now - tomb.at > TOMBSTONE_MS) this.tombstones.delete(key);
        else this.judgeGone(tomb, now);
      }
    } finally {
      this.busy = false;
    }
  }

  /** This peer's consumers as the doctor sees them, with the tombstones that still tell something. */
  health(peerId: string): ConsumerHealth[] {
    const live = [...this.watches.values()].filter((w) => w.owner.peerId === peerId).map((w) => w.health(w.trace.traceId));
    const gone = [...this.tombstones.values()].filter((t) => t.health.peerId === peerId && t.health.status !== 'healthy');
    return [...live, ...gone.map((t) => ({ ...t.health, remediations: [...t.remediations.list] }))];
  }

  /** Current verdicts, for the health gauge. */
  *verdicts(): Iterable<Verdict> {
    for (const w of this.watches.values()) yield w.verdict;
    for (const t of this.tombstones.values()) if (t.health.status !== 'healthy') yield t.health;
  }

  forgetPeer(peerId: string): void {
    for (const [key, tomb] of this.tombstones) if (tomb.health.peerId === peerId) this.tombstones.delete(key);
    this.lastReportAt.delete(peerId);
    this.resetAt.delete(peerId);
  }

  close(): void {
    for (const w of this.watches.values()) w.trace.end();
    this.watches.clear();
    this.producers.clear();
    this.transports.clear();
    this.tombstones.clear();
  }

  private listen(w: ConsumerWatch): void {
    const { consumer, trace: t } = w;
    consumer.on('producerpause', () => t.event('producer-paused'));
    consumer.on('producerresume', () => {
      t.event('producer-resumed');
      w.producer.resumed(Date.now());
      w.resumed(Date.now());
    });
    let lastScore = consumer.score.score;
    consumer.on('score', ({ score, producerScore }) => {
      if (bucket(score) === bucket(lastScore)) return;
      lastScore = score;
      t.event('score', { score, producerScore });
      w.watchClosely(Date.now());
    });
    consumer.on('layerschange', (layers) => {
      t.event('layers-changed', { spatial: layers?.spatialLayer ?? -1, temporal: layers?.temporalLayer ?? -1 });
      w.layersChanged(layers !== undefined, Date.now());
    });
    const firstRtp = () => {
      if (w.firstRtpSeen) return;
      w.firstRtpSeen = true;
      t.event('first-rtp');
    };
    consumer.on('trace', (event) => {
      if (event.type === 'rtp') {
        if (w.firstRtpSeen) return;
        firstRtp();
        void consumer.enableTraceEvent(RARE_TRACE_EVENTS).catch(() => undefined);
      } else if (event.type === 'keyframe') {
        // A video consumer starts at a key frame: its first one is its first packet.
        firstRtp();
        if (w.onKeyFrame(rtpTimestampOf(event.info))) t.count('key-frame');
      } else {
        t.count(event.type);
      }
    });
    consumer.observer.once('close', () => {
      t.end({ 'parley.consumer.closed': true });
      this.watches.delete(consumer.id);
      this.told.delete(consumer.id);
      const producerId = consumer.producerId;
      if (![...this.watches.values()].some((other) => other.producer === w.producer)) {
        if (this.producers.get(producerId) === w.producer) this.producers.delete(producerId);
      }
    });
    // The consumer is paused, so no packet is missed; the channel keeps this ahead of any resume. One trace event per
    // packet is far too many, and only until the first one is it wanted: video's first packet is its key frame's. A
    // video stream that many consumers wait for (created while its publisher was silent or paused) starts them all at
    // once, and 400 consumers tracing each packet until told to stop flooded the worker's channel: one picture stayed
    // black for every viewer and the others lost a quarter of their packets (bench/capacity.ts).
    const kinds = consumer.kind === 'video' ? RARE_TRACE_EVENTS : ['rtp' as const, ...RARE_TRACE_EVENTS];
    void consumer.enableTraceEvent(kinds).catch(() => undefined);
  }

  private async sample(now: number): Promise<void> {
    const producers = new Set<ProducerWatch>();
    const consumers: ConsumerWatch[] = [];
    for (const w of this.watches.values()) {
      if (!w.consumer.producerPaused) producers.add(w.producer);
      if (w.due(now)) consumers.push(w);
    }
    // Objects may close while we ask: their next tick will not find them.
    const ignore = () => undefined;
    await Promise.all([
      ...[...producers].map((p) => p.sample(now).catch(ignore)),
      ...consumers.map((w) => w.sample(now).catch(ignore)),
    ]);
  }

  private judgeLive(w: ConsumerWatch, now: number): void {
    const { producerId } = w.consumer;
    const fault = this.publishers.fault(producerId);
    const publisherWatched = this.publishers.watched(producerId);
    this.setVerdict(w, judge({ ...w.observe(now), publisher: fault, publisherWatched }), now);
    if (w.verdict.cause) this.remedy(w, w.verdict.cause, now);
    this.tellViewer(w, fault, now);
  }

  /** The viewer's tile says why it is black or frozen, and what is being done: told on every change. */
  private tellViewer(w: ConsumerWatch, fault: PublisherFault | undefined, now: number): void {
    const { verdict } = w;
    const own = w.remediations.list.at(-1);
    const repair =
      verdict.cause && fault?.cause === verdict.cause
        ? fault.repair
        : own && own.cause === verdict.cause && now - own.at < REPAIR_SHOWN_MS
          ? own.action
          : null;
    const key = verdict.status === 'unhealthy' ? `${verdict.cause}|${repair}` : 'fine';
    const last = this.told.get(w.consumer.id);
    if (key === last || (last === undefined && key === 'fine')) return;
    this.told.set(w.consumer.id, key);
    const notice: ConsumerNotice = {
      consumerId: w.consumer.id,
      producerId: w.consumer.producerId,
      status: verdict.status,
      cause: verdict.cause,
      repair,
      since: w.since,
      traceId: w.trace.traceId,
    };
    this.deps.publish({ type: 'consumerNotice', roomId: this.deps.roomId, peerId: w.owner.peerId, notice });
  }

  private judgeGone(tomb: Tombstone, now: number): void {
    const peerId = tomb.health.peerId;
    const latest = this.lastReportAt.get(peerId);
    const stillShown = tomb.reportedAt !== undefined && tomb.reportedAt === latest && now - tomb.reportedAt < REPORT_FRESH_MS;
    const observation: Observation =
      tomb.cause === 'codec-unsupported'
        ? { gone: 'codec-unsupported' }
        : { gone: 'producer-closed', reportedAfterCloseMs: stillShown ? tomb.reportedAt! - tomb.at : undefined };
    const verdict = judge(observation);
    if (verdict.status !== tomb.health.status || verdict.cause !== tomb.health.cause) {
      Object.assign(tomb.health, verdict, { since: now });
      tomb.trace?.event('verdict', verdictAttributes(verdict));
    }
    if (
      verdict.cause === 'producer-closed' &&
      tomb.remediations.tryRecord('close-consumer', verdict.cause, now, BACKOFF_MS['close-consumer'])
    ) {
      this.deps.counters.remediated('close-consumer', verdict.cause);
      tomb.trace?.event('remediation', { action: 'close-consumer', cause: verdict.cause });
      const { consumerId, producerId } = tomb.health;
      this.deps.publish({ type: 'consumerClosed', roomId: this.deps.roomId, peerId, consumerId, producerId });
    }
  }

  private setVerdict(w: ConsumerWatch, verdict: Verdict, now: number): void {
    if (verdict.status === w.verdict.status && verdict.cause === w.verdict.cause) {
      w.verdict = verdict;
      return;
    }
    w.verdict = verdict;
    w.since = now;
    w.trace.event('verdict', verdictAttributes(verdict));
  }

  private remedy(w: ConsumerWatch, cause: HealthCause, now: number): void {
    const { consumer } = w;
    const ids: MediaIds = { room: this.deps.roomId, peer: w.owner.peerId, consumer: consumer.id, producer: consumer.producerId };
    const keyFrame = () => mediasoupCall('requestKeyFrame', ids, () => consumer.requestKeyFrame());
    switch (cause) {
      case 'consumer-never-resumed':
        return this.act(w, 'resume-consumer', cause, now, async () => {
          await this.deps.serial(consumer.id, async () => {
            await this.deps.startLow(consumer);
            await mediasoupCall('resumeConsumer', ids, () => consumer.resume());
          });
          w.trace.event('resumed', { by: 'doctor' });
          w.resumed(Date.now());
          if (consumer.kind === 'video') await keyFrame();
        });
      case 'no-key-frame':
        return this.act(w, 'request-key-frame', cause, now, keyFrame);
      case 'layer-unavailable':
        return this.act(w, 'set-preferred-layers', cause, now, () =>
          mediasoupCall('setPreferredLayers', ids, () => consumer.setPreferredLayers({ spatialLayer: 0 })),
        );
      case 'decoder-stall':
        if (now - w.since < RECONSUME_AFTER_MS) return this.act(w, 'request-key-frame', cause, now, keyFrame, RECONSUME_AFTER_MS);
        return this.act(w, 'reconsume', cause, now, async () =>
          this.tellClient(w, { action: 'reconsume', consumerId: consumer.id, producerId: consumer.producerId, cause }),
        );
      case 'transport-not-connected':
        return this.repairTransport(w, cause, now);
      default:
        // producer-paused (the publisher muted), no-rtp-from-producer (its sender stopped) and no-relay-candidates
        // (TURN refuses the client: the operator's to fix): nothing to do here.
        return;
    }
  }

  /** First an ICE restart by the client; if the transport is still down a little later, rebuild its media. */
  private repairTransport(w: ConsumerWatch, cause: HealthCause, now: number): void {
    const tw = w.transport;
    const peerId = w.owner.peerId;
    if (tw.restartedIceAt === undefined || now - tw.restartedIceAt >= BACKOFF_MS['restart-ice']) {
      tw.restartedIceAt = now;
      this.act(w, 'restart-ice', cause, now, async () =>
        this.tellClient(w, { action: 'restart-ice', transportId: tw.transport.id, cause }),
      );
    } else if (now - tw.restartedIceAt < RESET_AFTER_RESTART_MS) {
      // The same repair, asked for once per transport: recorded on every consumer it is for.
      w.remediations.record('restart-ice', cause, tw.restartedIceAt);
    } else if (now - (this.resetAt.get(peerId) ?? -Infinity) >= BACKOFF_MS['reset-media']) {
      // Closes every transport of the peer, so all its consumers (this one too) go: once per peer.
      this.resetAt.set(peerId, now);
      this.act(w, 'reset-media', cause, now, async () => this.deps.resetMedia(peerId));
    }
  }

  private tellClient(w: ConsumerWatch, remedy: Extract<RoomEvent, { type: 'remedy' }>['remedy']): void {
    this.deps.publish({ type: 'remedy', roomId: this.deps.roomId, peerId: w.owner.peerId, remedy });
  }

  /** Runs a remediation at most once per its backoff, recorded in the consumer's health, trace and metrics. */
  private act(
    w: ConsumerWatch,
    action: Remediation,
    cause: HealthCause,
    now: number,
    fn: () => Promise<unknown>,
    backoffMs = BACKOFF_MS[action],
  ): void {
    if (!w.remediations.tryRecord(action, cause, now, backoffMs)) return;
    this.deps.counters.remediated(action, cause);
    void w.trace.run('remediation', { action, cause }, fn).catch((err: Error) => {
      log.warn('doctor repair failed', { action, cause, consumer: w.consumer.id, error: err.message });
    });
  }
}

/** A tombstone for a consumer that was never made. */
function blankHealth(
  consumerId: string,
  producer: types.Producer<ProducerData>,
  peerId: string,
  producerPeerId: string,
  traceId: string,
  now: number,
): ConsumerHealth {
  return {
    consumerId,
    producerId: producer.id,
    peerId,
    producerPeerId,
    kind: producer.kind,
    source: producer.appData.source,
    status: 'pending',
    cause: null,
    detail: '',
    since: now,
    traceId,
    server: {
      paused: false,
      producerPaused: producer.paused,
      score: 0,
      producerScore: 0,
      packetCount: 0,
      producerPacketCount: 0,
      keyFrames: 0,
      currentSpatialLayer: null,
      preferredSpatialLayer: null,
    },
    client: null,
    remediations: [],
  };
}

function verdictAttributes(verdict: Verdict): Attributes {
  return { status: verdict.status, cause: verdict.cause ?? '', detail: verdict.detail };
}

function clientAttributes(stats: ClientConsumerStats): Attributes {
  return { packetsReceived: stats.packetsReceived, framesDecoded: stats.framesDecoded ?? 0, freezeCount: stats.freezeCount ?? 0 };
}

/** Score changes worth an event: 0, poor, fair, good. */
function bucket(score: number): number {
  return score === 0 ? 0 : score < 5 ? 1 : score < 8 ? 2 : 3;
}

function rtpTimestampOf(info: unknown): number | undefined {
  const packet = (info as { rtpPacket?: { timestamp?: unknown } } | undefined)?.rtpPacket;
  return typeof packet?.timestamp === 'number' ? packet.timestamp : undefined;
}
