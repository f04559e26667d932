import { sign, verify } from 'hono/jwt';
import { AccessClaims, ANY_ROOM, FULL_GRANTS } from '../protocol/auth.ts';
import type { Grants } from '../protocol/auth.ts';
import { ParleyError } from '../protocol/errors.ts';
import { assertSourceKind } from '../protocol/room.ts';
import type { MediaKind, Source } from '../protocol/room.ts';

const ALG = 'HS256';
/** What `npm run token` and the dev endpoint mint unless told otherwise: within the default maximum lifetime. */
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

/** How strict verification is about time: the longest lifetime accepted, and the clock difference tolerated. */
export interface TokenPolicy {
  tokenMaxLifetimeS: number;
  clockSkewS: number;
}

export const DEFAULT_TOKEN_POLICY: TokenPolicy = { tokenMaxLifetimeS: 24 * 60 * 60, clockSkewS: 30 };

/** The token's claims, or UNAUTHORIZED with the reason (missing, malformed, bad signature, expired, too long-lived). */
export async function verifyToken(
  secret: string,
  token: string | undefined,
  policy: TokenPolicy = DEFAULT_TOKEN_POLICY,
  now = Date.now() / 1000,
): Promise<AccessClaims> {
  if (!token) throw new ParleyError('UNAUTHORIZED', 'an access token is required');
  let payload: unknown;
  try {
    // Times are checked below, with the clock-skew leeway hono's checks do not have.
    payload = await verify(token, secret, { alg: ALG, exp: false, nbf: false, iat: false });
  } catch {
    throw new ParleyError('UNAUTHORIZED', 'access token invalid');
  }
  const claims = AccessClaims.safeParse(payload);
  if (!claims.success) throw new ParleyError('UNAUTHORIZED', 'access token has malformed claims');
  const { iat, exp, nbf } = claims.data;
  const skew = policy.clockSkewS;
  if (exp + skew <= now) throw new ParleyError('UNAUTHORIZED', 'access token expired');
  if (iat - skew > now || (nbf !== undefined && nbf - skew > now)) {
    throw new ParleyError('UNAUTHORIZED', 'access token not valid yet (check the clocks)');
  }
  if (exp - iat > policy.tokenMaxLifetimeS) {
    throw new ParleyError('UNAUTHORIZED', `access token lives longer than the ${policy.tokenMaxLifetimeS} s allowed`);
  }
  return claims.data;
}

/** When an open connection's token stops being valid (epoch ms), with the same leeway as verifyToken. */
export function expiresAtMs(claims: AccessClaims, policy: TokenPolicy): number {
  return (claims.exp + policy.clockSkewS) * 1000;
}

export function assertRoom(claims: AccessClaims, room: string): void {
  if (claims.room !== ANY_ROOM && claims.room !== room) {
    throw new ParleyError('FORBIDDEN', `this token is for room ${claims.room}, not ${room}`);
  }
}

export function assertPublish(grants: Grants, source: Source, kind: MediaKind): void {
  if (!grants.canPublish) throw new ParleyError('FORBIDDEN', 'this token may not publish');
  if (!grants.sources.includes(source)) throw new ParleyError('FORBIDDEN', `this token may not publish ${source}`);
  assertSourceKind(source, kind);
}

export function assertSubscribe(grants: Grants): void {
  if (!grants.canSubscribe) throw new ParleyError('FORBIDDEN', 'this token may not subscribe');
}

export function assertLoadTest(grants: Grants): void {
  if (grants.loadTest !== true) throw new ParleyError('FORBIDDEN', 'plain RTP transports are for load-test tokens only');
}
