import { MAX_REPORTED_CONSUMERS } from '../protocol/limits.ts';
import type { ClientConsumerStats } from '../protocol/telemetry.ts';
import { consumerStats } from '../web/src/media/consumer-stats.ts';

/** As the web client: about once a second. */
export const REPORT_INTERVAL_MS = 1_000;

/** The inbound-rtp fields a report needs; wrtc 0.10 (libwebrtc M106) has them all. */
export interface InboundRtp {
  type: string;
  ssrc?: number;
  kind?: string;
  packetsReceived?: number;
  framesDecoded?: number;
  freezeCount?: number;
  frameWidth?: number;
  frameHeight?: number;
}

export interface ShownConsumer {
  id: string;
  kind: 'audio' | 'video';
  /** The SSRC the server sends it on (its rtpParameters' first encoding). */
  ssrc?: number;
  track: MediaStreamTrack;
}

/**
 * What the bot shows of each consumer, from one getStats of its receiving peer connection (wrtc has no
 * per-receiver stats): the inbound-rtp row is found by SSRC. A consumer without a row reports zeros.
 */
export function consumerReport(shown: ShownConsumer[], report: Iterable<InboundRtp>): ClientConsumerStats[] {
  const bySsrc = new Map<number, InboundRtp>();
  for (const row of report) if (row.type === 'inbound-rtp' && row.ssrc !== undefined) bySsrc.set(row.ssrc, row);
  return shown.slice(0, MAX_REPORTED_CONSUMERS).map((c) => {
    const row = c.ssrc === undefined ? undefined : bySsrc.get(c.ssrc);
    return consumerStats({ consumerId: c.id, kind: c.kind, track: c.track, paused: false }, row ? [row] : []);
  });
}
