import { describe, expect, it } from 'vitest';
import {
  CLOSED_GRACE_MS,
  GRACE_MS,
  judge,
  LAYERED_KEY_FRAME_WAIT_MS,
  PUBLISHER_VERDICT_WAIT_MS,
} from '../../media-worker/doctor/health.ts';
import type { LiveObservation } from '../../media-worker/doctor/health.ts';
import { HealthCause } from '../../protocol/telemetry.ts';
import { PublisherCause } from '../../protocol/publisher.ts';

/** A resumed video consumer, 5 s old, on a connected transport, with media flowing end to end. */
const flowing: LiveObservation = {
  kind: 'video',
  layered: false,
  ageMs: 5_000,
  transport: { iceState: 'completed', dtlsState: 'connected', downMs: 0 },
  paused: false,
  producerPaused: false,
  clientPaused: false,
  producerIdleMs: 0,
  forwardIdleMs: 0,
  layersMissingMs: 0,
  keyFrames: 3,
  decodeStalls: 0,
};
const live = (changes: Partial<LiveObservation>): LiveObservation => ({ ...flowing, ...changes });
const past = GRACE_MS + 1;

/** One observation per cause, in which only that fault is present. */
const faults = {
  'codec-unsupported': { gone: 'codec-unsupported' },
  'producer-closed': { gone: 'producer-closed', reportedAfterCloseMs: past },
  'no-relay-candidates': live({ transport: { iceState: 'new', dtlsState: 'new', downMs: past }, relayCandidates: 0 }),
  'transport-not-connected': live({ transport: { iceState: 'disconnected', dtlsState: 'connected', downMs: past } }),
  'producer-paused': live({ producerPaused: true }),
  'consumer-never-resumed': live({ paused: true }),
  'no-rtp-from-producer': live({ producerIdleMs: past, forwardIdleMs: past }),
  'layer-unavailable': live({ layered: true, layersMissingMs: past, forwardIdleMs: past }),
  'no-key-frame': live({ forwardIdleMs: past, keyFrames: 0 }),
  'decoder-stall': live({ decodeStalls: 2 }),
  ...Object.fromEntries(
    PublisherCause.options.map((cause) => [
      cause,
      live({ producerIdleMs: past, publisher: { cause, detail: 'seen at the publisher' } }),
    ]),
  ),
} as Record<HealthCause, Parameters<typeof judge>[0]>;

