/**
 * What one received stream did, from sequence numbers and arrival times alone (RFC 3550 §6.4.1, A.3, A.8):
 * expected vs received packets, interarrival jitter, bytes. No decoding: that is what makes a receiver cheap.
 */
export class StreamCounter {
  received = 0;
  bytes = 0;
  /** Interarrival jitter in ms (RFC 3550's running estimate). */
  jitterMs = 0;
  private baseSequence?: number;
  private highest = 0;
  private cycles = 0;
  private lastTransit?: number;

  constructor(private readonly clockRate: number) {}

  /** One packet: its sequence number, RTP timestamp and size, and when it arrived (ms). */
  add(sequenceNumber: number, timestamp: number, bytes: number, arrivedAt: number): void {
    this.received++;
    this.bytes += bytes;
    if (this.baseSequence === undefined) {
      this.baseSequence = sequenceNumber;
      this.highest = sequenceNumber;
    } else if (sequenceNumber < this.highest && this.highest - sequenceNumber > 0x8000) {
      this.cycles += 0x10000; // wrapped
      this.highest = sequenceNumber;
    } else if (sequenceNumber > this.highest && sequenceNumber - this.highest < 0x8000) {
      this.highest = sequenceNumber;
    }
    const transit = arrivedAt - (timestamp / this.clockRate) * 1000;
    if (this.lastTransit !== undefined) {
      // Timestamps wrap every 13 h at 90 kHz; a jump that large is a wrap, not jitter.
      const d = Math.abs(transit - this.lastTransit);
      if (d < 10_000) this.jitterMs += (d - this.jitterMs) / 16;
    }
    this.lastTransit = transit;
  }

  /** Packets the sender sent from the first one seen to the highest one seen. */
  get expected(): number {
    return this.baseSequence === undefined ? 0 : this.cycles + this.highest - this.baseSequence + 1;
  }

  snapshot(): CounterSnapshot {
    return { received: this.received, expected: this.expected, bytes: this.bytes, jitterMs: this.jitterMs };
  }
}

export interface CounterSnapshot {
  received: number;
  expected: number;
  bytes: number;
  jitterMs: number;
}

/** Loss over a window between two snapshots of the same stream, in % (a late duplicate can make it negative: 0). */
export function windowLossPct(before: CounterSnapshot, after: CounterSnapshot): number {
  const expected = after.expected - before.expected;
  const received = after.received - before.received;
  return expected <= 0 ? 0 : Math.max(0, ((expected - received) / expected) * 100);
}
