import type { types } from 'mediasoup';
import type { ClientProducerStats, ProducerHealth, PublisherCause } from '../../protocol/publisher.ts';
import type { ClientRemedy, HealthCause, Remediation } from '../../protocol/telemetry.ts';
import type { ProducerData } from '../sfu/peer.ts';
import { pausedByPublisher } from '../sfu/key-frames.ts';
import type { UnhealthyProducer } from '../../protocol/incidents.ts';
import { PRODUCER_REPORT_MS } from '../../protocol/limits.ts';
import { judgePublisher, provenSendingMs, REPORT_STALE_MS } from './publisher-health.ts';
import type { PublisherObservation, PublisherVerdict } from './publisher-health.ts';
import { ProducerWatch, RemediationLog } from './watches.ts';
import type { TransportWatch } from './watches.ts';

/** A publisher at fault, as its consumers show it: the cause and the repair under way. */
export interface PublisherFault {
  cause: PublisherCause;
  detail: string;
  repair: Remediation | null;
}

/**
 * After a producer starts, or is asked for more layers, its congestion controller ramps up and reports
 * `bandwidth` meanwhile: that is not a bottleneck, so a limit is counted only after this long, and only while
 * the estimate stops growing.
 */
export const RAMP_MS = 5_000;
/**
 * An estimate that grows while near its recent peak is ramping up; one far below the peak it fell from is behind
 * a bottleneck, even while it recovers. The peak fades by this share per report, so an old one does not linger.
 */
const PEAK_FADE = 0.05;
const NEAR_PEAK = 0.9;
/** A layer ceiling (bandwidth or CPU repair) is lifted after this long without the limit, to try again. */
export const CAP_HOLD_MS = 20_000;
const BACKOFF_MS: Partial<Record<Remediation, number>> = {
  'lower-top-layer': 3_000,
  'restart-send-ice': 10_000,
  'reacquire-track': 10_000,
};

export interface PublisherDeps {
  /** Sends a repair to the publisher's client. */
  tell: (peerId: string, remedy: ClientRemedy) => void;
  /** Sets (or lifts, with undefined) a ceiling on the producer's simulcast layers; returns the layer it sends now. */
  limitLayers: (producerId: string, cap: { max: number; reason: 'bandwidth' | 'cpu' } | undefined) => void;
  layers: (producerId: string) => { max: number; reason: ProducerHealth['layerReason'] & string; top: number } | undefined;
  /** A verdict on a producer (or its repair) changed: the consumers of it, here and elsewhere, carry the cause. */
  changed: (producerId: string, fault: PublisherFault | null) => void;
  remediated: (action: Remediation, cause: HealthCause) => void;
}

/** One producer of a publisher connected to this instance: its client's reports and the doctor's verdict. */
class PublisherWatch {
  readonly createdAt = Date.now();
  verdict: PublisherVerdict = { status: 'pending', cause: null, detail: 'just created' };
  since = this.createdAt;
  readonly remediations = new RemediationLog();
  client?: ClientProducerStats & { at: number };
  /** When the verdict was last unhealthy (a ceiling is lifted CAP_HOLD_MS after). */
  lastTroubleAt = 0;
  /** A bandwidth limit before this is the congestion controller ramping up. */
  rampUntil = this.createdAt + RAMP_MS;
  /** The highest layer it was asked to send at the previous look: more means another ramp. */
  lastMaxLayer?: number;
  /** The bandwidth estimate's recent peak (fading). */
  private peakEstimate = 0;
  private mutedSince?: number;
  private framesAdvancedAt = this.createdAt;
  /** The latest report showed a live track encoding nothing since the one before. */
  private framesStalled = false;
  private bytesAdvanced = false;
  /** When the latest three reports arrived, oldest first. */
  private arrivals: number[] = [];
  private bandwidthSince?: number;
  private cpuSince?: number;

  constructor(
    readonly producer: types.Producer<ProducerData>,
    readonly transport: TransportWatch,
    readonly packets: ProducerWatch,
  ) {}

