import type { ClientConsumerStats } from '../../../protocol/telemetry.ts';

/** The inbound-rtp fields the doctor reads (Chromium and Firefox name them alike). */
interface InboundRow {
  type?: string;
  packetsReceived?: number;
  framesDecoded?: number;
  freezeCount?: number;
  frameWidth?: number;
  frameHeight?: number;
}

export interface ConsumerView {
  consumerId: string;
  kind: 'audio' | 'video';
  track: MediaStreamTrack;
  /** The tile is hidden and we paused the consumer on purpose. */
  paused: boolean;
}

/** A receiver's stats report, or the rows of one (the Node bots find theirs by SSRC). */
export interface StatsRows {
  forEach(callback: (row: InboundRow) => void): void;
}

/**
 * What the client sees of one consumer, from its receiver's stats report: counters are summed over
 * inbound-rtp rows (one per received stream), the frame size is the largest.
 */
export function consumerStats(view: ConsumerView, report: StatsRows | undefined): ClientConsumerStats {
  let packets = 0;
  let frames = 0;
  let freezes = 0;
  let width = 0;
  let height = 0;
  report?.forEach((row: InboundRow) => {
    if (row.type !== 'inbound-rtp') return;
    packets += row.packetsReceived ?? 0;
    frames += row.framesDecoded ?? 0;
    freezes += row.freezeCount ?? 0;
    if ((row.frameHeight ?? 0) >= height) {
      height = row.frameHeight ?? 0;
      width = row.frameWidth ?? 0;
    }
  });
  // wrtc's tracks (the Node bots) have no `muted`.
  const stats: ClientConsumerStats = {
    consumerId: view.consumerId,
    packetsReceived: packets,
    trackMuted: view.track.muted ?? false,
  };
  if (view.kind === 'video') {
    Object.assign(stats, {
      framesDecoded: frames,
      freezeCount: freezes,
      frameWidth: width,
      frameHeight: height,
      hidden: view.paused,
    });
  }
  return stats;
}
