/**
 * The RTP and RTCP a load tester writes and reads (RFC 3550; VP8's payload descriptor, RFC 7741): enough for
 * mediasoup to forward, switch simulcast layers on key frames and rewrite picture ids, nothing more. The
 * payload is filler, never decoded: the tester counts packets instead.
 */
export interface RtpHeader {
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  marker: boolean;
}

const RTP_HEADER_BYTES = 12;
/** What a frame is cut into: below any path MTU with SRTP and header extensions to spare. */
export const MAX_PAYLOAD_BYTES = 1_100;

export function rtpPacket(header: RtpHeader, payload: Buffer): Buffer {
  const packet = Buffer.allocUnsafe(RTP_HEADER_BYTES + payload.length);
  packet[0] = 0x80; // version 2, no padding, no extension, no CSRC
  packet[1] = (header.marker ? 0x80 : 0) | (header.payloadType & 0x7f);
  packet.writeUInt16BE(header.sequenceNumber & 0xffff, 2);
  packet.writeUInt32BE(header.timestamp >>> 0, 4);
  packet.writeUInt32BE(header.ssrc >>> 0, 8);
  payload.copy(packet, RTP_HEADER_BYTES);
  return packet;
}

/**
 * A padding-only packet (P bit, no payload): what a sender probing for bandwidth sends. mediasoup counts it but
 * does not let it keep a simulcast stream active, so a publisher sending only these has no layer to forward.
 */
export function paddingPacket(header: Omit<RtpHeader, 'marker'>, paddingBytes = 200): Buffer {
  const packet = rtpPacket({ ...header, marker: false }, Buffer.alloc(paddingBytes));
  packet[0] = 0xa0; // version 2, padding
  packet[packet.length - 1] = paddingBytes; // the padding's length, itself included
  return packet;
}

/** The fields a receiver counts by; undefined for what is not RTP (RTCP shares the port: rtcp-mux). */
export function readRtp(packet: Buffer): { ssrc: number; sequenceNumber: number; timestamp: number } | undefined {
  if (packet.length < RTP_HEADER_BYTES || packet[0]! >> 6 !== 2) return undefined;
  const payloadType = packet[1]! & 0x7f;
  // RTCP packet types 200–207 appear as RTP payload types 72–79 with the marker bit set.
  if (payloadType >= 72 && payloadType <= 79) return undefined;
  return { sequenceNumber: packet.readUInt16BE(2), timestamp: packet.readUInt32BE(4), ssrc: packet.readUInt32BE(8) };
}

/**
 * One VP8 RTP payload: the descriptor (X, S, picture id as 15 bits) and, on a frame's first packet, the
 * payload header whose inverse key-frame bit mediasoup reads (and, on a key frame, the start code and size).
 */
export function vp8Payload(first: boolean, keyFrame: boolean, pictureId: number, bytes: number): Buffer {
  const payload = Buffer.alloc(Math.max(bytes, 14));
  payload[0] = 0x80 | (first ? 0x10 : 0); // X, S; partition 0
  payload[1] = 0x80; // I: a picture id follows
  payload[2] = 0x80 | ((pictureId >> 8) & 0x7f); // M: 15-bit picture id
  payload[3] = pictureId & 0xff;
  if (!first) return payload;
  payload[4] = keyFrame ? 0x10 : 0x11; // show_frame; bit 0 = 1 means "not a key frame"
  if (keyFrame) payload.set([0x9d, 0x01, 0x2a, 0x40, 0x01, 0xb4, 0x00], 7); // start code, 320x180
  return payload;
}

const RTCP_SR = 200;
const RTCP_PSFB = 206;
/** Seconds from 1900 (NTP's epoch) to 1970. */
const NTP_UNIX_OFFSET_S = 2_208_988_800;

/**
 * A sender report: which RTP timestamp goes with which wall-clock time. mediasoup needs one per simulcast layer
 * before it switches a consumer to that layer (it aligns the layers' timestamps through them).
 */
export function senderReport(ssrc: number, wallClockMs: number, rtpTimestamp: number, packets: number, octets: number): Buffer {
  const packet = Buffer.alloc(28);
  packet[0] = 0x80;
  packet[1] = RTCP_SR;
  packet.writeUInt16BE(6, 2);
  packet.writeUInt32BE(ssrc >>> 0, 4);
  const seconds = wallClockMs / 1000 + NTP_UNIX_OFFSET_S;
  packet.writeUInt32BE(Math.floor(seconds) >>> 0, 8);
  packet.writeUInt32BE(Math.floor((seconds % 1) * 2 ** 32) >>> 0, 12);
  packet.writeUInt32BE(rtpTimestamp >>> 0, 16);
  packet.writeUInt32BE(packets >>> 0, 20);
  packet.writeUInt32BE(octets >>> 0, 24);
  return packet;
}
const RTCP_RR = 201;
const FMT_PLI = 1;
const FMT_FIR = 4;

/** The media SSRCs a compound RTCP packet asks key frames for (PLI and FIR). */
export function keyFrameRequests(packet: Buffer): number[] {
  const ssrcs: number[] = [];
  for (let offset = 0; offset + 12 <= packet.length; ) {
    const fmt = packet[offset]! & 0x1f;
    const type = packet[offset + 1]!;
    const end = offset + (packet.readUInt16BE(offset + 2) + 1) * 4;
    if (packet[offset]! >> 6 !== 2 || end > packet.length) break;
    if (type === RTCP_PSFB && fmt === FMT_PLI) ssrcs.push(packet.readUInt32BE(offset + 8));
    // FIR: the media SSRC field is unused; each 8-byte FCI entry names one.
    if (type === RTCP_PSFB && fmt === FMT_FIR)
      for (let fci = offset + 12; fci + 8 <= end; fci += 8) ssrcs.push(packet.readUInt32BE(fci));
    offset = end;
  }
  return ssrcs;
}

/** An empty receiver report: the first packet on a comedia transport, which tells mediasoup where to send. */
export function emptyReceiverReport(ssrc: number): Buffer {
  const packet = Buffer.alloc(8);
  packet[0] = 0x80;
  packet[1] = RTCP_RR;
  packet.writeUInt16BE(1, 2);
  packet.writeUInt32BE(ssrc >>> 0, 4);
  return packet;
}
