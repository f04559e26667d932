import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FULL_GRANTS, Grants, mayChat } from '../../protocol/auth.ts';
import {
  moderationKey,
  parsePresenceKey,
  parseRoomPartKey,
  presenceKey,
  roomPartKey,
  roomPartsPrefix,
} from '../../protocol/kv.ts';
import { mediaOperations, Requirement } from '../../protocol/operations.ts';
import type { OperationTable } from '../../protocol/operations.ts';
import { ClientNotification, ClientRequest, clientMethods, ServerMessage } from '../../protocol/client.ts';
import { ParleyError, toErrorBody } from '../../protocol/errors.ts';
import { mediaCommands, RoomEvent } from '../../protocol/media.ts';
import { isSubjectToken, subjects } from '../../protocol/subjects.ts';
import { RoomId } from '../../protocol/room.ts';

describe('client protocol', () => {
  it('accepts a well-formed request envelope and rejects broken ones', () => {
    expect(ClientRequest.safeParse({ id: 1, method: 'join', data: {} }).success).toBe(true);
    expect(ClientRequest.safeParse({ id: -1, method: 'join' }).success).toBe(false);
    expect(ClientRequest.safeParse({ method: 'join' }).success).toBe(false);
    expect(ClientRequest.safeParse('join').success).toBe(false);
  });

  it('validates each method’s data with a clear path', () => {
    const bad = clientMethods.produce.request.safeParse({ transportId: '', kind: 'smell', source: 'camera', rtpParameters: {} });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path.join('.'))).toEqual(['transportId', 'kind', 'rtpParameters.codecs']);
    expect(clientMethods.join.request.safeParse({ room: 'a b' }).success).toBe(false);
    expect(clientMethods.leave.request.safeParse({ extra: 1 }).success).toBe(false);
  });

  it('narrows notifications by name and refuses mismatched data', () => {
    const ok = ClientNotification.parse({ notification: 'peerLeft', data: { peerId: 'p1' } });
    expect(ok).toEqual({ notification: 'peerLeft', data: { peerId: 'p1' } });
    expect(ClientNotification.safeParse({ notification: 'peerLeft', data: { producerId: 'x' } }).success).toBe(false);
    expect(ClientNotification.safeParse({ notification: 'selfDestruct', data: {} }).success).toBe(false);
  });

  it('tells responses from notifications', () => {
    expect(ServerMessage.parse({ id: 3, ok: true, data: {} })).toMatchObject({ id: 3 });
    expect(ServerMessage.parse({ id: null, ok: false, error: { code: 'BAD_REQUEST', message: 'x' } })).toMatchObject({
      ok: false,
    });
  });
});

describe('media protocol', () => {
  // signaling/connection.ts forwards the media operations as same-named media commands with ids added.
  const forwarded = Object.keys(mediaOperations);

  it.each(forwarded)('%s has a media command taking the client data plus room and peer ids', (method) => {
    const media = mediaCommands[method as keyof typeof mediaCommands];
    expect(media).toBeDefined();
    const clientKeys = Object.keys(clientMethods[method as keyof typeof clientMethods].request.shape);
    expect(Object.keys(media.request.shape).sort()).toEqual([...clientKeys, 'roomId', 'peerId'].sort());
  });

  it('validates room events by type', () => {
    expect(RoomEvent.safeParse({ type: 'peerLeft', roomId: 'r', peerId: 'p' }).success).toBe(true);
    expect(RoomEvent.safeParse({ type: 'peerLeft', roomId: 'r' }).success).toBe(false);
  });
});

describe('subjects and errors', () => {
  it('only lets safe tokens into subjects', () => {
    expect(subjects.roomEvents('lounge')).toBe('parley.v1.room.lounge.events');
    expect(isSubjectToken('a.b')).toBe(false);
    expect(isSubjectToken('a*')).toBe(false);
    expect(RoomId.safeParse('room.>').success).toBe(false);
  });

  it('keeps codes of ParleyErrors and hides nothing else but the code', () => {
    expect(toErrorBody(new ParleyError('NOT_FOUND', 'gone'))).toEqual({ code: 'NOT_FOUND', message: 'gone' });
    expect(toErrorBody(new Error('oops'))).toEqual({ code: 'INTERNAL', message: 'oops' });
  });
});

describe('each operation declares what it requires', () => {
  it('a table with an operation that declares nothing does not type-check', () => {
    // tsc runs over this file in `npm test`: if the line below ever type-checked, the directive would be unused and
    // the type check would fail. That is what keeps a new operation from skipping authorization.
    const table = {
      // @ts-expect-error `requires` is missing
      fake: { request: z.object({}), response: z.object({}) },
    } satisfies OperationTable;
    expect(Object.keys(table)).toEqual(['fake']);
  });

  it('every client method declares a known requirement', () => {
    for (const [method, op] of Object.entries(clientMethods)) {
      expect(Requirement.options, method).toContain(op.requires);
    }
    expect(clientMethods.produce.requires).toBe('publish');
    expect(clientMethods.consume.requires).toBe('subscribe');
    expect(clientMethods.subscribeLobby.requires).toBe('lobby');
    expect(clientMethods.sendChat.requires).toBe('chat');
    for (const m of ['muteParticipant', 'unlockParticipant', 'removeParticipant', 'endRoom'] as const) {
      expect(clientMethods[m].requires, m).toBe('moderate');
    }
  });

  it('grants from before chat existed still allow it; only `moderator: true` moderates', () => {
    expect(mayChat(FULL_GRANTS)).toBe(true);
    expect(mayChat({ ...FULL_GRANTS, canChat: false })).toBe(false);
    expect(Grants.parse({ canPublish: true, canSubscribe: true, sources: [] }).moderator).toBeUndefined();
  });
});

describe('KV keys', () => {
  it('are built and parsed in one place', () => {
    expect(parseRoomPartKey(roomPartKey('lounge', 'mw-1'))).toEqual({ roomId: 'lounge', instanceId: 'mw-1' });
    expect(parsePresenceKey(presenceKey('lounge', 'p1'))).toEqual({ roomId: 'lounge', peerId: 'p1' });
    expect(parseRoomPartKey('lounge')).toBeUndefined();
    expect(parseRoomPartKey('a.b.c')).toBeUndefined();
    expect(roomPartKey('lounge', 'mw-1').startsWith(roomPartsPrefix('lounge'))).toBe(true);
    expect(roomPartKey('lounge2', 'mw-1').startsWith(roomPartsPrefix('lounge'))).toBe(false);
  });

  it('carry any identity in a moderation key in the characters KV allows, one key per room and identity', () => {
    const keys = ['ada', 'a.b*>', '지민 (관리자)', 'x/y+z='].map((id) => moderationKey('lounge', id));
    for (const key of keys) expect(key).toMatch(/^lounge\.[A-Za-z0-9_-]+$/);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
