import { z } from 'zod';
import { ANY_ROOM, Grants } from './auth.ts';
import { ChatMessage } from './chat.ts';
import { ModerationReason } from './moderation.ts';
import { LobbyParticipant } from './presence.ts';
import { ErrorBody } from './errors.ts';
import { DisplayName, RoomId, Source } from './room.ts';
import { RoomDiagnosis, SpanRecord, TraceSummary } from './telemetry.ts';
import { Incident } from './incidents.ts';
import { Region, RegionEndpoint } from './regions.ts';

/** The HTTP endpoints signaling serves next to the WebSocket, and the shape of each answer. */
export const httpPaths = {
  version: '/api/version',
  region: '/api/region',
  regions: '/api/regions',
  devToken: '/api/dev/token',
  debugRooms: '/debug/api/rooms',
  debugTraces: '/debug/api/traces',
  debugIncidents: '/debug/api/incidents',
} as const;

/** Every refusal: the status says the class (400, 401, 403, 404), the body the reason. */
export const HttpError = z.object({ error: ErrorBody });
export type HttpError = z.infer<typeof HttpError>;

/** GET /api/version */
export const VersionResponse = z.object({ protocol: z.number().int() });
export type VersionResponse = z.infer<typeof VersionResponse>;

/**
 * GET /api/region: which region answered; public and cheap (no token, any origin), for clients timing the regions'
 * endpoints.
 */
export const RegionResponse = z.object({ region: Region });
export type RegionResponse = z.infer<typeof RegionResponse>;

/** GET /api/regions: this instance's region and every region's endpoint a client may time (PARLEY_REGION_URLS). */
export const RegionsResponse = z.object({ region: Region, regions: z.array(RegionEndpoint) });
export type RegionsResponse = z.infer<typeof RegionsResponse>;

/**
 * POST /api/dev/token (the embedded default only: never with NATS_URL or NODE_ENV=production). It never
 * mints admin tokens (those come from `npm run token -- --admin`), so any other field is refused.
 */
export const DevTokenRequest = z
  .object({
    name: DisplayName,
    room: z.union([RoomId, z.literal(ANY_ROOM)]).default(ANY_ROOM),
  })
  .strict();
export const DevTokenResponse = z.object({ token: z.string() });
export type DevTokenResponse = z.infer<typeof DevTokenResponse>;

/** GET /debug/api/rooms?q= (admin token): every room's media objects and the doctor's verdicts. */
export const DebugRoomError = z.object({ roomId: z.string(), instanceId: z.string(), message: z.string() });
export type DebugRoomError = z.infer<typeof DebugRoomError>;
export const DebugRoomsResponse = z.object({ rooms: z.array(RoomDiagnosis), errors: z.array(DebugRoomError) });
export type DebugRoomsResponse = z.infer<typeof DebugRoomsResponse>;

/** GET /debug/api/traces?limit= (admin token): the most recent traces, newest first. */
export const DebugTracesResponse = z.object({ traces: z.array(TraceSummary) });
export type DebugTracesResponse = z.infer<typeof DebugTracesResponse>;

/** GET /debug/api/traces/:traceId (admin token). */
export const DebugTraceResponse = z.object({ traceId: z.string(), spans: z.array(SpanRecord) });
export type DebugTraceResponse = z.infer<typeof DebugTraceResponse>;

/** GET /debug/api/incidents (admin token): open incidents first, then the most recent ended ones. */
export const DebugIncidentsResponse = z.object({ incidents: z.array(Incident), correlator: z.string().nullable() });
export type DebugIncidentsResponse = z.infer<typeof DebugIncidentsResponse>;
/**
 * The admin HTTP API for integrators' backends (`Authorization: Bearer <server API key or admin token>`):
 * rooms, participants and messages. Every body is validated; a refusal is `HttpError` with the matching status.
 */
export const ADMIN_API_BASE = '/api/v1';
export const ADMIN_API_MAX_BODY_BYTES = 16 * 1024;

