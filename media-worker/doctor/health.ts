import type { HealthCause, HealthStatus } from '../../protocol/telemetry.ts';
import type { MediaKind } from '../../protocol/room.ts';
import type { PublisherCause } from '../../protocol/publisher.ts';

/*
 * The black-screen doctor's judgement: a pure function from what was observed of one consumer to a verdict.
 * Causes are tried worst first (the order of HealthCause); each must hold for GRACE_MS before it is named,
 * so a fault is named within 3 s of its onset when observations arrive every 0.5–1 s.
 */

export const GRACE_MS = 1_500;
/** A client learns of a closed consumer within milliseconds; still showing it a second later is the fault. */
export const CLOSED_GRACE_MS = 1_000;
/**
 * A simulcast layer that stops receiving media still looks current until mediasoup declares its stream inactive
 * (RtpStreamRecv's 1.5 s RTP inactivity check, simulcast only) and a doctor tick (0.5 s) has seen the layers
 * go: before that, nothing forwarded on a layered consumer may be a layer going away, not a missing key frame.
 */
export const LAYERED_KEY_FRAME_WAIT_MS = 2_000;
/**
 * A producer whose publisher reports to this instance goes quiet: its doctor names a hung camera or a lost
 * uplink from the publisher's next report, or after REPORT_OVERDUE_MS without one (publisher-health.ts).
 * Consumers wait this long past GRACE_MS for that verdict before blaming the producer alone.
 */
export const PUBLISHER_VERDICT_WAIT_MS = 2_000;
/** decoder-stall: consecutive client reports with packets arriving and no frame decoded. */
export const STALLED_REPORTS = 2;

export interface Verdict {
  status: HealthStatus;
  cause: HealthCause | null;
  /** One sentence for the operator. */
  detail: string;
}

/** A consumer that no longer exists (or never did), kept as a tombstone. */
export type GoneObservation =
  | { gone: 'codec-unsupported' }
  | {
      gone: 'producer-closed';
      /** How long after the close the client's latest report still listed the consumer; absent once it let go. */
      reportedAfterCloseMs?: number;
    };

export interface LiveObservation {
  gone?: undefined;
  kind: MediaKind;
  /** Simulcast or SVC: a consumer whose layers can all be missing. */
  layered: boolean;
  ageMs: number;
  transport: { iceState: string; dtlsState: string; downMs: number };
  /** The client's ICE is relay-only and its transport gathered this many relay candidates (absent: not relay-only). */
  relayCandidates?: number;
  paused: boolean;
  producerPaused: boolean;
  /** The client paused it on purpose (pauseConsumer, or a hidden tile), and has not resumed it since. */
  clientPaused: boolean;
  /** How long the producer's packet count has not advanced; absent until it has been sampled twice. */
  producerIdleMs?: number;
  /** How long the consumer has forwarded nothing since it was (last) resumed; absent before sampling. */
  forwardIdleMs?: number;
  /**
   * How long a resumed layered consumer has had no layer mediasoup could forward: none current and none targeted
   * (a target without a current layer awaits its key frame). 0 when it has one.
   */
  layersMissingMs: number;
  keyFrames: number;
  /** Consecutive client reports in which packets arrived but no frame was decoded (video, tile shown). */
  decodeStalls: number;
  /** The producer's own verdict when its publisher is at fault (publisher-health.ts): it explains this consumer. */
  publisher?: { cause: PublisherCause; detail: string };
  /** The publisher reports to this instance, so its doctor can tell why the producer is quiet. */
  publisherWatched?: boolean;
}

export type Observation = GoneObservation | LiveObservation;

const unhealthy = (cause: HealthCause, detail: string): Verdict => ({ status: 'unhealthy', cause, detail });
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function judge(o: Observation): Verdict {
  if (o.gone === 'codec-unsupported') {
    return unhealthy('codec-unsupported', 'consume was refused: the subscriber cannot decode the producer’s codec');
  }
  if (o.gone === 'producer-closed') {
    const late = o.reportedAfterCloseMs;
    if (late !== undefined && late > CLOSED_GRACE_MS) {
      return unhealthy('producer-closed', `the producer closed, yet the client still showed the consumer ${seconds(late)} later`);
    }
    return { status: 'healthy', cause: null, detail: 'closed with its producer' };
  }
  const { transport } = o;
  if (o.ageMs > GRACE_MS && transport.downMs > GRACE_MS && o.relayCandidates === 0) {
    return unhealthy(
      'no-relay-candidates',
      `transport not connected for ${seconds(transport.downMs)}: the client allows relayed ICE only and gathered no relay candidate (its TURN servers refused its credential or cannot be reached)`,
    );
  }
  if (o.ageMs > GRACE_MS && transport.downMs > GRACE_MS) {
    return unhealthy(
      'transport-not-connected',
      `transport not connected for ${seconds(transport.downMs)} (ice ${transport.iceState}, dtls ${transport.dtlsState})`,
    );
  }
  if (o.producerPaused) return unhealthy('producer-paused', 'the publisher paused (muted) the producer');
  if (o.paused && o.clientPaused) return { status: 'paused-by-client', cause: null, detail: 'the client paused it on purpose' };
  if (o.ageMs <= GRACE_MS) return { status: 'pending', cause: null, detail: 'just created' };
  if (o.paused)
    return unhealthy('consumer-never-resumed', `still paused ${seconds(o.ageMs)} after creation; the client never resumed it`);
  // One cause at the publisher's end, named once on its producer, explains every viewer's picture.
  if (o.publisher) return unhealthy(o.publisher.cause, `at the publisher: ${o.publisher.detail}`);
  const idle = o.producerIdleMs;
  if (idle !== undefined && idle > GRACE_MS) {
    if (o.publisherWatched && idle <= GRACE_MS + PUBLISHER_VERDICT_WAIT_MS) {
      return { status: 'pending', cause: null, detail: `no RTP for ${seconds(idle)}; the publisher’s doctor is looking` };
    }
    return unhealthy('no-rtp-from-producer', `the producer received no RTP for ${seconds(idle)}`);
  }
  // The causes below need the producer shown to be receiving.
  if (idle === undefined) return { status: 'pending', cause: null, detail: 'waiting for the first statistics' };
  if (o.layered && o.layersMissingMs > GRACE_MS) {
    return unhealthy('layer-unavailable', `no spatial layer to forward for ${seconds(o.layersMissingMs)}`);
  }
  // While mediasoup forwards no layer at all, neither a key frame nor the client's decoder is to blame.
  const layerless = o.layered && o.layersMissingMs > 0;
  const forwardIdle = o.forwardIdleMs ?? 0;
  const keyFrameWait = o.layered ? LAYERED_KEY_FRAME_WAIT_MS : GRACE_MS;
  if (o.kind === 'video' && forwardIdle > keyFrameWait && !layerless) {
    return unhealthy(
      'no-key-frame',
      `nothing forwarded for ${seconds(forwardIdle)} (${o.keyFrames} key frame(s) seen): waiting for a key frame`,
    );
  }
  if (o.kind === 'video' && forwardIdle > GRACE_MS) {
    return { status: 'pending', cause: null, detail: layerless ? 'no layer to forward yet' : 'nothing forwarded yet' };
  }
  if (o.kind === 'video' && forwardIdle <= GRACE_MS && !layerless && o.decodeStalls >= STALLED_REPORTS) {
    return unhealthy('decoder-stall', `packets arrive but the client decoded no frame in ${o.decodeStalls} reports`);
  }
  return { status: 'healthy', cause: null, detail: 'media flows' };
}
