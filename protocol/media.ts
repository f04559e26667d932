import { z } from 'zod';
import { MAX_LEASES_PER_RENEWAL } from './limits.ts';
import { Empty, mediaOperations } from './operations.ts';
import { ConsumerNotice, PublisherCause, PublisherLayers } from './publisher.ts';
import { Remediation } from './health.ts';
import { DEFAULT_REGION, Region } from './regions.ts';
import { ClientRemedy, RoomDiagnosis } from './telemetry.ts';
import { RtpCapabilities, RtpParameters } from './webrtc.ts';
import { DisplayName, Id, MediaKind, PeerInfo, ProducerInfo, RoomId, Source } from './room.ts';

/** Bus API version; it is part of every subject (see subjects.ts), so old and new tiers never cross-talk. */
export const MEDIA_PROTOCOL_VERSION = 1;

const Peer = { roomId: RoomId, peerId: Id };

/** A media operation as a command: the same request plus the room and peer it is for. */
type WithPeer<T extends Record<string, { request: z.ZodObject; response: z.ZodType }>> = {
  [K in keyof T]: { request: z.ZodObject<T[K]['request']['shape'] & typeof Peer>; response: T[K]['response'] };
};

function withPeer<T extends Record<string, { request: z.ZodObject; response: z.ZodType }>>(ops: T): WithPeer<T> {
  const entries = Object.entries(ops).map(([name, op]) => [name, { request: op.request.extend(Peer), response: op.response }]);
  return Object.fromEntries(entries) as WithPeer<T>;
}

/** The room as one peer sees it: the router's capabilities, everyone else and their producers. */
const RoomView = z.object({
  routerRtpCapabilities: RtpCapabilities,
  peers: z.array(PeerInfo),
  producers: z.array(ProducerInfo),
  /** Who is speaking now: a newcomer must not wait for the next change to know. */
  activeSpeaker: Id.nullable(),
  /** Peers listed in `peers` that cannot be reached now (the link to their region is cut); their producers wait. */
  unreachable: z.array(Id).optional(),
});

/** Signaling → media-worker commands (NATS request/reply), each with its request and reply data. */
export const mediaCommands = {
  join: {
    /** `identity`: the user's, for webhooks (absent from older signaling instances). */
    request: z.object({ ...Peer, displayName: DisplayName, identity: Id.optional() }),
    response: RoomView,
  },
  /** The room as an existing peer sees it now (for a resumed session to reconcile what it missed). */
  snapshot: {
    request: z.object(Peer),
    response: RoomView,
  },
  ...withPeer(mediaOperations),
  leave: {
    request: z.object(Peer),
    response: Empty,
  },
  /**
   * Instance to instance: the caller hosts part of the room and wants one of our producers. We connect a
   * PipeTransport to its `ip`/`port` and answer with ours and the producer's RTP parameters. `ip` must be the
   * pipe address of a registered instance, one heard from within 5 minutes (FORBIDDEN otherwise): media goes
   * nowhere else.
   */
  pipeProducer: {
    request: z.object({ roomId: RoomId, producerId: Id, ip: z.string().max(64), port: z.number().int().min(1).max(65535) }),
    response: z.object({
      ip: z.string(),
      port: z.number().int(),
      kind: MediaKind,
      rtpParameters: RtpParameters,
      paused: z.boolean(),
      peerId: Id,
      source: Source,
    }),
  },
  /**
   * Instance to instance, every second, to each instance holding a part of a room we hold: any answer (even an
   * error) says it is reachable; none says the link to it is down (a cut between regions) and its peers are
   * shown as unreachable until it answers again.
   */
  ping: {
    request: Empty,
    response: Empty,
  },
  /** The doctor's verdicts and the evidence, for the /debug dashboard. */
  diagnose: {
    request: z.object({ roomId: RoomId }),
    response: RoomDiagnosis,
  },
  /**
   * Keeps peers alive. A signaling instance renews every session it holds (connected or within its resume
   * grace); a peer whose lease runs out (its instance died, or the grace ended) is closed by the worker.
   */
  renewLeases: {
    request: z.object({ peers: z.array(z.object(Peer)).max(MAX_LEASES_PER_RENEWAL) }),
    response: z.object({ unknown: z.array(z.object(Peer)) }),
  },
} as const;

