import { MAX_PAYLOAD_BYTES, paddingPacket, rtpPacket, senderReport, vp8Payload } from './packets.ts';

/** One RTP stream a tester sends: a simulcast layer of VP8 or an Opus track, at a constant bit rate. */
export interface StreamSpec {
  ssrc: number;
  kind: 'audio' | 'video';
  payloadType: number;
  bitsPerSecond: number;
  /** Frames (video) or packets (audio, 20 ms each) per second. */
  rate: number;
}

const VIDEO_CLOCK = 90_000;
const AUDIO_CLOCK = 48_000;
/** Unasked, a key frame this often (an encoder's default); asked (PLI/FIR), the next frame is one. */
const KEY_FRAME_INTERVAL_MS = 3_000;
/** A key frame is this much larger than a delta frame. */
const KEY_FRAME_SCALE = 4;
/** How often a sender report goes out per stream (browsers: about once a second). */
const SENDER_REPORT_MS = 1_000;
/** Frames late past which a stream skips to now rather than catching up (see `skipStall`). */
const STALL_FRAMES = 10;

/**
 * Generates one stream's packets on time, as an encoder would hand them to the network: each frame cut into
 * packets of at most MAX_PAYLOAD_BYTES, sent together; sequence numbers, timestamps and picture ids advance as
 * a real sender's do (random starts), so mediasoup rewrites them as it would a browser's.
 */
export class RtpStream {
  private sequenceNumber = randomInt(0xffff);
  private timestamp = randomInt(0xffffffff);
  private pictureId = randomInt(0x7fff);
  private nextFrameAt: number;
  private lastKeyFrameAt = Number.NEGATIVE_INFINITY;
  private keyFrameAsked = true;
  private nextReportAt: number;
  packetsSent = 0;
  octetsSent = 0;
  /** A fault to inject: one padding-only packet per frame instead of the frame (see `paddingPacket`). */
  paddingOnly = false;

  constructor(
    readonly spec: StreamSpec,
    startAt: number,
  ) {
    // Spread streams over the first frame interval, so a thousand of them do not send in one burst.
    this.nextFrameAt = startAt + Math.random() * (1000 / spec.rate);
    this.nextReportAt = this.nextFrameAt;
  }

  askKeyFrame(): void {
    this.keyFrameAsked = true;
  }

  /**
   * Every packet due by `now`, in order, and a sender report when one is due. `now` is performance.now(); the
   * report's wall clock is the same instant (performance.timeOrigin + now).
   */
  due(now: number): Buffer[] {
    const packets: Buffer[] = [];
    const interval = 1000 / this.spec.rate;
    this.skipStall(now, interval);
    while (this.nextFrameAt <= now) {
      if (this.paddingOnly) packets.push(this.padding());
      else packets.push(...(this.spec.kind === 'video' ? this.videoFrame(now) : [this.audioPacket()]));
      this.timestamp += Math.round(this.clock / this.spec.rate);
      this.nextFrameAt += interval;
    }
    this.packetsSent += packets.length;
    if (now >= this.nextReportAt) {
      packets.push(this.senderReport(now));
      this.nextReportAt += SENDER_REPORT_MS;
    }
    return packets;
  }

  /**
   * A sender not asked for its packets for a while (the tester stops its clock while it sets up consumers) goes on
   * from `now`, as an encoder whose frames were dropped would: the missed frames are skipped (timestamps advance
   * over them), not sent in one burst.
   */
  private skipStall(now: number, interval: number): void {
    const missed = Math.floor((now - this.nextFrameAt) / interval);
    if (missed < STALL_FRAMES) return;
    this.timestamp += missed * Math.round(this.clock / this.spec.rate);
    this.nextFrameAt += missed * interval;
    this.nextReportAt = Math.max(this.nextReportAt, now);
  }

  private get clock(): number {
    return this.spec.kind === 'video' ? VIDEO_CLOCK : AUDIO_CLOCK;
  }

  private senderReport(now: number): Buffer {
    // this.timestamp belongs to the frame due at nextFrameAt.
    const rtpTimestamp = this.timestamp - Math.round(((this.nextFrameAt - now) * this.clock) / 1000);
    return senderReport(this.spec.ssrc, performance.timeOrigin + now, rtpTimestamp, this.packetsSent, this.octetsSent);
  }

  private videoFrame(now: number): Buffer[] {
    const key = this.keyFrameAsked || now - this.lastKeyFrameAt >= KEY_FRAME_INTERVAL_MS;
    if (key) {
      this.keyFrameAsked = false;
      this.lastKeyFrameAt = now;
    }
    const frameBytes = Math.round((this.spec.bitsPerSecond / 8 / this.spec.rate) * (key ? KEY_FRAME_SCALE : 1));
    const count = Math.max(1, Math.ceil(frameBytes / MAX_PAYLOAD_BYTES));
    const packets: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const payload = vp8Payload(i === 0, key, this.pictureId, Math.ceil(frameBytes / count));
      packets.push(this.packet(payload, i === count - 1));
    }
    this.pictureId = (this.pictureId + 1) & 0x7fff;
    return packets;
  }

  private audioPacket(): Buffer {
    return this.packet(Buffer.alloc(Math.max(1, Math.round(this.spec.bitsPerSecond / 8 / this.spec.rate))), false);
  }

  private padding(): Buffer {
    const { ssrc, payloadType } = this.spec;
    const packet = paddingPacket({ payloadType, sequenceNumber: this.sequenceNumber, timestamp: this.timestamp, ssrc });
    this.sequenceNumber = (this.sequenceNumber + 1) & 0xffff;
    return packet;
  }

  private packet(payload: Buffer, marker: boolean): Buffer {
    const { ssrc, payloadType } = this.spec;
    const packet = rtpPacket(
      { payloadType, sequenceNumber: this.sequenceNumber, timestamp: this.timestamp, ssrc, marker },
      payload,
    );
    this.sequenceNumber = (this.sequenceNumber + 1) & 0xffff;
    this.octetsSent += payload.length;
    return packet;
  }
}

function randomInt(max: number): number {
  return Math.floor(Math.random() * max);
}
