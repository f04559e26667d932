import type { Call, ConsumerShown } from '../client/index.ts';
import { rowsOf } from '../client/consumer-stats.ts';

export interface BotRequestError {
  method: string;
  producerId?: string;
  message: string;
  at: number;
}

export interface RemoteConsumer extends Omit<ConsumerShown, 'consumerId' | 'track'> {
  id: string;
  /** Epoch ms when the consumer was made. */
  consumedAt: number;
}

export interface RtpTotals {
  bytes: number;
  packets: number;
  /** Inbound only: packets the receiver counted as lost (cumulative, may shrink when late packets arrive). */
  packetsLost: number;
  nacks: number;
  plis: number;
}

export interface BotStats {
  /** Summed over every inbound video stream of the receive transport's getStats. */
  videoFramesDecoded: number;
  videoFramesReceived?: number;
  videoPacketsReceived: number;
  audioPacketsReceived: number;
  consumers: number;
  inbound: RtpTotals;
  /** Our outbound streams; `nacks` and `plis` here are those the SFU sent us. */
  outbound: RtpTotals;
}

/** Totals over a call's transports' getStats: one call however many consumers (wrtc has no per-receiver stats). */
export async function transportTotals(call: Call, sending: boolean): Promise<BotStats> {
  const totals: BotStats = {
    videoFramesDecoded: 0,
    videoPacketsReceived: 0,
    audioPacketsReceived: 0,
    consumers: call.consumers().length,
    inbound: empty(),
    outbound: empty(),
  };
  (await call.transportStats('recv'))?.forEach((s: RtpStats) => {
    if (s.type !== 'inbound-rtp') return;
    add(totals.inbound, s.bytesReceived, s.packetsReceived, s);
    if (s.kind === 'audio') totals.audioPacketsReceived += s.packetsReceived ?? 0;
    if (s.kind !== 'video') return;
    totals.videoPacketsReceived += s.packetsReceived ?? 0;
    totals.videoFramesDecoded += s.framesDecoded ?? 0;
    if (s.framesReceived !== undefined) totals.videoFramesReceived = (totals.videoFramesReceived ?? 0) + s.framesReceived;
  });
  if (sending) {
    (await call.transportStats('send'))?.forEach((s: RtpStats) => {
      if (s.type === 'outbound-rtp') add(totals.outbound, s.bytesSent, s.packetsSent, s);
    });
  }
  return totals;
}

/** The fields of an `inbound-rtp` / `outbound-rtp` entry we sum; wrtc 0.10 (libwebrtc M106) reports all of them. */
interface RtpStats {
  type: string;
  kind?: string;
  framesDecoded?: number;
  framesReceived?: number;
  packetsReceived?: number;
  bytesReceived?: number;
  packetsSent?: number;
  bytesSent?: number;
  packetsLost?: number;
  nackCount?: number;
  pliCount?: number;
}

function empty(): RtpTotals {
  return { bytes: 0, packets: 0, packetsLost: 0, nacks: 0, plis: 0 };
}

function add(t: RtpTotals, bytes: number | undefined, packets: number | undefined, s: RtpStats): void {
  t.bytes += bytes ?? 0;
  t.packets += packets ?? 0;
  t.packetsLost += s.packetsLost ?? 0;
  t.nacks += s.nackCount ?? 0;
  t.plis += s.pliCount ?? 0;
}

export interface InboundVideo {
  frameHeight: number;
  framesDecoded: number;
  freezeCount: number;
}

/** One video consumer as its decoder sees it now: the frame height and frames decoded (read live). */
export async function inboundVideo(call: Call, consumerId: string): Promise<InboundVideo> {
  const consumer = call.consumers().find((c) => c.id === consumerId);
  const report = await call.transportStats('recv');
  const rows = report && consumer ? rowsOf(report, consumer.rtpParameters.encodings?.[0]?.ssrc) : [];
  const inbound = rows.find((r) => r.type === 'inbound-rtp');
  return {
    frameHeight: inbound?.frameHeight ?? 0,
    framesDecoded: inbound?.framesDecoded ?? 0,
    freezeCount: inbound?.freezeCount ?? 0,
  };
}
