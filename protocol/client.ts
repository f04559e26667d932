import { z } from 'zod';
import { ErrorBody } from './errors.ts';
import { Empty, mediaOperations } from './operations.ts';
import type { OperationTable } from './operations.ts';
import { Lobby } from './presence.ts';
import { RtpCapabilities } from './webrtc.ts';
import { Id, PeerInfo, ProducerInfo, RoomId } from './room.ts';
import { MAX_REPORTED_SPANS } from './limits.ts';
import { ConsumerNotice, PublisherLayers } from './publisher.ts';
import { ClientRemedy as Remedy, SpanRecord } from './telemetry.ts';
import { ChatMessage, chatOperations } from './chat.ts';
import { moderationOperations, Removed, SelfState } from './moderation.ts';
import { IceServers } from './turn.ts';
import { Region } from './regions.ts';

/** Bumped on any incompatible change; the client sends it as `?v=` when it opens the WebSocket. */
export const CLIENT_PROTOCOL_VERSION = 1;

/**
 * WebSocket subprotocols: a client may offer `parley.v1` (instead of `?v=1`) and carry its access token as a
 * second one, `parley.token.<jwt>` (instead of `?token=`), so the token stays out of URLs and their logs.
 * The server answers with `parley.v1`.
 */
export const WS_SUBPROTOCOL = `parley.v${CLIENT_PROTOCOL_VERSION}`;
export const WS_TOKEN_SUBPROTOCOL_PREFIX = 'parley.token.';

/** Everything a client needs to (re)build its view of a room. */
const RoomSnapshot = z.object({
  peerId: Id,
  /** Presented by `resume` on a new connection within the grace period to keep this membership. */
  resumeToken: z.string(),
  routerRtpCapabilities: RtpCapabilities,
  peers: z.array(PeerInfo),
  producers: z.array(ProducerInfo),
  /** Who is speaking now (null: nobody, or not known yet). */
  activeSpeaker: Id.nullable(),
  /**
   * Peers listed in `peers` that cannot be reached now: the link to their region is cut. They are still in the
   * room; `peerReachability` says when they can be reached again, and their producers follow then.
   */
  unreachable: z.array(Id).optional(),
  /** What this participant may do now (grants changed by moderators, locked sources). */
  self: SelfState.optional(),
  /**
   * TURN servers with credentials for this identity, fresh with each join and resume (absent: the deployment
   * runs no TURN); they expire (protocol/turn.ts). `createTransport` and `restartIce` hand out fresher ones for
   * the transport they are about.
   */
  iceServers: IceServers.optional(),
});

/** Client → signaling requests: each method's request data and the data of its successful response. */
export const clientMethods = {
  /** Live lobby: every room and who is in it; updates follow as `lobby` notifications. */
  subscribeLobby: {
    request: Empty,
    response: Lobby,
    requires: 'lobby',
  },
  /** The display name and the rooms allowed come from the access token. */
  join: {
    /** `region`: where the client measured it reaches fastest (see RegionsResponse); media goes there if it can. */
    request: z.object({ room: RoomId, region: Region.optional() }),
    response: RoomSnapshot,
    requires: 'token',
  },
  /** Re-attaches a membership whose connection dropped; transports, producers and consumers live on. */
  resume: {
    request: z.object({ resumeToken: z.string().min(16).max(128) }),
    response: RoomSnapshot,
    requires: 'token',
  },
  /**
   * Is this connection alive? Answered at once, by any connection. The client asks after its network changed,
   * with a short deadline: no answer means the socket died with the old network, and it reconnects.
   */
  ping: {
    request: Empty,
    response: Empty,
    requires: 'token',
  },
  ...mediaOperations,
  ...chatOperations,
  ...moderationOperations,
  /**
   * The browser's finished spans (its half of each trace), batched: from members only, at most
   * REPORTED_SPANS_PER_SECOND per connection (RATE_LIMITED beyond: those spans are dropped).
   */
  reportSpans: {
    request: z.object({ spans: z.array(SpanRecord).max(MAX_REPORTED_SPANS) }),
    response: Empty,
    requires: 'member',
  },
  leave: {
    request: Empty,
    response: Empty,
    requires: 'token',
  },
} as const satisfies OperationTable;

export type ClientMethod = keyof typeof clientMethods;
export type ClientRequestData<M extends ClientMethod> = z.infer<(typeof clientMethods)[M]['request']>;
export type ClientResponseData<M extends ClientMethod> = z.infer<(typeof clientMethods)[M]['response']>;

export function isClientMethod(method: string): method is ClientMethod {
  return Object.hasOwn(clientMethods, method);
}

/** The envelope of every request; `data` is validated against the method's own schema afterwards. */
export const ClientRequest = z.object({
  id: z.number().int().nonnegative(),
  method: z.string().max(64),
  data: z.unknown().optional(),
  /** W3C trace context of the browser span that made this request. */
  traceparent: z.string().max(128).optional(),
});
export type ClientRequest = z.infer<typeof ClientRequest>;

