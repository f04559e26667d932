import { z } from 'zod';
import { ConsumerOptions, DtlsParameters, IceParameters, RtpCapabilities, RtpParameters, TransportOptions } from './webrtc.ts';
import { Id, MediaKind, Source } from './room.ts';
import { ProducerStatsReport } from './publisher.ts';
import { ConsumerStatsReport } from './telemetry.ts';
import { IceServers } from './turn.ts';

export const Empty = z.object({}).strict();

/**
 * What a connection must hold before an operation runs, declared with the operation so that a new one cannot
 * skip its check: signaling checks `requires` before anything else.
 */
export const Requirement = z.enum(['token', 'lobby', 'member', 'publish', 'subscribe', 'chat', 'moderate', 'loadTest']);
export type Requirement = z.infer<typeof Requirement>;

export const requirementMeaning: Record<Requirement, string> = {
  token: 'any valid access token (join and resume check the room against it themselves)',
  lobby: 'a token for any room (`room: "*"`)',
  member: 'a joined room',
  publish: "a joined room and the token's grant to publish the request's source, with that source's kind",
  subscribe: "a joined room and the token's grant to receive others' media",
  chat: 'a joined room and the grant to chat (`canChat`, absent = allowed)',
  moderate: 'a joined room and the `moderator` grant; the target must be in the same room',
  loadTest: 'a joined room and the `loadTest` grant (load testers only)',
};

/** Where a load tester sends plain RTP (and RTCP, muxed) for a PlainTransport; it answers to the first sender. */
export const PlainTransportOptions = z.object({ id: Id, ip: z.string(), port: z.number().int().min(1).max(65_535) });
export type PlainTransportOptions = z.infer<typeof PlainTransportOptions>;

export interface Operation {
  request: z.ZodObject;
  response: z.ZodType;
  requires: Requirement;
}
export type OperationTable = Record<string, Operation>;

/**
 * Media operations of a joined peer. Defined once: the client sends them to signaling as they are, and
 * signaling forwards each as the media command of the same name with the room and peer ids added.
 */
export const mediaOperations = {
  /**
   * At most MAX_TRANSPORTS_PER_PEER at once (LIMIT otherwise). With fresh TURN credentials (signaling adds them;
   * absent without TURN): a transport made again after a media reset may come long after the join's expired.
   */
  createTransport: {
    request: z.object({ direction: z.enum(['send', 'recv']) }),
    response: TransportOptions.extend({ iceServers: IceServers.optional() }),
    requires: 'member',
  },
  /**
   * A plain RTP transport (no ICE, DTLS or SRTP; comedia: it sends to wherever the first packet came from) for a
   * load tester: produce pre-encoded RTP on it, or consume onto it and count packets. Counts against
   * MAX_TRANSPORTS_PER_PEER; connectTransport and restartIce do not apply to it.
   */
  createPlainTransport: {
    request: Empty,
    response: PlainTransportOptions,
    requires: 'loadTest',
  },
  connectTransport: {
    request: z.object({ transportId: Id, dtlsParameters: DtlsParameters }),
    response: Empty,
    requires: 'member',
  },
  /**
   * After an ICE failure or a network change: new ICE credentials for the client's transport, and fresh TURN
   * credentials (signaling adds them; absent without TURN): a restart allocates its relay candidates anew, and
   * coturn refuses the join's credentials once they expired (TURN_TTL_S).
   */
  restartIce: {
    request: z.object({ transportId: Id }),
    response: z.object({ iceParameters: IceParameters, iceServers: IceServers.optional() }),
    requires: 'member',
  },
  /** `kind` must be the source's (SOURCE_KIND); one producer per source (LIMIT otherwise). */
  produce: {
    request: z.object({ transportId: Id, kind: MediaKind, source: Source, rtpParameters: RtpParameters }),
    response: z.object({ producerId: Id }),
    requires: 'publish',
  },
  /** Mute: consumers stay, media stops; everyone is told. */
  pauseProducer: {
    request: z.object({ producerId: Id }),
    response: Empty,
    requires: 'member',
  },
  resumeProducer: {
    request: z.object({ producerId: Id }),
    response: Empty,
    requires: 'member',
  },
  closeProducer: {
    request: z.object({ producerId: Id }),
    response: Empty,
    requires: 'member',
  },
  /** Creates a paused consumer; the client resumes it once its side is ready. */
  consume: {
    request: z.object({ transportId: Id, producerId: Id, rtpCapabilities: RtpCapabilities }),
    response: ConsumerOptions,
    requires: 'subscribe',
  },
  /** Starts (or restarts) media and asks the producer for a key frame. */
  resumeConsumer: {
    request: z.object({ consumerId: Id }),
    response: Empty,
    requires: 'subscribe',
  },
  /** E.g. the tile is hidden: stop forwarding until it is shown again. */
  pauseConsumer: {
    request: z.object({ consumerId: Id }),
    response: Empty,
    requires: 'subscribe',
  },
  /** The simulcast layer that fits the tile (0 = smallest). */
  setConsumerPreferredLayers: {
    request: z.object({
      consumerId: Id,
      spatialLayer: z.number().int().min(0).max(3),
      temporalLayer: z.number().int().min(0).max(3).optional(),
    }),
    response: Empty,
    requires: 'subscribe',
  },
  /** Who gets bandwidth first when it is short (1..255, higher first). */
  setConsumerPriority: {
    request: z.object({ consumerId: Id, priority: z.number().int().min(1).max(255) }),
    response: Empty,
    requires: 'subscribe',
  },
  /** The client saw the picture stall: ask the producer for a fresh key frame. */
  requestKeyFrame: {
    request: z.object({ consumerId: Id }),
    response: Empty,
    requires: 'subscribe',
  },
  /** About once a second: what the client sees of each consumer, for the black-screen doctor. */
  reportConsumerStats: {
    request: ConsumerStatsReport,
    response: Empty,
    requires: 'member',
  },
  /** About once a second: what the client sends of each producer (layers, limits, track state), for the doctor. */
  reportProducerStats: {
    request: ProducerStatsReport,
    response: Empty,
    requires: 'member',
  },
} as const satisfies OperationTable;

export type MediaOperation = keyof typeof mediaOperations;
