import type { ClientConsumerStats } from '../protocol/telemetry.ts';

/** A stats row as getStats reports it: every row has `id` and `type`, inbound-rtp rows an `ssrc`. */
export interface StatsRow {
  id: string;
  type: string;
  ssrc?: number;
  codecId?: string;
  kind?: string;
  packetsReceived?: number;
  framesDecoded?: number;
  freezeCount?: number;
  frameWidth?: number;
  frameHeight?: number;
  timestamp?: number;
  bytesReceived?: number;
  bytesSent?: number;
  packetsLost?: number;
  packetsSent?: number;
  framesPerSecond?: number;
  mimeType?: string;
  candidateType?: string;
}

/** The relay candidates a transport gathered (local-candidate rows: relay-only ICE gathers no other kind). */
export function relayCandidates(report: StatsRows): number {
  let count = 0;
  report.forEach((row) => {
    if (row.type === 'local-candidate' && row.candidateType === 'relay') count++;
  });
  return count;
}

/** What RTCStatsReport and a plain list of rows have in common. */
export interface StatsRows {
  forEach(callback: (row: StatsRow) => void): void;
}

export interface ConsumerView {
  consumerId: string;
  kind: 'audio' | 'video';
  track: MediaStreamTrack;
  /** The tile is hidden and we paused the consumer on purpose. */
  paused: boolean;
}

/**
 * The rows of one consumer in its transport's report: its inbound-rtp row (found by the SSRC the server sends
 * it on, one per consumer even for simulcast) and the codec row it points to. One getStats per transport
 * serves every consumer, and it works where per-receiver stats do not (@roamhq/wrtc in Node).
 */
export function rowsOf(report: StatsRows, ssrc: number | undefined): StatsRow[] {
  if (ssrc === undefined) return [];
  const all: StatsRow[] = [];
  report.forEach((row) => all.push(row));
  const inbound = all.filter((row) => row.type === 'inbound-rtp' && row.ssrc === ssrc);
  const codecs = new Set(inbound.map((row) => row.codecId));
  return [...inbound, ...all.filter((row) => codecs.has(row.id))];
}

/**
 * What the client sees of one consumer, from its rows: counters are summed over inbound-rtp rows (one per
 * received stream), the frame size is the largest.
 */
export function consumerStats(view: ConsumerView, report: StatsRows | undefined): ClientConsumerStats {
  let packets = 0;
  let frames = 0;
  let freezes = 0;
  let width = 0;
  let height = 0;
  report?.forEach((row) => {
    if (row.type !== 'inbound-rtp') return;
    packets += row.packetsReceived ?? 0;
    frames += row.framesDecoded ?? 0;
    freezes += row.freezeCount ?? 0;
    if ((row.frameHeight ?? 0) >= height) {
      height = row.frameHeight ?? 0;
      width = row.frameWidth ?? 0;
    }
  });
  // wrtc's tracks (Node) have no `muted`.
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