export const LEASE_RENEW_MS = 1_000;
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
  z.object({ type: z.literal('producerPaused'), roomId: RoomId, producerId: Id, peerId: Id }),
  z.object({ type: z.literal('producerResumed'), roomId: RoomId, producerId: Id, peerId: Id }),
  z.object({ type: z.literal('activeSpeaker'), roomId: RoomId, peerId: Id.nullable() }),
  z.object({ type: z.literal('audioLevels'), roomId: RoomId, levels: z.array(z.object({ peerId: Id, volume: z.number() })) }),
  // From the instances that host peers of the room: the instance hosting these peers stopped (or started again)
  // answering, so they are still in the room but cannot be seen or heard now (a cut between regions).
  z.object({ type: z.literal('peerReachability'), roomId: RoomId, peerIds: z.array(Id), reachable: z.boolean() }),
  // From an instance whose copy of another instance's part lists peers or producers whose peerJoined or
  // newProducer never reached it (lost while a link between regions came back): members' views are compared
  // with the room. Not sent to clients.
  z.object({ type: z.literal('newsLost'), roomId: RoomId }),
  // Addressed to one peer: its media worker died; build transports again and re-publish, no rejoin needed.
  z.object({ type: z.literal('mediaReset'), roomId: RoomId, peerId: Id, producers: z.array(ProducerInfo) }),
  // Addressed to one peer: the owner of the consumer.
  z.object({ type: z.literal('consumerClosed'), roomId: RoomId, peerId: Id, consumerId: Id, producerId: Id }),
  // Addressed to one peer: a repair the black-screen doctor needs from its client.
  z.object({ type: z.literal('remedy'), roomId: RoomId, peerId: Id, remedy: ClientRemedy }),
  // Addressed to one peer, the publisher: the simulcast layers to send (dynacast, or a bandwidth repair).
  z.object({ type: z.literal('publisherLayers'), roomId: RoomId, peerId: Id, layers: PublisherLayers }),
  // Addressed to one peer, the viewer: the doctor's verdict on one of its consumers changed.
  z.object({ type: z.literal('consumerNotice'), roomId: RoomId, peerId: Id, notice: ConsumerNotice }),
  // For the room's other media-worker instances: the verdict on a producer's publisher changed (null: fine), so
  // consumers of it piped elsewhere carry the publisher's cause too. Clients are not told.
  z.object({
    type: z.literal('producerVerdict'),
    roomId: RoomId,
    producerId: Id,
    fault: z.object({ cause: PublisherCause, detail: z.string().max(512), repair: Remediation.nullable() }).nullable(),
  }),
]);
export type RoomEvent = z.infer<typeof RoomEvent>;

/** One instance's share of a room (KV `parley-room-parts`, key `<roomId>.<instanceId>`), for rooms that span instances. */
export const RoomPart = z.object({
  instanceId: Id,
  peers: z.array(PeerInfo),
  producers: z.array(ProducerInfo),
  /** The dominant speaker among this instance's microphones. */
  activeSpeaker: Id.nullable().default(null),
  updatedAt: z.number(),
});
export type RoomPart = z.infer<typeof RoomPart>;

/** Media workers heartbeat into the registry well within this; an entry older than it is a dead instance. */
export const REGISTRY_TTL_MS = 10_000;

/** A registry entry or room part written within the TTL: its writer was alive a moment ago. */
export function isCurrent(entry: { updatedAt: number }, now = Date.now()): boolean {
  return now - entry.updatedAt < REGISTRY_TTL_MS;
}

/**
 * A paused consumer (its viewer hid the tile, or its producer is muted) costs memory and setup but forwards
 * nothing: it weighs this much of one that forwards. A Discord-style room of 50 where two talk has 2,450
 * microphone consumers, nearly all idle (docs/BENCHMARKS.md, "When should a room spill?").
 */
export const IDLE_CONSUMER_WEIGHT = 0.1;

/** Consumers weighed against capacity (an older instance's `load` is absent: every consumer counts). */
export function consumerLoad(load: { consumers: number; load?: number }): number {
  return load.load ?? load.consumers;
}

/** What every media-worker instance writes to the registry on each heartbeat. */
export const MediaWorkerLoad = z.object({
  instanceId: Id,
  version: z.literal(MEDIA_PROTOCOL_VERSION),
  /** Absent from instances older than regions: they are in the default region. */
  region: Region.default(DEFAULT_REGION),
  workers: z.number().int().nonnegative(),
  routers: z.number().int().nonnegative(),
  transports: z.number().int().nonnegative(),
  producers: z.number().int().nonnegative(),
  consumers: z.number().int().nonnegative(),
  /**
   * What the consumers weigh against `capacity`: one each while it forwards media, IDLE_CONSUMER_WEIGHT while it
   * or its producer is paused (a muted microphone's listeners). Placement and autoscaling read this. Absent from
   * older instances: their consumers all count.
   */
  load: z.number().nonnegative().optional(),
  /**
   * Producers piped in from other instances and out to them, one PipeTransport each (a region's link carries
   * one stream per producer, however many consume it there). Absent from older instances.
   */
  pipesIn: z.number().int().nonnegative().default(0),
  pipesOut: z.number().int().nonnegative().default(0),
  /** Consumers this instance is willing to forward (workers × per-worker budget). */
  capacity: z.number().int().nonnegative(),
  /** A draining instance keeps its rooms but takes no new ones. */
  draining: z.boolean(),
  /**
   * Where its PipeTransports are reached (MEDIA_PIPE_ANNOUNCED_ADDRESS): the only addresses other instances
   * pipe producers to. Optional so that older instances still count for placement (pipes to them are refused).
   */
  pipeAddress: z.string().max(256).optional(),
  perWorker: z.array(
    z.object({
      index: z.number().int(),
      pid: z.number().int(),
      routers: z.number().int(),
      consumers: z.number().int(),
      load: z.number().nonnegative().optional(),
      /** CPU use of the worker process since the previous heartbeat, 0..1 of one core. */
      cpu: z.number(),
    }),
  ),
  updatedAt: z.number(),
});
export type MediaWorkerLoad = z.infer<typeof MediaWorkerLoad>;
