import { z } from 'zod';
import { MAX_REPORTED_PRODUCERS } from './limits.ts';
import { Id, MediaKind, Source } from './room.ts';
import { HealthCause } from './health.ts';

/*
 * The publisher's side of the black-screen doctor: what a client reports of what it sends (once a second, like
 * the consumer report), the verdict on each producer, and the simulcast layers the server asks it to send
 * (dynacast: layers no consumer wants are switched off at the encoder).
 */

/** Why a sender sends less than asked (RTCOutboundRtpStreamStats.qualityLimitationReason). */
export const QualityLimitation = z.enum(['none', 'cpu', 'bandwidth', 'other']);
export type QualityLimitation = z.infer<typeof QualityLimitation>;

/** One encoding (simulcast layer) of an outbound stream: running totals, as getStats reports them. */
export const OutboundLayer = z.object({
  /** The RID of the layer, absent without simulcast. */
  rid: z.string().max(16).optional(),
  /** Whether the client means to send it (`encodings[i].active`). */
  active: z.boolean(),
  bytesSent: z.number().nonnegative(),
  framesEncoded: z.number().int().nonnegative().optional(),
  frameHeight: z.number().int().nonnegative().optional(),
  qualityLimitationReason: QualityLimitation.optional(),
});
export type OutboundLayer = z.infer<typeof OutboundLayer>;

/** What the client sees of one of its producers. */
export const ClientProducerStats = z.object({
  producerId: Id,
  kind: MediaKind,
  source: Source,
  /** `track.readyState`: an ended track sends nothing until it is captured again. */
  trackEnded: z.boolean(),
  /** `track.muted`: the OS or browser delivers no frames (camera taken, screen share paused, window hidden). */
  trackMuted: z.boolean(),
  /** The send transport's connection state (RTCPeerConnection's). */
  transportState: z.enum(['new', 'connecting', 'connected', 'disconnected', 'failed', 'closed']),
  /** The sender's bandwidth estimate for the send transport (bit/s), where the platform reports it. */
  availableOutgoingBitrate: z.number().nonnegative().optional(),
  /** Video only: one row per encoding, lowest first. */
  layers: z.array(OutboundLayer).max(4),
});
export type ClientProducerStats = z.infer<typeof ClientProducerStats>;

export const ProducerStatsReport = z.object({ producers: z.array(ClientProducerStats).max(MAX_REPORTED_PRODUCERS) });

/** Causes named on a producer: each also explains its consumers' missing or frozen picture. */
export const PublisherCause = HealthCause.extract([
  'publisher-uplink-lost',
  'track-ended',
  'track-muted',
  'screen-share-paused',
  'encoder-stalled',
  'publisher-bandwidth-limited',
  'publisher-cpu-limited',
]);
export type PublisherCause = z.infer<typeof PublisherCause>;

/** The doctor's view of one producer (on the instance its publisher is connected to). */
export const ProducerHealth = z.object({
  producerId: Id,
  peerId: Id,
  kind: MediaKind,
  source: Source,
  status: z.enum(['healthy', 'pending', 'unhealthy']),
  cause: PublisherCause.nullable(),
  detail: z.string(),
  since: z.number(),
  /** The highest spatial layer the publisher is asked to send (null: not simulcast), and why. */
  maxSpatialLayer: z.number().int().nullable(),
  layerReason: z.enum(['dynacast', 'bandwidth', 'cpu', 'all-wanted']).nullable(),
  client: ClientProducerStats.extend({ at: z.number() }).nullable(),
});
export type ProducerHealth = z.infer<typeof ProducerHealth>;

/** Server → publisher: send encodings 0..maxSpatialLayer only (the others `active = false`). */
export const PublisherLayers = z.object({
  producerId: Id,
  maxSpatialLayer: z.number().int().min(0).max(3),
  reason: z.enum(['dynacast', 'bandwidth', 'cpu', 'all-wanted']),
});
export type PublisherLayers = z.infer<typeof PublisherLayers>;

/**
 * Server → viewer: the doctor's verdict on one of its consumers changed. A black or frozen tile shows the cause
 * in plain words and the repair under way; `cause` may be the publisher's.
 */
export const ConsumerNotice = z.object({
  consumerId: Id,
  producerId: Id,
  status: z.enum(['healthy', 'pending', 'paused-by-client', 'unhealthy']),
  cause: HealthCause.nullable(),
  /** The repair the doctor is trying now (null: none, or none exists). */
  repair: z.string().max(64).nullable(),
  since: z.number(),
  /** The consumer's lifecycle trace: a problem report carries it so an operator can open it in /debug. */
  traceId: z.string().max(32),
});
export type ConsumerNotice = z.infer<typeof ConsumerNotice>;
