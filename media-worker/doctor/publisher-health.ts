import type { PublisherCause } from '../../protocol/publisher.ts';
import type { Source } from '../../protocol/room.ts';
import { GRACE_MS } from './health.ts';

/*
 * The doctor's judgement of one producer, from its publisher's outbound stats (reported once a second) and
 * what the server receives: a pure function, like health.ts for consumers. Causes are tried worst first.
 */

/** Encoder limits are named sooner: every report says so directly, and the tiles freeze meanwhile. */
export const LIMIT_GRACE_MS = 1_000;
/** A report older than this no longer tells what the publisher sends. */
export const REPORT_STALE_MS = 3_000;
/** Clients report every second: none for this long while no RTP arrives says the client is cut off too. */
export const REPORT_OVERDUE_MS = 2_000;

/**
 * How long the client has proven it sends while no RTP arrives (0: not proven), for `sendingMs`. The latest
 * report's bytes grew since the report before it, so they prove a lost uplink only if that earlier report was
 * taken after the last packet arrived. A report is taken some time before it arrives (stats, signaling, the bus;
 * much longer on a busy machine), so its own arrival proves nothing. But it was taken at least
 * PRODUCER_REPORT_MS (protocol/limits.ts) after the report before it, which was taken before *that* one arrived:
 * so the report two before the latest must have arrived after the last packet. This is sound while a report takes
 * less than PRODUCER_REPORT_MS, less the error of `lastPacketAt` (half a doctor tick), to arrive. A hung camera's
 * last bytes, counted in the report that straddles the moment, then prove nothing, and the next report shows no
 * frames encoded (encoder-stalled).
 */
export function provenSendingMs(o: {
  idleMs: number;
  /** When the last packet arrived (the server's estimate). */
  lastPacketAt: number;
  /** The latest report counts more bytes sent than the one before it. */
  bytesAdvanced: boolean;
  /** When the latest reports arrived, oldest first. */
  arrivals: readonly number[];
}): number {
  const twoBefore = o.arrivals.at(-3);
  return o.bytesAdvanced && twoBefore !== undefined && twoBefore >= o.lastPacketAt ? o.idleMs : 0;
}

export interface PublisherObservation {
  source: Source;
  kind: 'audio' | 'video';
  ageMs: number;
  producerPaused: boolean;
  /** How long the server has received no RTP on the producer; undefined before it was sampled twice. */
  producerIdleMs?: number;
  /** How long the publisher's send transport has not been connected, as the server sees it. */
  sendTransportDownMs: number;
  /** Since the latest client report arrived (undefined: none yet). */
  reportSilentMs?: number;
  /** The latest client report, undefined when none is fresh. */
  report?: {
    trackEnded: boolean;
    /** How long the track has been muted (0: not muted). */
    mutedMs: number;
    /** How long no active layer has encoded a frame although the track is live and unmuted (0: encoding). */
    framesIdleMs: number;
    /** How long the client has said bytes leave it while the server receives none (0: not so). */
    sendingMs: number;
    /** How long qualityLimitationReason has been `bandwidth` / `cpu` on some active layer (0: not). */
    bandwidthLimitedMs: number;
    cpuLimitedMs: number;
    /** The highest layer it sends now, and how many it has. */
    activeLayers: number;
  };
}

export interface PublisherVerdict {
  status: 'healthy' | 'pending' | 'unhealthy';
  cause: PublisherCause | null;
  detail: string;
}

const unhealthy = (cause: PublisherCause, detail: string): PublisherVerdict => ({ status: 'unhealthy', cause, detail });
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function judgePublisher(o: PublisherObservation): PublisherVerdict {
  // Muting is the publisher's choice, and its consumers say so themselves (producer-paused).
  if (o.producerPaused) return { status: 'healthy', cause: null, detail: 'paused by the publisher' };
  const r = o.report;
  if (r?.trackEnded) return unhealthy('track-ended', 'the browser or OS ended the captured track');
  if (r && r.mutedMs > GRACE_MS) {
    if (o.source === 'screen')
      return unhealthy('screen-share-paused', `the shared screen delivered no frames for ${seconds(r.mutedMs)}`);
    return unhealthy('track-muted', `the OS or browser muted the captured ${o.source} for ${seconds(r.mutedMs)}`);
  }
  const idle = o.producerIdleMs ?? 0;
  const overdue = !r || (o.reportSilentMs ?? 0) > REPORT_OVERDUE_MS;
  if (idle > GRACE_MS && (o.sendTransportDownMs > 0 || overdue || r.sendingMs > GRACE_MS)) {
    const why =
      o.sendTransportDownMs > 0 ? 'its send transport is down' : overdue ? 'it stopped reporting' : 'it sends, nothing arrives';
    return unhealthy('publisher-uplink-lost', `no RTP from the publisher for ${seconds(idle)}: ${why}`);
  }
  if (o.ageMs <= GRACE_MS) return { status: 'pending', cause: null, detail: 'just created' };
  if (!r) return { status: 'pending', cause: null, detail: 'waiting for the publisher’s report' };
  if (o.kind === 'video' && r.framesIdleMs > GRACE_MS) {
    return unhealthy('encoder-stalled', `the encoder produced no frame for ${seconds(r.framesIdleMs)} from a live track`);
  }
  // No RTP, and the latest report covers time before it stopped: the next report tells encoder from uplink.
  if (idle > GRACE_MS) return { status: 'pending', cause: null, detail: `no RTP for ${seconds(idle)}; waiting for a report` };
  if (r.bandwidthLimitedMs >= LIMIT_GRACE_MS) {
    return unhealthy('publisher-bandwidth-limited', `the uplink holds the encoder back (for ${seconds(r.bandwidthLimitedMs)})`);
  }
  if (r.cpuLimitedMs >= LIMIT_GRACE_MS) {
    return unhealthy('publisher-cpu-limited', `the publisher’s CPU holds the encoder back (for ${seconds(r.cpuLimitedMs)})`);
  }
  return { status: 'healthy', cause: null, detail: 'sending' };
}
