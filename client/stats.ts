import type { StatsRow, StatsRows } from './consumer-stats.ts';

/** One tile's numbers for the stats overlay. */
export interface TileStats {
  width?: number;
  height?: number;
  fps?: number;
  kbps?: number;
  /** Packets lost as a percentage of those expected, since the previous sample. */
  lossPct?: number;
  codec?: string;
}

export interface Sample {
  at: number;
  bytes: number;
  packets: number;
  lost: number;
}

/**
 * Reads an RTCStatsReport of one consumer (inbound-rtp) or producer (outbound-rtp; with simulcast, the
 * largest layer for size and the sum for bitrate). `prev` is the previous call's sample.
 */
export function summarize(report: StatsRows, prev?: Sample): { stats: TileStats; sample: Sample } {
  const rows: StatsRow[] = [];
  const byId = new Map<string, StatsRow>();
  report.forEach((row) => {
    byId.set(row.id, row);
    if (row.type === 'inbound-rtp' || row.type === 'outbound-rtp') rows.push(row);
  });
  const sample: Sample = { at: rows[0]?.timestamp ?? performance.now(), bytes: 0, packets: 0, lost: 0 };
  let largest: StatsRow | undefined;
  for (const row of rows) {
    sample.bytes += row.bytesReceived ?? row.bytesSent ?? 0;
    sample.packets += row.packetsReceived ?? row.packetsSent ?? 0;
    sample.lost += row.packetsLost ?? 0;
    if (!largest || (row.frameHeight ?? 0) > (largest.frameHeight ?? 0)) largest = row;
  }
  const stats: TileStats = {
    width: largest?.frameWidth,
    height: largest?.frameHeight,
    fps: largest?.framesPerSecond,
    codec: largest?.codecId ? byId.get(largest.codecId)?.mimeType?.replace(/^(audio|video)\//, '') : undefined,
  };
  if (prev && sample.at > prev.at) {
    stats.kbps = Math.round(((sample.bytes - prev.bytes) * 8) / (sample.at - prev.at));
    const lost = sample.lost - prev.lost;
    const expected = sample.packets - prev.packets + lost;
    stats.lossPct = expected > 0 ? Math.round((lost / expected) * 1000) / 10 : 0;
  }
  return { stats, sample };
}

export function formatStats(s: TileStats): string[] {
  const lines: string[] = [];
  if (s.width && s.height) lines.push(`${s.width}×${s.height}${s.fps !== undefined ? ` @ ${Math.round(s.fps)} fps` : ''}`);
  if (s.kbps !== undefined) lines.push(`${s.kbps} kbit/s`);
  if (s.lossPct !== undefined) lines.push(`loss ${s.lossPct}%`);
  if (s.codec) lines.push(s.codec);
  return lines;
}
