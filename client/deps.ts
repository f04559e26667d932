import type { types } from 'mediasoup-client';
import type { IceTransportPolicy } from '../protocol/turn.ts';
import type { ClientEvents, Emitter } from './events.ts';
import type { Capture, ClientTracer, StateStore } from './host.ts';
import type { Requester } from './socket.ts';

/** Camera simulcast: three layers so each viewer gets the size its tile needs. */
export const CAMERA_ENCODINGS: types.RtpEncodingParameters[] = [
  { scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { scaleResolutionDownBy: 1, maxBitrate: 1_200_000 },
];

/** How this client publishes and receives, where the host wants it different from the defaults. */
export interface MediaOptions {
  /** The camera's encodings (default: CAMERA_ENCODINGS, three simulcast layers). */
  cameraEncodings: types.RtpEncodingParameters[];
  /** Consume everyone else's media (default). A publish-only participant turns it off. */
  subscribe: boolean;
  /**
   * `all` (default): direct paths to the media server, and TURN relays when the server hands out TURN servers.
   * `relay`: TURN relays only (a network that lets nothing else through; a test of TURN). Applies to the
   * transports created after a change.
   */
  iceTransportPolicy: IceTransportPolicy;
  /**
   * The region to have our media placed in: the one `timeRegions` found fastest. Default (unset): the region of
   * the signaling instance we reached. A region without a media-worker taking rooms is not honoured.
   */
  region?: string;
  /** mediasoup-client's handler (in Node: Chrome111 over @roamhq/wrtc); detected in browsers. */
  handlerFactory?: types.HandlerFactory;
}

/** What the parts of a call share: the host's interfaces and the way to signaling. */
export interface CallDeps {
  signaling: Requester;
  capture: Capture;
  store: StateStore;
  tracer: ClientTracer;
  events: Emitter<ClientEvents>;
  media: MediaOptions;
  /**
   * Whether the signaling socket still answers: `reconnecting` when it did not (it is given up, and the resume
   * that follows restarts what needs it) or a reconnect is under way. Given up after `timeoutMs` without an answer.
   */
  checkSignaling(timeoutMs: number): Promise<'alive' | 'reconnecting'>;
}
