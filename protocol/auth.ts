import { z } from 'zod';
import { DisplayName, Id, RoomId, Source } from './room.ts';

/** What a holder of an access token may do in its room. */
export const Grants = z.object({
  canPublish: z.boolean(),
  canSubscribe: z.boolean(),
  sources: z.array(Source),
  /** Send chat messages in the room (absent: allowed, so tokens minted before chat keep it). */
  canChat: z.boolean().optional(),
  /** Mute others, remove them, end the room (absent: not a moderator). */
  moderator: z.boolean().optional(),
  /**
   * Load testers only: plain RTP transports (createPlainTransport), so a tester can send pre-encoded RTP and count
   * packets instead of running a WebRTC stack per stream. Never in development tokens; `npm run token --
   * --load-test` mints it.
   */
  loadTest: z.boolean().optional(),
});
export type Grants = z.infer<typeof Grants>;

export function mayChat(grants: Grants): boolean {
  return grants.canChat !== false;
}

export const ALL_SOURCES: Source[] = ['microphone', 'camera', 'screen', 'screen-audio'];
export const FULL_GRANTS: Grants = { canPublish: true, canSubscribe: true, sources: ALL_SOURCES };

/** Any room: the token lets its holder see the lobby and join every room. */
export const ANY_ROOM = '*';

/** The claims of an access token (a JWT signed with HS256 by the deployment's secret). */
export const AccessClaims = z.object({
  sub: Id, // the user's identity, stable across sessions
  name: DisplayName,
  room: z.union([RoomId, z.literal(ANY_ROOM)]),
  grants: Grants,
  iat: z.number().int(),
  exp: z.number().int(),
  /** Not valid before (optional); iat, nbf and exp are checked with a clock-skew leeway. */
  nbf: z.number().int().optional(),
  /** Operators: may use the /debug dashboard and its API. */
  admin: z.boolean().optional(),
});
export type AccessClaims = z.infer<typeof AccessClaims>;