  onReport(stats: ClientProducerStats, now: number): void {
    const previous = this.client;
    const active = stats.layers.filter((l) => l.active);
    const frames = (layers: ClientProducerStats['layers']) =>
      layers.filter((l) => l.active).reduce((n, l) => n + (l.framesEncoded ?? 0), 0);
    const bytes = (s?: ClientProducerStats) => s?.layers.reduce((n, l) => n + l.bytesSent, 0) ?? 0;
    // Whatever a report shows began, on average, half a report interval before it arrived.
    const dated = now - PRODUCER_REPORT_MS / 2;
    this.mutedSince = stats.trackMuted ? (this.mutedSince ?? dated) : undefined;
    const encoding = !stats.trackEnded && !stats.trackMuted && active.length > 0;
    this.framesStalled = encoding && !!previous && frames(stats.layers) <= frames(previous.layers);
    if (!this.framesStalled) this.framesAdvancedAt = now;
    this.bytesAdvanced = bytes(stats) > bytes(previous);
    this.arrivals = [...this.arrivals.slice(-2), now];
    const limited = (reason: string) => active.some((l) => l.qualityLimitationReason === reason);
    const estimate = stats.availableOutgoingBitrate;
    const before = previous?.availableOutgoingBitrate;
    const peak = this.peakEstimate;
    if (estimate !== undefined) this.peakEstimate = Math.max(estimate, peak * (1 - PEAK_FADE));
    // An estimate far below its recent peak fell: a bottleneck, whatever else is going on.
    const fell = estimate !== undefined && estimate < peak * NEAR_PEAK;
    const growing = estimate !== undefined && before !== undefined && estimate > before;
    const ramping = !fell && (now < this.rampUntil || growing);
    this.bandwidthSince = limited('bandwidth') && !ramping ? (this.bandwidthSince ?? dated) : undefined;
    this.cpuSince = limited('cpu') ? (this.cpuSince ?? dated) : undefined;
    this.client = { ...stats, at: now };
  }

  private sendingMs(now: number): number {
    const idleMs = this.packets.idleMs() ?? 0;
    return provenSendingMs({ idleMs, lastPacketAt: now - idleMs, bytesAdvanced: this.bytesAdvanced, arrivals: this.arrivals });
  }

  observe(now: number): PublisherObservation {
    const { producer } = this;
    const fresh = this.client && now - this.client.at < REPORT_STALE_MS ? this.client : undefined;
    const since = (t?: number) => (t === undefined ? 0 : now - t);
    const muted = pausedByPublisher(producer.id, producer.paused);
    return {
      source: producer.appData.source,
      kind: producer.kind,
      ageMs: now - this.createdAt,
      producerPaused: muted,
      producerIdleMs: muted ? undefined : this.packets.idleMs(),
      sendTransportDownMs: this.transport.downMs(now),
      reportSilentMs: this.client && now - this.client.at,
      report: fresh && {
        trackEnded: fresh.trackEnded,
        mutedMs: since(this.mutedSince),
        // Dated from the last report that showed frames, or from when the server last got RTP if that is
        // earlier: a stalled encoder is what explains the silence, and it must not be named later than it.
        framesIdleMs: this.framesStalled ? Math.max(now - this.framesAdvancedAt, this.packets.idleMs() ?? 0) : 0,
        sendingMs: this.sendingMs(now),
        bandwidthLimitedMs: since(this.bandwidthSince),
        cpuLimitedMs: since(this.cpuSince),
        activeLayers: fresh.layers.filter((l) => l.active).length,
      },
    };
  }
}

/**
 * The publisher's side of the black-screen doctor for one room: a verdict per producer of a publisher on this
 * instance (publisher-health.ts), its repairs, and the verdicts consumers elsewhere in the room need.
 */
export class Publishers {
  private watches = new Map<string, PublisherWatch>();
  /** Verdicts on producers whose publisher is at fault, from this instance and the room's others. */
  private faults = new Map<string, PublisherFault>();

  constructor(private deps: PublisherDeps) {}

  watch(producer: types.Producer<ProducerData>, transport: TransportWatch): void {
    const w = new PublisherWatch(producer, transport, new ProducerWatch(producer, Date.now()));
    this.watches.set(producer.id, w);
    producer.observer.once('close', () => {
      this.watches.delete(producer.id);
      this.faults.delete(producer.id);
      if (w.verdict.cause) this.deps.changed(producer.id, null);
    });
  }

  report(peerId: string, producers: ClientProducerStats[]): void {
    const now = Date.now();
    for (const stats of producers) {
      const w = this.watches.get(stats.producerId);
      if (w?.producer.appData.peerId === peerId) w.onReport(stats, now);
    }
  }

  /** The publisher's fault that explains a consumer of `producerId`, if there is one. */
  fault(producerId: string): PublisherFault | undefined {
    return this.faults.get(producerId);
  }

  /** Whether the producer's publisher reports to this instance (its doctor judges it here). */
  watched(producerId: string): boolean {
    return this.watches.has(producerId);
  }

