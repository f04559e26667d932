import { z } from 'zod';
import { ChatHead } from './chat.ts';
import { Region } from './regions.ts';
import { DisplayName, Id, RoomId } from './room.ts';

/** Presence entries expire from KV unless their signaling instance writes them again within this. */
export const PRESENCE_TTL_MS = 15_000;
export const PRESENCE_HEARTBEAT_MS = 5_000;
/** Lobbies drop an entry this long after its last heartbeat, so a crashed instance's users are gone < TTL. */
export const PRESENCE_STALE_MS = 12_000;
/**
 * An entry of a region that cannot be reached (no current media-worker there: a cut link between regions) is kept
 * this long after its last heartbeat, shown as unreachable rather than gone; its region may also have died.
 */
export const PRESENCE_UNREACHABLE_MAX_MS = 5 * 60_000;

const MediaState = z.object({
  microphone: z.boolean(),
  /** The microphone producer exists but is paused. */
  muted: z.boolean(),
  camera: z.boolean(),
  screen: z.boolean(),
  /** The room's active speaker right now. */
  speaking: z.boolean(),
});

/** One participant of one room, as every signaling instance sees it (KV key `<roomId>.<peerId>`). */
export const PresenceEntry = z.object({
  roomId: RoomId,
  peerId: Id,
  identity: Id,
  displayName: DisplayName,
  /** The signaling instance holding the participant's session. */
  instanceId: Id,
  /** That instance's region (absent from entries written before regions). */
  region: Region.optional(),
  /** False while the participant's connection is down within its resume grace period. */
  connected: z.boolean(),
  media: MediaState,
  updatedAt: z.number(),
});
export type PresenceEntry = z.infer<typeof PresenceEntry>;

export const LobbyParticipant = PresenceEntry.pick({
  peerId: true,
  identity: true,
  displayName: true,
  connected: true,
  media: true,
}).extend({
  /** False while the participant's region cannot be reached (a cut link between regions): shown, not gone. */
  reachable: z.boolean().optional(),
});
export type LobbyParticipant = z.infer<typeof LobbyParticipant>;

export const LobbyRoom = z.object({
  roomId: RoomId,
  participants: z.array(LobbyParticipant),
  /** The room's chat so far, for an unread count (absent: no messages kept). */
  chat: ChatHead.optional(),
});
export type LobbyRoom = z.infer<typeof LobbyRoom>;

export const Lobby = z.object({ rooms: z.array(LobbyRoom) });
export type Lobby = z.infer<typeof Lobby>;