describe('black-screen doctor: verdicts', () => {
  it('calls flowing media healthy', () => {
    expect(judge(flowing)).toMatchObject({ status: 'healthy', cause: null });
  });

  it.each(HealthCause.options)('names %s', (cause) => {
    const verdict = judge(faults[cause]);
    expect(verdict).toMatchObject({ status: 'unhealthy', cause });
    expect(verdict.detail.length).toBeGreaterThan(10);
  });

  it('names the worst cause when several apply (the order of HealthCause)', () => {
    const everything = live({
      transport: { iceState: 'disconnected', dtlsState: 'failed', downMs: past },
      producerPaused: true,
      paused: true,
      producerIdleMs: past,
      layered: true,
      layersMissingMs: past,
      forwardIdleMs: past,
      decodeStalls: 5,
    });
    expect(judge({ ...everything, relayCandidates: 0 }).cause).toBe('no-relay-candidates');
    // Relay candidates gathered, or ICE not relay-only: the transport is down for another reason.
    expect(judge({ ...everything, relayCandidates: 2 }).cause).toBe('transport-not-connected');
    expect(judge(everything).cause).toBe('transport-not-connected');
    // A connected transport is fine whatever the candidates.
    expect(judge({ ...flowing, relayCandidates: 0 }).status).toBe('healthy');
    expect(judge({ ...everything, transport: flowing.transport }).cause).toBe('producer-paused');
    expect(judge({ ...everything, transport: flowing.transport, producerPaused: false }).cause).toBe('consumer-never-resumed');
    const atPublisher = { ...everything, transport: flowing.transport, producerPaused: false, paused: false };
    expect(judge({ ...atPublisher, publisher: { cause: 'track-ended', detail: 'ended' } }).cause).toBe('track-ended');
    const resumed = { ...atPublisher, publisher: undefined };
    expect(judge(resumed).cause).toBe('no-rtp-from-producer');
    expect(judge({ ...resumed, producerIdleMs: 0 }).cause).toBe('layer-unavailable');
    const quiet = LAYERED_KEY_FRAME_WAIT_MS + 1;
    expect(judge({ ...resumed, producerIdleMs: 0, layersMissingMs: 0, forwardIdleMs: quiet }).cause).toBe('no-key-frame');
    expect(judge({ ...resumed, producerIdleMs: 0, layersMissingMs: 0, forwardIdleMs: 0 }).cause).toBe('decoder-stall');
  });

  it('waits for the verdict of a publisher judged here before blaming a quiet producer alone', () => {
    const quiet = live({ producerIdleMs: past, forwardIdleMs: past, publisherWatched: true });
    expect(judge(quiet)).toMatchObject({ status: 'pending', cause: null });
    const stalled = { cause: 'encoder-stalled' as const, detail: 'no frame' };
    expect(judge({ ...quiet, publisher: stalled }).cause).toBe('encoder-stalled');
    // A publisher whose doctor names nothing in time leaves the producer to blame.
    expect(judge({ ...quiet, producerIdleMs: GRACE_MS + PUBLISHER_VERDICT_WAIT_MS + 1 }).cause).toBe('no-rtp-from-producer');
  });

  it('gives every cause its grace period, and calls a young consumer pending', () => {
    const within = GRACE_MS - 1;
    expect(judge(live({ ageMs: within, paused: true }))).toMatchObject({ status: 'pending', cause: null });
    expect(judge(live({ ageMs: within, transport: { iceState: 'new', dtlsState: 'new', downMs: within } })).status).toBe(
      'pending',
    );
    // A transport that just dropped on an old consumer is not named yet either.
    expect(judge(live({ transport: { iceState: 'disconnected', dtlsState: 'connected', downMs: within } })).status).toBe(
      'healthy',
    );
    expect(judge(live({ producerIdleMs: within })).status).toBe('healthy');
    expect(judge(live({ layered: true, layersMissingMs: within })).status).toBe('healthy');
    // Nothing forwarded because mediasoup just lost every layer: not a key-frame problem, not yet a layer one.
    expect(judge(live({ layered: true, layersMissingMs: within, forwardIdleMs: past }))).toMatchObject({
      status: 'pending',
      cause: null,
    });
    expect(judge(live({ layered: true, layersMissingMs: within, forwardIdleMs: 0, decodeStalls: 5 })).cause).toBeNull();
    // Nothing forwarded on a simulcast consumer whose layers still look current: mediasoup may be about to
    // declare them inactive (a publisher that sends padding only), so no key-frame verdict until that is settled.
    expect(judge(live({ layered: true, forwardIdleMs: LAYERED_KEY_FRAME_WAIT_MS }))).toMatchObject({ status: 'pending' });
    expect(judge(live({ layered: true, forwardIdleMs: LAYERED_KEY_FRAME_WAIT_MS + 1 })).cause).toBe('no-key-frame');
    expect(judge(live({ forwardIdleMs: past })).cause).toBe('no-key-frame');
    expect(judge(live({ forwardIdleMs: within })).status).toBe('healthy');
    expect(judge(live({ decodeStalls: 1 })).status).toBe('healthy');
    expect(judge({ gone: 'producer-closed', reportedAfterCloseMs: CLOSED_GRACE_MS - 1 }).status).toBe('healthy');
  });

  it('waits for statistics before judging what needs them', () => {
    const unsampled = live({ producerIdleMs: undefined, forwardIdleMs: undefined, decodeStalls: 3 });
    expect(judge(unsampled)).toMatchObject({ status: 'pending', cause: null });
  });

  it('names producer-paused at once: the publisher’s choice needs no grace', () => {
    expect(judge(live({ ageMs: 10, producerPaused: true })).cause).toBe('producer-paused');
  });

  it('respects a pause the client asked for (or a hidden tile)', () => {
    expect(judge(live({ paused: true, clientPaused: true }))).toMatchObject({ status: 'paused-by-client', cause: null });
    // …but the publisher’s mute and a broken transport still show.
    expect(judge(live({ paused: true, clientPaused: true, producerPaused: true })).cause).toBe('producer-paused');
    const down = { iceState: 'disconnected', dtlsState: 'connected', downMs: past };
    expect(judge(live({ paused: true, clientPaused: true, transport: down })).cause).toBe('transport-not-connected');
  });

  it('does not count audio as missing key frames or stalling a decoder', () => {
    expect(judge(live({ kind: 'audio', forwardIdleMs: past, decodeStalls: 4 })).status).toBe('healthy');
  });

  it('lets a closed consumer rest once its client no longer shows it', () => {
    expect(judge({ gone: 'producer-closed' })).toMatchObject({ status: 'healthy', cause: null });
  });

  it('keeps decoder-stall for consumers the server actually forwards to', () => {
    expect(judge(live({ decodeStalls: 2, forwardIdleMs: past })).cause).toBe('no-key-frame');
  });
});
