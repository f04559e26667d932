import { z } from 'zod';
import { ANY_ROOM } from './auth.ts';
import { ErrorBody } from './errors.ts';
import { DisplayName, RoomId } from './room.ts';
import { RoomDiagnosis, SpanRecord, TraceSummary } from './telemetry.ts';

/** The HTTP endpoints signaling serves next to the WebSocket, and the shape of each answer. */
export const httpPaths = {
  version: '/api/version',
  devToken: '/api/dev/token',
  debugRooms: '/debug/api/rooms',
  debugTraces: '/debug/api/traces',
} as const;

/** Every refusal: the status says the class (400, 401, 403, 404), the body the reason. */
export const HttpError = z.object({ error: ErrorBody });
export type HttpError = z.infer<typeof HttpError>;

/** GET /api/version */
export const VersionResponse = z.object({ protocol: z.number().int() });
export type VersionResponse = z.infer<typeof VersionResponse>;

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
