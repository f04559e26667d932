import { z } from 'zod';
import {
  ConsumerOptions,
  DisplayName,
  DtlsParameters,
  Id,
  MediaKind,
  PeerInfo,
  ProducerInfo,
  RoomId,
  RtpCapabilities,
  RtpParameters,
  Source,
  TransportOptions,
} from './sdp.ts';

/** Bus API version; it is part of every subject (see subjects.ts), so old and new tiers never cross-talk. */
export const MEDIA_PROTOCOL_VERSION = 1;

const Peer = { roomId: RoomId, peerId: Id };
const Empty = z.object({}).strict();

/** The room as one peer sees it: the router's capabilities, everyone else and their producers. */
const RoomView = z.object({
  routerRtpCapabilities: RtpCapabilities,
  peers: z.array(PeerInfo),
  producers: z.array(ProducerInfo),
});

/** Signaling → media-worker commands (NATS request/reply), each with its request and reply data. */
export const mediaCommands = {
  join: {
    request: z.object({ ...Peer, displayName: DisplayName }),
    response: RoomView,
  },
  /** The room as an existing peer sees it now (for a resumed session to reconcile what it missed). */
  snapshot: {
    request: z.object(Peer),
    response: RoomView,
  },
  createTransport: {
    request: z.object({ ...Peer, direction: z.enum(['send', 'recv']) }),
    response: TransportOptions,
  },
  connectTransport: {
    request: z.object({ ...Peer, transportId: Id, dtlsParameters: DtlsParameters }),
    response: Empty,
  },
  produce: {
    request: z.object({ ...Peer, transportId: Id, kind: MediaKind, source: Source, rtpParameters: RtpParameters }),
    response: z.object({ producerId: Id }),
  },
  closeProducer: {
    request: z.object({ ...Peer, producerId: Id }),
    response: Empty,
  },
  consume: {
    request: z.object({ ...Peer, transportId: Id, producerId: Id, rtpCapabilities: RtpCapabilities }),
    response: ConsumerOptions,
  },
  resumeConsumer: {
    request: z.object({ ...Peer, consumerId: Id }),
    response: Empty,
  },
  leave: {
    request: z.object(Peer),
    response: Empty,
  },
  /**
   * Keeps peers alive. A signaling instance renews every session it holds (connected or within its resume
   * grace); a peer whose lease runs out (its instance died, or the grace ended) is closed by the worker.
   */
  renewLeases: {
    request: z.object({ peers: z.array(z.object(Peer)).max(10_000) }),
    response: z.object({ unknown: z.array(z.object(Peer)) }),
  },
} as const;

export const LEASE_RENEW_MS = 5_000;
export const LEASE_TTL_MS = 15_000;

export type MediaCommand = keyof typeof mediaCommands;
export type MediaRequest<C extends MediaCommand> = z.infer<(typeof mediaCommands)[C]['request']>;
export type MediaResponse<C extends MediaCommand> = z.infer<(typeof mediaCommands)[C]['response']>;

export function isMediaCommand(name: string): name is MediaCommand {
  return Object.hasOwn(mediaCommands, name);
}

/** Media-worker → everyone in the room (published on the room's event subject). */
export const RoomEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('peerJoined'), roomId: RoomId, peer: PeerInfo }),
  z.object({ type: z.literal('peerLeft'), roomId: RoomId, peerId: Id }),
  z.object({ type: z.literal('newProducer'), roomId: RoomId, producer: ProducerInfo }),
  z.object({ type: z.literal('producerClosed'), roomId: RoomId, producerId: Id, peerId: Id }),
  // Addressed to one peer: the owner of the consumer.
  z.object({ type: z.literal('consumerClosed'), roomId: RoomId, peerId: Id, consumerId: Id, producerId: Id }),
]);
export type RoomEvent = z.infer<typeof RoomEvent>;

/** Media workers heartbeat into the registry well within this; an entry older than it is a dead instance. */
export const REGISTRY_TTL_MS = 10_000;

/** What every media-worker instance writes to the registry on each heartbeat. */
export const MediaWorkerLoad = z.object({
  instanceId: Id,
  version: z.literal(MEDIA_PROTOCOL_VERSION),
  workers: z.number().int().nonnegative(),
  routers: z.number().int().nonnegative(),
  transports: z.number().int().nonnegative(),
  producers: z.number().int().nonnegative(),
  consumers: z.number().int().nonnegative(),
  updatedAt: z.number(),
});
export type MediaWorkerLoad = z.infer<typeof MediaWorkerLoad>;
