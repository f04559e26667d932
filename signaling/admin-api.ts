import { Hono } from 'hono';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import { ParleyError, toErrorBody } from '../protocol/errors.ts';
import type { ErrorCode } from '../protocol/errors.ts';
import {
  ADMIN_API_MAX_BODY_BYTES,
  CloseRoomRequest,
  CreateRoomRequest,
  MuteTrackRequest,
  RemoveParticipantRequest,
  SendMessageRequest,
  UnlockTrackRequest,
  UpdateParticipantRequest,
} from '../protocol/http.ts';
import type {
  AdminRoom,
  CloseRoomResponse,
  CreateRoomResponse,
  HttpError,
  ListParticipantsResponse,
  ListRoomsResponse,
  SendMessageResponse,
  UpdateParticipantResponse,
} from '../protocol/http.ts';
import { Id, RoomId } from '../protocol/room.ts';
import type { RoomRecord } from '../protocol/room.ts';
import { verifyToken } from './auth.ts';
import type { Chat } from './chat.ts';
import type { Lobby } from './lobby.ts';
import type { Moderation } from './moderation.ts';
import type { RoomRegistry } from './room-registry.ts';

export interface AdminApiDeps {
  secret: string;
  apiKeys: string[];
  lobby: Lobby;
  rooms: RoomRegistry;
  moderation: Moderation;
  chat: Chat;
}

const STATUS: Partial<Record<ErrorCode, ContentfulStatusCode>> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  TIMEOUT: 503,
  STORE_UNAVAILABLE: 503,
};

/**
 * The admin HTTP API (protocol/http.ts: `adminEndpoints`) for integrators' backends. Every request needs
 * `Authorization: Bearer` with a server API key (PARLEY_API_KEYS) or an admin access token; bodies are
 * limited before they are read and validated against their schema; ids are checked before any lookup.
 */
export function createAdminApi(deps: AdminApiDeps): Hono {
  const app = new Hono();
  app.use('*', async (c, next) => (await refuse(c, deps)) ?? next());
  app.use(
    '*',
    bodyLimit({
      maxSize: ADMIN_API_MAX_BODY_BYTES,
      onError: (c) => fail(c, new ParleyError('PAYLOAD_TOO_LARGE', `bodies are limited to ${ADMIN_API_MAX_BODY_BYTES} bytes`)),
    }),
  );
  app.onError((err, c) => fail(c, err));
  app.notFound((c) => fail(c, new ParleyError('NOT_FOUND', `no endpoint ${c.req.method} ${c.req.path}`)));

  app.get('/rooms', (c) => c.json({ rooms: listRooms(deps) } satisfies z.infer<typeof ListRoomsResponse>));

  app.post('/rooms', async (c) => {
    const body = await parseBody(c, CreateRoomRequest);
    const [record, created] = await deps.rooms.start(body.roomId, 'api', body.emptyTimeoutSeconds * 1000);
    return c.json({ room: adminRoom(deps, record.roomId, record), created } satisfies z.infer<typeof CreateRoomResponse>);
  });

  app.delete('/rooms/:roomId', async (c) => {
    const roomId = param(c, 'roomId', RoomId);
    const body = await parseBody(c, CloseRoomRequest, true);
    const known = deps.rooms.get(roomId) !== undefined || participantsOf(deps, roomId).length > 0;
    if (!known) throw new ParleyError('NOT_FOUND', `no room ${roomId}`);
    const participants = await deps.moderation.endRoom(roomId, body.reason ?? 'the room was closed', null);
    const closed = await deps.rooms.finish(roomId);
    return c.json({ closed: closed || participants > 0, participants } satisfies z.infer<typeof CloseRoomResponse>);
  });

  app.get('/rooms/:roomId/participants', (c) => {
    const roomId = param(c, 'roomId', RoomId);
    return c.json({ participants: participantsOf(deps, roomId) } satisfies z.infer<typeof ListParticipantsResponse>);
  });

  app.delete('/rooms/:roomId/participants/:peerId', async (c) => {
    const [roomId, peerId] = [param(c, 'roomId', RoomId), param(c, 'peerId', Id)];
    const body = await parseBody(c, RemoveParticipantRequest, true);
    await deps.moderation.remove(roomId, peerId, body.reason, null);
    return c.json({ ok: true as const });
  });

  app.post('/rooms/:roomId/participants/:peerId/mute', async (c) => {
    const [roomId, peerId] = [param(c, 'roomId', RoomId), param(c, 'peerId', Id)];
    const body = await parseBody(c, MuteTrackRequest);
    await deps.moderation.mute(roomId, peerId, body.source, body.locked, null);
    return c.json({ ok: true as const });
  });

  app.post('/rooms/:roomId/participants/:peerId/unlock', async (c) => {
    const [roomId, peerId] = [param(c, 'roomId', RoomId), param(c, 'peerId', Id)];
    const body = await parseBody(c, UnlockTrackRequest);
    await deps.moderation.unlock(roomId, peerId, body.source, null);
    return c.json({ ok: true as const });
  });

  app.patch('/rooms/:roomId/participants/:peerId', async (c) => {
    const [roomId, peerId] = [param(c, 'roomId', RoomId), param(c, 'peerId', Id)];
    const body = await parseBody(c, UpdateParticipantRequest);
    await deps.moderation.setGrants(roomId, peerId, body.grants, null);
    return c.json({ grants: body.grants } satisfies z.infer<typeof UpdateParticipantResponse>);
  });

  app.post('/rooms/:roomId/messages', async (c) => {
    const roomId = param(c, 'roomId', RoomId);
    const body = await parseBody(c, SendMessageRequest);
    const message = await deps.chat.send(roomId, { kind: 'system', from: null, text: body.text });
    return c.json({ message } satisfies z.infer<typeof SendMessageResponse>);
  });

  return app;
}