export const ClientResponse = z.union([
  z.object({ id: z.number().int().nonnegative(), ok: z.literal(true), data: z.unknown() }),
  // id is null when the request was too broken to have one.
  z.object({ id: z.number().int().nonnegative().nullable(), ok: z.literal(false), error: ErrorBody }),
]);
export type ClientResponse = z.infer<typeof ClientResponse>;

/** Signaling → client pushes. */
export const clientNotifications = {
  peerJoined: z.object({ peer: PeerInfo }),
  peerLeft: z.object({ peerId: Id }),
  newProducer: z.object({ producer: ProducerInfo }),
  producerClosed: z.object({ producerId: Id, peerId: Id }),
  consumerClosed: z.object({ consumerId: Id, producerId: Id }),
  producerPaused: z.object({ producerId: Id, peerId: Id }),
  producerResumed: z.object({ producerId: Id, peerId: Id }),
  /** The loudest participant now (null: silence). */
  activeSpeaker: z.object({ peerId: Id.nullable() }),
  /** Volume in dBvo (-127..0) of everyone speaking above the threshold, a few times a second. */
  audioLevels: z.object({ levels: z.array(z.object({ peerId: Id, volume: z.number() })) }),
  /**
   * These peers are still in the room but cannot be reached now (`reachable: false`: the link to the region
   * hosting them is down; their media stops), or can be again. They are not gone: no peerLeft follows.
   */
  peerReachability: z.object({ peerIds: z.array(Id), reachable: z.boolean() }),
  /**
   * The media server lost this peer's transports (a worker died). Create transports again, re-publish,
   * and consume `producers` (everyone else's now); the membership and the room are unchanged.
   */
  mediaReset: z.object({ producers: z.array(ProducerInfo) }),
  /** The black-screen doctor asks the client to repair one thing (see docs/observability.md). */
  remedy: Remedy,
  /** Dynacast and the doctor's bandwidth repair: send only these simulcast layers of one of our producers. */
  publisherLayers: PublisherLayers,
  /** The doctor's verdict on one of our consumers changed: why a tile is black or frozen, and the repair. */
  consumerNotice: ConsumerNotice,
  lobby: Lobby,
  /** A chat message in the room (text, system, or a moderator's action). */
  chat: ChatMessage,
  /** A moderator changed what this participant may do (grants, locked sources). */
  self: SelfState,
  /** This participant was removed (or the room ended): the membership is over; do not rejoin. */
  removed: Removed,
} as const;

export type ClientNotificationName = keyof typeof clientNotifications;
export type ClientNotificationData<N extends ClientNotificationName> = z.infer<(typeof clientNotifications)[N]>;

/** A notification as one discriminated union, so a `switch` on `notification` narrows `data`. */
export type ClientNotification = {
  [N in ClientNotificationName]: { notification: N; data: ClientNotificationData<N> };
}[ClientNotificationName];

export const ClientNotification = z.discriminatedUnion('notification', [
  z.object({ notification: z.literal('peerJoined'), data: clientNotifications.peerJoined }),
  z.object({ notification: z.literal('peerLeft'), data: clientNotifications.peerLeft }),
  z.object({ notification: z.literal('newProducer'), data: clientNotifications.newProducer }),
  z.object({ notification: z.literal('producerClosed'), data: clientNotifications.producerClosed }),
  z.object({ notification: z.literal('consumerClosed'), data: clientNotifications.consumerClosed }),
  z.object({ notification: z.literal('producerPaused'), data: clientNotifications.producerPaused }),
  z.object({ notification: z.literal('producerResumed'), data: clientNotifications.producerResumed }),
  z.object({ notification: z.literal('activeSpeaker'), data: clientNotifications.activeSpeaker }),
  z.object({ notification: z.literal('audioLevels'), data: clientNotifications.audioLevels }),
  z.object({ notification: z.literal('peerReachability'), data: clientNotifications.peerReachability }),
  z.object({ notification: z.literal('mediaReset'), data: clientNotifications.mediaReset }),
  z.object({ notification: z.literal('remedy'), data: clientNotifications.remedy }),
  z.object({ notification: z.literal('publisherLayers'), data: clientNotifications.publisherLayers }),
  z.object({ notification: z.literal('consumerNotice'), data: clientNotifications.consumerNotice }),
  z.object({ notification: z.literal('lobby'), data: clientNotifications.lobby }),
  z.object({ notification: z.literal('chat'), data: clientNotifications.chat }),
  z.object({ notification: z.literal('self'), data: clientNotifications.self }),
  z.object({ notification: z.literal('removed'), data: clientNotifications.removed }),
]) satisfies z.ZodType<ClientNotification>;

/** A message from the server is a response (has `id`) or a notification (has `notification`). */
export const ServerMessage = z.union([ClientResponse, ClientNotification]);
