import { z } from 'zod';
import {
  ConsumerOptions,
  DtlsParameters,
  IceParameters,
  Id,
  MediaKind,
  RtpCapabilities,
  RtpParameters,
  Source,
  TransportOptions,
} from './webrtc.ts';
import { ConsumerStatsReport } from './telemetry.ts';

export const Empty = z.object({}).strict();

/**
 * Media operations of a joined peer. Defined once: the client sends them to signaling as they are, and
 * signaling forwards each as the media command of the same name with the room and peer ids added.
 */
export const mediaOperations = {
  createTransport: {
    request: z.object({ direction: z.enum(['send', 'recv']) }),
    response: TransportOptions,
  },
  connectTransport: {
    request: z.object({ transportId: Id, dtlsParameters: DtlsParameters }),
    response: Empty,
  },
  /** After an ICE failure or a network change: new ICE credentials for the client's transport. */
  restartIce: {
    request: z.object({ transportId: Id }),
    response: z.object({ iceParameters: IceParameters }),
  },
  produce: {
    request: z.object({ transportId: Id, kind: MediaKind, source: Source, rtpParameters: RtpParameters }),
    response: z.object({ producerId: Id }),
  },
  /** Mute: consumers stay, media stops; everyone is told. */
  pauseProducer: {
    request: z.object({ producerId: Id }),
    response: Empty,
  },
  resumeProducer: {
    request: z.object({ producerId: Id }),
    response: Empty,
  },
  closeProducer: {
    request: z.object({ producerId: Id }),
    response: Empty,
  },
  /** Creates a paused consumer; the client resumes it once its side is ready. */
  consume: {
    request: z.object({ transportId: Id, producerId: Id, rtpCapabilities: RtpCapabilities }),
    response: ConsumerOptions,
  },
  /** Starts (or restarts) media and asks the producer for a key frame. */
  resumeConsumer: {
    request: z.object({ consumerId: Id }),
    response: Empty,
  },
  /** E.g. the tile is hidden: stop forwarding until it is shown again. */
  pauseConsumer: {
    request: z.object({ consumerId: Id }),
    response: Empty,
  },
  /** The simulcast layer that fits the tile (0 = smallest). */
  setConsumerPreferredLayers: {
    request: z.object({
      consumerId: Id,
      spatialLayer: z.number().int().min(0).max(3),
      temporalLayer: z.number().int().min(0).max(3).optional(),
    }),
    response: Empty,
  },
  /** Who gets bandwidth first when it is short (1..255, higher first). */
  setConsumerPriority: {
    request: z.object({ consumerId: Id, priority: z.number().int().min(1).max(255) }),
    response: Empty,
  },
  /** The client saw the picture stall: ask the producer for a fresh key frame. */
  requestKeyFrame: {
    request: z.object({ consumerId: Id }),
    response: Empty,
  },
  /** About once a second: what the client sees of each consumer, for the black-screen doctor. */
  reportConsumerStats: {
    request: ConsumerStatsReport,
    response: Empty,
  },
} as const;

export type MediaOperation = keyof typeof mediaOperations;