export const AdminRoom = z.object({
  roomId: RoomId,
  /** This run of the room (absent: people are in it but it started before rooms were recorded). */
  sid: z.string().optional(),
  startedAt: z.number().optional(),
  createdBy: z.enum(['join', 'api']).optional(),
  participants: z.number().int().nonnegative(),
});
export type AdminRoom = z.infer<typeof AdminRoom>;

export const ListRoomsResponse = z.object({ rooms: z.array(AdminRoom) });
export const CreateRoomRequest = z.object({
  roomId: RoomId,
  /** The room finishes once nobody has been in it for this long (default 300). */
  emptyTimeoutSeconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3600)
    .default(300),
});
export const CreateRoomResponse = z.object({ room: AdminRoom, created: z.boolean() });
export const CloseRoomRequest = z.object({ reason: ModerationReason.optional() });
export const CloseRoomResponse = z.object({ closed: z.boolean(), participants: z.number().int() });
export const ListParticipantsResponse = z.object({ participants: z.array(LobbyParticipant) });
export const RemoveParticipantRequest = z.object({ reason: ModerationReason.default('removed by the server') });
export const MuteTrackRequest = z.object({ source: Source, locked: z.boolean().default(true) });
export const UnlockTrackRequest = z.object({ source: Source });
export const UpdateParticipantRequest = z.object({ grants: Grants });
export const UpdateParticipantResponse = z.object({ grants: Grants });
export const SendMessageRequest = z.object({ text: z.string().max(ADMIN_API_MAX_BODY_BYTES) });
export const SendMessageResponse = z.object({ message: ChatMessage });
export const Ok = z.object({ ok: z.literal(true) });

type Shape = z.ZodType;
interface Endpoint {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  summary: string;
  request?: Shape;
  response: Shape;
}

/** Every admin endpoint, in the order the protocol reference lists them. */
export const adminEndpoints = {
  listRooms: {
    method: 'GET',
    path: '/rooms',
    summary: 'Rooms that started or have people in them.',
    response: ListRoomsResponse,
  },
  createRoom: {
    method: 'POST',
    path: '/rooms',
    summary: 'Starts a room before anyone joins (idempotent: an existing room is returned with `created: false`).',
    request: CreateRoomRequest,
    response: CreateRoomResponse,
  },
  closeRoom: {
    method: 'DELETE',
    path: '/rooms/:roomId',
    summary: 'Ends the room: everyone is removed with the reason, its chat is cleared, it finishes.',
    request: CloseRoomRequest,
    response: CloseRoomResponse,
  },
  listParticipants: {
    method: 'GET',
    path: '/rooms/:roomId/participants',
    summary: 'Who is in the room and what they have on.',
    response: ListParticipantsResponse,
  },
  removeParticipant: {
    method: 'DELETE',
    path: '/rooms/:roomId/participants/:peerId',
    summary: 'Removes a participant, who is told the reason and cannot rejoin with a token issued before it.',
    request: RemoveParticipantRequest,
    response: Ok,
  },
  muteTrack: {
    method: 'POST',
    path: '/rooms/:roomId/participants/:peerId/mute',
    summary: 'Pauses their producer of `source` on the server; `locked` (default) keeps them from unmuting it.',
    request: MuteTrackRequest,
    response: Ok,
  },
  unlockTrack: {
    method: 'POST',
    path: '/rooms/:roomId/participants/:peerId/unlock',
    summary: 'Lets them unmute `source` again.',
    request: UnlockTrackRequest,
    response: Ok,
  },
  updateParticipant: {
    method: 'PATCH',
    path: '/rooms/:roomId/participants/:peerId',
    summary: 'Replaces their grants at once (e.g. lets them publish); producers no longer allowed are closed.',
    request: UpdateParticipantRequest,
    response: UpdateParticipantResponse,
  },
  sendMessage: {
    method: 'POST',
    path: '/rooms/:roomId/messages',
    summary: 'A system message in the room chat.',
    request: SendMessageRequest,
    response: SendMessageResponse,
  },
} as const satisfies Record<string, Endpoint>;
export type AdminEndpoint = keyof typeof adminEndpoints;