  /** What another instance said of one of its producers (a room event). */
  remoteVerdict(producerId: string, fault: PublisherFault | null): void {
    if (this.watches.has(producerId)) return;
    if (fault) this.faults.set(producerId, fault);
    else this.faults.delete(producerId);
  }

  async tick(now: number): Promise<void> {
    await Promise.all([...this.watches.values()].map((w) => w.packets.sample(now).catch(() => undefined)));
    for (const w of this.watches.values()) this.judge(w, Date.now());
  }

  health(peerId: string): ProducerHealth[] {
    return [...this.watches.values()]
      .filter((w) => w.producer.appData.peerId === peerId)
      .map((w) => {
        const layers = this.deps.layers(w.producer.id);
        return {
          producerId: w.producer.id,
          peerId,
          kind: w.producer.kind,
          source: w.producer.appData.source,
          ...w.verdict,
          since: w.since,
          maxSpatialLayer: layers?.max ?? null,
          layerReason: layers?.reason ?? null,
          client: w.client ?? null,
        };
      });
  }

  unhealthy(roomId: string): UnhealthyProducer[] {
    return [...this.watches.values()].flatMap((w) =>
      w.verdict.cause
        ? [{ roomId, producerId: w.producer.id, peerId: w.producer.appData.peerId, cause: w.verdict.cause, since: w.since }]
        : [],
    );
  }

  *verdicts(): Iterable<PublisherVerdict> {
    for (const w of this.watches.values()) yield w.verdict;
  }

  private judge(w: PublisherWatch, now: number): void {
    const max = this.deps.layers(w.producer.id)?.max;
    if (max !== undefined && w.lastMaxLayer !== undefined && max > w.lastMaxLayer) w.rampUntil = now + RAMP_MS;
    w.lastMaxLayer = max;
    const verdict = judgePublisher(w.observe(now));
    const changed = verdict.status !== w.verdict.status || verdict.cause !== w.verdict.cause;
    w.verdict = verdict;
    if (changed) {
      w.since = now;
      this.setFault(w, verdict.cause ? { cause: verdict.cause, detail: verdict.detail, repair: null } : null);
    }
    if (verdict.cause) {
      w.lastTroubleAt = now;
      this.remedy(w, verdict.cause, now);
    } else if (verdict.status === 'healthy' && now - w.lastTroubleAt > CAP_HOLD_MS) {
      const layers = this.deps.layers(w.producer.id);
      if (layers && (layers.reason === 'bandwidth' || layers.reason === 'cpu')) this.deps.limitLayers(w.producer.id, undefined);
    }
  }

  private remedy(w: PublisherWatch, cause: PublisherCause, now: number): void {
    const { producer } = w;
    const peerId = producer.appData.peerId;
    switch (cause) {
      case 'track-ended':
      case 'encoder-stalled':
        if (producer.appData.source === 'screen') return; // a screen is picked again only by its user
        return this.act(w, 'reacquire-track', cause, now, () =>
          this.deps.tell(peerId, { action: 'reacquire-track', producerId: producer.id, cause }),
        );
      case 'publisher-uplink-lost':
        return this.act(w, 'restart-send-ice', cause, now, () =>
          this.deps.tell(peerId, { action: 'restart-ice', transportId: w.transport.transport.id, cause }),
        );
      case 'publisher-bandwidth-limited':
      case 'publisher-cpu-limited': {
        const layers = this.deps.layers(producer.id);
        if (!layers || layers.max === 0) return;
        const reason = cause === 'publisher-cpu-limited' ? 'cpu' : 'bandwidth';
        return this.act(w, 'lower-top-layer', cause, now, () =>
          this.deps.limitLayers(producer.id, { max: layers.max - 1, reason }),
        );
      }
      default:
        // track-muted, screen-share-paused: the OS, the browser or the user must let frames through again.
        return;
    }
  }

  private act(w: PublisherWatch, action: Remediation, cause: PublisherCause, now: number, fn: () => void): void {
    if (!w.remediations.tryRecord(action, cause, now, BACKOFF_MS[action] ?? 5_000)) return;
    this.deps.remediated(action, cause);
    fn();
    const fault = this.faults.get(w.producer.id);
    if (fault && fault.repair !== action) this.setFault(w, { ...fault, repair: action });
  }

  private setFault(w: PublisherWatch, fault: PublisherFault | null): void {
    if (fault) this.faults.set(w.producer.id, fault);
    else this.faults.delete(w.producer.id);
    this.deps.changed(w.producer.id, fault);
  }
}
