import { describe, expect, it } from 'vitest';
import { GRACE_MS } from '../../media-worker/doctor/health.ts';
import {
  judgePublisher,
  LIMIT_GRACE_MS,
  provenSendingMs,
  REPORT_OVERDUE_MS,
} from '../../media-worker/doctor/publisher-health.ts';
import { PRODUCER_REPORT_MS } from '../../protocol/limits.ts';
import type { PublisherObservation } from '../../media-worker/doctor/publisher-health.ts';
import { PublisherCause } from '../../protocol/publisher.ts';

/** A camera producer, 5 s old, its client reporting, sending and encoding, nothing limited. */
const sending: PublisherObservation = {
  source: 'camera',
  kind: 'video',
  ageMs: 5_000,
  producerPaused: false,
  producerIdleMs: 0,
  sendTransportDownMs: 0,
  report: {
    trackEnded: false,
    mutedMs: 0,
    framesIdleMs: 0,
    sendingMs: 0,
    bandwidthLimitedMs: 0,
    cpuLimitedMs: 0,
    activeLayers: 3,
  },
};
const past = GRACE_MS + 1;
const with_ = (report: Partial<NonNullable<PublisherObservation['report']>>, rest: Partial<PublisherObservation> = {}) => ({
  ...sending,
  ...rest,
  report: { ...sending.report!, ...report },
});

const faults: Record<PublisherCause, PublisherObservation> = {
  'publisher-uplink-lost': with_({ sendingMs: past }, { producerIdleMs: past }),
  'track-ended': with_({ trackEnded: true }),
  'track-muted': with_({ mutedMs: past }),
  'screen-share-paused': with_({ mutedMs: past }, { source: 'screen' }),
  'encoder-stalled': with_({ framesIdleMs: past }),
  'publisher-bandwidth-limited': with_({ bandwidthLimitedMs: LIMIT_GRACE_MS }),
  'publisher-cpu-limited': with_({ cpuLimitedMs: LIMIT_GRACE_MS }),
};

describe('black-screen doctor: the publisher’s side', () => {
  it('calls a sending producer healthy', () => {
    expect(judgePublisher(sending)).toMatchObject({ status: 'healthy', cause: null });
  });

  it.each(PublisherCause.options)('names %s', (cause) => {
    expect(judgePublisher(faults[cause])).toMatchObject({ status: 'unhealthy', cause });
  });

  it('names nothing on a producer its publisher paused (the consumers say producer-paused)', () => {
    expect(judgePublisher({ ...faults['track-ended'], producerPaused: true }).cause).toBeNull();
  });

  it('gives each condition its grace', () => {
    const within = GRACE_MS - 1;
    expect(judgePublisher(with_({ mutedMs: within })).status).toBe('healthy');
    expect(judgePublisher(with_({ framesIdleMs: within })).status).toBe('healthy');
    expect(judgePublisher(with_({ bandwidthLimitedMs: LIMIT_GRACE_MS - 1 })).status).toBe('healthy');
    expect(judgePublisher(with_({ sendingMs: past }, { producerIdleMs: within })).status).toBe('healthy');
  });

  it('names a lost uplink from the server’s side alone when the publisher stopped reporting or its transport is down', () => {
    expect(judgePublisher({ ...sending, producerIdleMs: past, report: undefined }).cause).toBe('publisher-uplink-lost');
    expect(judgePublisher({ ...sending, producerIdleMs: past, sendTransportDownMs: 10 }).cause).toBe('publisher-uplink-lost');
    // Nothing arrives because nothing is encoded: the encoder, not the uplink.
    expect(judgePublisher(with_({ framesIdleMs: past }, { producerIdleMs: past })).cause).toBe('encoder-stalled');
    // The latest report was sent before the RTP stopped (sendingMs 0: nothing proven since): wait for the next one,
    // which tells a hung camera from a lost uplink, unless it is overdue.
    expect(judgePublisher({ ...sending, producerIdleMs: past, reportSilentMs: REPORT_OVERDUE_MS })).toMatchObject({
      status: 'pending',
      cause: null,
    });
    expect(judgePublisher({ ...sending, producerIdleMs: past, reportSilentMs: REPORT_OVERDUE_MS + 1 }).cause).toBe(
      'publisher-uplink-lost',
    );
  });

  it('waits for a report before judging what only the publisher can tell', () => {
    expect(judgePublisher({ ...sending, report: undefined }).status).toBe('pending');
  });
});

describe('bytes sent while no RTP arrives', () => {
  const lastPacketAt = 10_000;
  const idleMs = 2_000;
  /** Reports arriving every PRODUCER_REPORT_MS, the latest at `latest`, the bytes of the latest one grown. */
  const proven = (latest: number, bytesAdvanced = true) =>
    provenSendingMs({
      idleMs,
      lastPacketAt,
      bytesAdvanced,
      arrivals: [0, 1, 2].map((i) => latest - (2 - i) * PRODUCER_REPORT_MS),
    });

  it('prove a lost uplink once the report two before the latest arrived after the last packet', () => {
    expect(proven(lastPacketAt + 2 * PRODUCER_REPORT_MS)).toBe(idleMs);
    expect(proven(lastPacketAt + 2 * PRODUCER_REPORT_MS, false)).toBe(0);
  });

  it('prove nothing when the report before the latest may have been taken before the last packet (a camera that just hung)', () => {
    // That report arrived 50 ms after the last packet, but it was taken earlier: its successor counts the hung
    // camera's last bytes. A full-suite run on a busy machine named such a camera publisher-uplink-lost.
    expect(proven(lastPacketAt + 50 + PRODUCER_REPORT_MS)).toBe(0);
    expect(provenSendingMs({ idleMs, lastPacketAt, bytesAdvanced: true, arrivals: [lastPacketAt + 1, lastPacketAt + 900] })).toBe(
      0,
    );
  });
});
