import type { types } from 'mediasoup-client';
import type { ClientProducerStats, OutboundLayer, QualityLimitation } from '../protocol/publisher.ts';
import type { Source } from '../protocol/room.ts';
import type { StatsRows } from './consumer-stats.ts';

/** An outbound-rtp row as getStats reports it (the fields the doctor reads). */
interface OutboundRow {
  type: string;
  kind?: string;
  mid?: string;
  rid?: string;
  ssrc?: number;
  bytesSent?: number;
  framesEncoded?: number;
  frameHeight?: number;
  qualityLimitationReason?: string;
}

const LIMITATIONS = new Set<string>(['none', 'cpu', 'bandwidth', 'other']);

/**
 * What the client sends of one producer, from its send transport's report: one row per encoding (simulcast
 * layer), lowest first, found by the producer's MID (or its SSRCs or RIDs where rows carry no MID), with
 * whether we mean to send it (`encodings[i].active`), and the track's state.
 */
export function producerStats(
  producer: types.Producer,
  source: Source,
  report: StatsRows,
  transportState: ClientProducerStats['transportState'],
): ClientProducerStats {
  const encodings = producer.rtpParameters.encodings ?? [];
  const mid = producer.rtpParameters.mid;
  const ssrcs = new Set<number | undefined>(encodings.map((e) => e.ssrc).filter((s) => s !== undefined));
  const rids = encodings.map((e) => e.rid);
  const rows: OutboundRow[] = [];
  report.forEach((row) => {
    const r = row as OutboundRow;
    if (r.type !== 'outbound-rtp' || r.kind !== producer.kind) return;
    if (
      r.mid !== undefined && mid !== undefined
        ? r.mid === mid
        : ssrcs.has(r.ssrc) || (r.rid !== undefined && rids.includes(r.rid))
    )
      rows.push(r);
  });
  const active = activeEncodings(producer, encodings.length);
  const layers: OutboundLayer[] = rows
    .map((r) => ({ row: r, index: r.rid !== undefined ? rids.indexOf(r.rid) : 0 }))
    .sort((a, b) => a.index - b.index)
    .map(({ row, index }) => ({
      ...(row.rid !== undefined && { rid: row.rid }),
      active: active[index] ?? true,
      bytesSent: row.bytesSent ?? 0,
      ...(row.framesEncoded !== undefined && { framesEncoded: row.framesEncoded }),
      ...(row.frameHeight !== undefined && { frameHeight: row.frameHeight }),
      ...(row.qualityLimitationReason !== undefined &&
        LIMITATIONS.has(row.qualityLimitationReason) && {
          qualityLimitationReason: row.qualityLimitationReason as QualityLimitation,
        }),
    }));
  const track = producer.track;
  const estimate = bandwidthEstimate(report);
  return {
    producerId: producer.id,
    kind: producer.kind,
    source,
    trackEnded: !track || track.readyState === 'ended',
    // wrtc's tracks (Node) have no `muted`.
    trackMuted: track?.muted ?? false,
    transportState,
    ...(estimate !== undefined && { availableOutgoingBitrate: estimate }),
    layers: producer.kind === 'video' ? layers.slice(0, 4) : [],
  };
}

/** The congestion controller's estimate, from the candidate pair in use (absent where not reported, e.g. wrtc). */
function bandwidthEstimate(report: StatsRows): number | undefined {
  let estimate: number | undefined;
  report.forEach((row) => {
    const pair = row as { type: string; nominated?: boolean; availableOutgoingBitrate?: number };
    if (pair.type === 'candidate-pair' && pair.nominated && pair.availableOutgoingBitrate !== undefined)
      estimate = Math.max(estimate ?? 0, pair.availableOutgoingBitrate);
  });
  return estimate;
}

/** `encodings[i].active` as the sender has it now (mediasoup-client's setMaxSpatialLayer changes it). */
function activeEncodings(producer: types.Producer, count: number): boolean[] {
  try {
    const encodings = producer.rtpSender?.getParameters().encodings ?? [];
    return Array.from({ length: count }, (_, i) => encodings[i]?.active ?? true);
  } catch {
    return [];
  }
}
