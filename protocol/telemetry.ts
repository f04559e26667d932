import { z } from 'zod';
import { MAX_REPORTED_CONSUMERS } from './limits.ts';
import { DisplayName, Id, MediaKind, RoomId, Source } from './room.ts';
import { HealthCause, HealthStatus, Remediation } from './health.ts';
import { ProducerHealth } from './publisher.ts';
import { Region } from './regions.ts';

export { HealthCause, HealthStatus, Remediation } from './health.ts';

/*
 * Observability contracts: finished spans as they travel between tiers (browser → signaling, every process →
 * the trace store), the black-screen doctor's verdicts, and what the client reports of each consumer it renders.
 * docs/observability.md explains the taxonomy.
 */

const HexId = (length: number) => z.string().regex(new RegExp(`^[0-9a-f]{${length}}$`));
const Attributes = z.record(z.string().max(128), z.union([z.string().max(1024), z.number(), z.boolean()]));

/** One finished (or, for a live consumer, still running) span, in the shape the trace store and dashboard use. */
/** One trace in a list of recent ones. */
export const TraceSummary = z.object({
  traceId: z.string(),
  /** The root span's name (or the earliest span's when the root is elsewhere). */
  name: z.string(),
  startMs: z.number(),
  endMs: z.number(),
  spans: z.number().int(),
  services: z.array(z.string()),
  errors: z.number().int(),
});
export type TraceSummary = z.infer<typeof TraceSummary>;

export const SpanRecord = z.object({
  traceId: HexId(32),
  spanId: HexId(16),
  parentSpanId: HexId(16).optional(),
  name: z.string().max(256),
  /** OpenTelemetry SpanKind as its name. */
  kind: z.enum(['internal', 'server', 'client', 'producer', 'consumer']),
  /** `service.name` of the process that made it: parley-web, parley-signaling, parley-media-worker. */
  service: z.string().max(64),
  /** Epoch milliseconds (fractional). */
  startMs: z.number(),
  endMs: z.number(),
  attributes: Attributes,
  events: z.array(z.object({ name: z.string().max(128), timeMs: z.number(), attributes: Attributes })).max(256),
  status: z.enum(['unset', 'ok', 'error']),
  statusMessage: z.string().max(1024).optional(),
});
export type SpanRecord = z.infer<typeof SpanRecord>;

/** Spans per `reportSpans` request, and the most a store keeps per trace. */

/** What the client sees of one consumer: running totals from its inbound-rtp stats, and the track's state. */
export const ClientConsumerStats = z.object({
  consumerId: Id,
  packetsReceived: z.number().int().nonnegative(),
  /** Video only. */
  framesDecoded: z.number().int().nonnegative().optional(),
  freezeCount: z.number().int().nonnegative().optional(),
  frameWidth: z.number().int().nonnegative().optional(),
  frameHeight: z.number().int().nonnegative().optional(),
  /** `track.muted`: the browser itself says no media arrives. */
  trackMuted: z.boolean(),
  /** The tile is hidden and the client paused the consumer on purpose. */
  hidden: z.boolean().optional(),
  /**
   * Present only when the client's ICE is relay-only: the relay candidates its receive transport has gathered
   * (0 while the transport is down: its TURN servers refused it or cannot be reached).
   */
  relayCandidates: z.number().int().nonnegative().max(1000).optional(),
});
export type ClientConsumerStats = z.infer<typeof ClientConsumerStats>;

/** The client's report, about once a second, of every consumer it renders. */
export const ConsumerStatsReport = z.object({ consumers: z.array(ClientConsumerStats).max(MAX_REPORTED_CONSUMERS) });

export const TransportHealth = z.object({
  id: Id,
  /** `plain`: a load tester's plain RTP transport (no ICE or DTLS: both states read `none`). */
  direction: z.enum(['send', 'recv', 'plain']),
  iceState: z.string(),
  dtlsState: z.string(),
});

/** The doctor's view of one consumer: the verdict, the evidence behind it, and what it did about it. */
export const ConsumerHealth = z.object({
  consumerId: Id,
  producerId: Id,
  /** The subscriber (owner of the consumer) and the publisher. */
  peerId: Id,
  producerPeerId: Id,
  kind: MediaKind,
  source: Source,
  status: HealthStatus,
  cause: HealthCause.nullable(),
  /** One sentence for the operator: what was observed. */
  detail: z.string(),
  /** Epoch ms since when this verdict holds. */
  since: z.number(),
  /** The consumer's lifecycle trace (the trace of the action that created it). */
  traceId: z.string(),
  server: z.object({
    paused: z.boolean(),
    producerPaused: z.boolean(),
    score: z.number(),
    producerScore: z.number(),
    packetCount: z.number(),
    producerPacketCount: z.number(),
    keyFrames: z.number(),
    currentSpatialLayer: z.number().nullable(),
    preferredSpatialLayer: z.number().nullable(),
  }),
  client: ClientConsumerStats.extend({ at: z.number() }).nullable(),
  remediations: z.array(z.object({ action: Remediation, at: z.number(), cause: HealthCause })),
  /** The media-worker instance that forwards it, and the one its producer is piped from (null: local). */
  instanceId: Id.optional(),
  pipedFrom: Id.nullable().optional(),
  workerPid: z.number().int().optional(),
});
export type ConsumerHealth = z.infer<typeof ConsumerHealth>;

/** One room on one media-worker instance, as the dashboard shows it. */
export const RoomDiagnosis = z.object({
  roomId: RoomId,
  instanceId: Id,
  /** The media-worker's region (PARLEY_REGION). */
  region: Region,
  peers: z.array(
    z.object({
      id: Id,
      displayName: DisplayName,
      transports: z.array(TransportHealth),
      producers: z.array(
        z.object({ id: Id, kind: MediaKind, source: Source, paused: z.boolean(), score: z.number(), packetCount: z.number() }),
      ),
      consumers: z.array(ConsumerHealth),
      /** The doctor's verdict on each of the peer's producers (the publisher's side). */
      publishing: z.array(ProducerHealth).optional(),
    }),
  ),
});
export type RoomDiagnosis = z.infer<typeof RoomDiagnosis>;

/**
 * A repair only the client can make, sent to the consumer's owner: restart ICE on a transport, build its
 * transports again (as after a worker loss), or close and consume a producer again.
 */
export const ClientRemedy = z.discriminatedUnion('action', [
  z.object({ action: z.literal('restart-ice'), transportId: Id, cause: HealthCause }),
  z.object({ action: z.literal('reconsume'), consumerId: Id, producerId: Id, cause: HealthCause }),
  // The publisher's side: capture the producer's source again (the track ended, or its encoder stalled).
  z.object({ action: z.literal('reacquire-track'), producerId: Id, cause: HealthCause }),
]);
export type ClientRemedy = z.infer<typeof ClientRemedy>;
