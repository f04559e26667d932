import { sign, verify } from 'hono/jwt';
import { AccessClaims, ANY_ROOM, FULL_GRANTS } from '../protocol/auth.ts';
import type { Grants } from '../protocol/auth.ts';
import { ParleyError } from '../protocol/errors.ts';
import type { Source } from '../protocol/room.ts';

const ALG = 'HS256';
export const DEFAULT_TOKEN_TTL_S = 6 * 60 * 60;

export interface TokenRequest {
  identity: string;
  name: string;
  room?: string;
  grants?: Grants;
  ttlSeconds?: number;
  admin?: boolean;
}

/** Mints an access token; the CLI, the dev endpoint and the tests all go through here. */
export function issueToken(secret: string, req: TokenRequest, now = Math.floor(Date.now() / 1000)): Promise<string> {
  const claims: AccessClaims = {
    sub: req.identity,
    name: req.name,
    room: req.room ?? ANY_ROOM,
    grants: req.grants ?? FULL_GRANTS,
    iat: now,
    exp: now + (req.ttlSeconds ?? DEFAULT_TOKEN_TTL_S),
  };
  if (req.admin) claims.admin = true;
  return sign(AccessClaims.parse(claims), secret, ALG);
}

/** The token's claims, or UNAUTHORIZED with the reason (missing, malformed, bad signature, expired). */
export async function verifyToken(secret: string, token: string | undefined): Promise<AccessClaims> {
  if (!token) throw new ParleyError('UNAUTHORIZED', 'an access token is required');
  let payload: unknown;
  try {
    payload = await verify(token, secret, ALG);
  } catch (err) {
    const reason = err instanceof Error && /expired/i.test(err.name + err.message) ? 'expired' : 'invalid';
    throw new ParleyError('UNAUTHORIZED', `access token ${reason}`);
  }
  const claims = AccessClaims.safeParse(payload);
  if (!claims.success) throw new ParleyError('UNAUTHORIZED', 'access token has malformed claims');
  return claims.data;
}

export function assertRoom(claims: AccessClaims, room: string): void {
  if (claims.room !== ANY_ROOM && claims.room !== room) {
    throw new ParleyError('FORBIDDEN', `this token is for room ${claims.room}, not ${room}`);
  }
}

export function assertPublish(grants: Grants, source: Source): void {
  if (!grants.canPublish) throw new ParleyError('FORBIDDEN', 'this token may not publish');
  if (!grants.sources.includes(source)) throw new ParleyError('FORBIDDEN', `this token may not publish ${source}`);
}

export function assertSubscribe(grants: Grants): void {
  if (!grants.canSubscribe) throw new ParleyError('FORBIDDEN', 'this token may not subscribe');
}