/** Rooms on record, and rooms with people in them that are not (they started before the registry knew). */
function listRooms(deps: AdminApiDeps): AdminRoom[] {
  const occupied = deps.lobby.view().rooms.map((r) => r.roomId);
  const ids = new Set([...deps.rooms.list().map((r) => r.roomId), ...occupied]);
  return [...ids].sort().map((roomId) => adminRoom(deps, roomId, deps.rooms.get(roomId)));
}

function adminRoom(deps: AdminApiDeps, roomId: string, record: RoomRecord | undefined): AdminRoom {
  const participants = participantsOf(deps, roomId).length;
  if (!record) return { roomId, participants };
  return { roomId, sid: record.sid, startedAt: record.startedAt, createdBy: record.createdBy, participants };
}

function participantsOf(deps: AdminApiDeps, roomId: string) {
  return deps.lobby.view().rooms.find((r) => r.roomId === roomId)?.participants ?? [];
}

function param<T>(c: Context, name: string, schema: z.ZodType<T>): T {
  const parsed = schema.safeParse(c.req.param(name));
  if (!parsed.success) throw new ParleyError('BAD_REQUEST', `${name}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

/** The JSON body checked against `schema`; `optional`: an empty body counts as `{}`. */
async function parseBody<T>(c: Context, schema: z.ZodType<T>, optional = false): Promise<T> {
  const text = await c.req.text();
  let json: unknown = {};
  if (text.trim() || !optional) {
    try {
      json = JSON.parse(text);
    } catch {
      throw new ParleyError('BAD_REQUEST', 'the body is not JSON');
    }
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    throw new ParleyError('BAD_REQUEST', issues.join('; '));
  }
  return parsed.data;
}

function fail(c: Context, err: unknown): Response {
  const error = toErrorBody(err);
  if (error.code === 'INTERNAL') console.error('[signaling] admin API:', error.message);
  return c.json({ error } satisfies HttpError, STATUS[error.code] ?? 500);
}

/** 401 without a known key or a valid token, 403 for a valid token without the admin claim. */
async function refuse(c: Context, deps: AdminApiDeps): Promise<Response | undefined> {
  const header = c.req.header('authorization') ?? '';
  const bearer = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
  if (!bearer) return fail(c, new ParleyError('UNAUTHORIZED', 'Authorization: Bearer <API key or admin token> is required'));
  if (await isApiKey(bearer, deps.apiKeys)) return undefined;
  try {
    const claims = await verifyToken(deps.secret, bearer);
    if (claims.admin) return undefined;
    return fail(c, new ParleyError('FORBIDDEN', 'this token is not an admin token'));
  } catch {
    return fail(c, new ParleyError('UNAUTHORIZED', 'unknown API key or invalid token'));
  }
}

/** Compared as SHA-256 digests, so the time taken says nothing about how much of a key matched. */
async function isApiKey(candidate: string, keys: string[]): Promise<boolean> {
  const digest = async (s: string) => new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s)));
  const given = await digest(candidate);
  let found = false;
  for (const key of keys) {
    const known = await digest(key);
    let diff = 0;
    for (let i = 0; i < known.length; i++) diff |= known[i]! ^ given[i]!;
    found ||= diff === 0;
  }
  return found;
}
