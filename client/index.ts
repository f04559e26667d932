/**
 * Parley's client SDK: headless (no UI framework, no DOM beyond WebRTC), for browsers and Node. See
 * client/README.md for an example and docs/protocol.md for the wire protocol underneath.
 */
export { ParleyClient } from './client.ts';
export type { ClientOptions, TokenSource } from './client.ts';
export type { Call, InboundRow } from './call.ts';
export type { ClientError, ClientEvents, ConsumerShown } from './events.ts';
export { initialState, memoryStore, noTracer } from './host.ts';
export type {
  Capture,
  CaptureSource,
  ClientState,
  ClientTracer,
  ConnectionState,
  Feed,
  NetworkWatch,
  RemotePeer,
  RemoteTrack,
  StateStore,
} from './host.ts';
export type { MediaOptions } from './deps.ts';
export { RoomChat, unreadCount } from './chat.ts';
export { Moderator } from './moderation.ts';
export { CAMERA_ENCODINGS } from './deps.ts';
export type { TileView } from './subscriber.ts';
export { layerForHeight } from './subscriber.ts';
export type { Requester, WebSocketConstructor } from './socket.ts';
export { constraintsFor, mediaDevicesCapture } from './media-devices.ts';
export { browserNetworkWatch } from './network-watch.ts';
export { formatStats, summarize } from './stats.ts';
export { readClaims } from './token.ts';
export { timeRegions } from './regions.ts';
export type { RegionTiming, TimeRegionsOptions } from './regions.ts';
export type { Sample, TileStats } from './stats.ts';
export type { StatsRows } from './consumer-stats.ts';
