import { z } from 'zod';

/** The black-screen doctor's vocabulary: verdicts, causes and repairs (docs/observability.md explains each). */

/**
 * Why a consumer shows no picture, worst first: the doctor names the first that applies. A consumer with none
 * of these is healthy (or pending in its first seconds, or paused on purpose by its client).
 */
export const HealthCause = z.enum([
  'codec-unsupported',
  'producer-closed',
  // Relay-only ICE (iceTransportPolicy 'relay') and no relay candidate: TURN refused the client or is unreachable.
  'no-relay-candidates',
  'transport-not-connected',
  'producer-paused',
  'consumer-never-resumed',
  // The publisher's side (its client's outbound stats and the server's producer stats): named on the producer
  // (publisher.ts) and shown on every consumer it leaves without a picture or frozen.
  'publisher-uplink-lost',
  'track-ended',
  'track-muted',
  'screen-share-paused',
  'encoder-stalled',
  'publisher-bandwidth-limited',
  'publisher-cpu-limited',
  'no-rtp-from-producer',
  'layer-unavailable',
  'no-key-frame',
  'decoder-stall',
]);
export type HealthCause = z.infer<typeof HealthCause>;

export const HealthStatus = z.enum(['healthy', 'pending', 'paused-by-client', 'unhealthy']);
export type HealthStatus = z.infer<typeof HealthStatus>;

/** What the doctor can do about a cause; each attempt is recorded as a span in the consumer's trace. */
export const Remediation = z.enum([
  'request-key-frame',
  'resume-consumer',
  'restart-ice',
  'reset-media',
  'reconsume',
  'close-consumer',
  // layer-unavailable: prefer the lowest spatial layer, the one most likely to arrive.
  'set-preferred-layers',
  // The publisher's side: send fewer simulcast layers, restart ICE on the send transport, capture the track again.
  'lower-top-layer',
  'restart-send-ice',
  'reacquire-track',
]);
export type Remediation = z.infer<typeof Remediation>;
