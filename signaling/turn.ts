import type { IceServer } from '../protocol/turn.ts';

/** TURN servers sharing one secret with signaling (coturn: `use-auth-secret`, `static-auth-secret`). */
export interface TurnConfig {
  urls: string[];
  secret: string;
  /** How long an issued credential is good for. */
  ttlS: number;
}

/**
 * A credential for `identity` valid for `ttlS` from `nowS` (TURN REST scheme). WebCrypto, so it runs the same
 * on Node and Deno. The identity is reduced to characters safe in a STUN USERNAME; it only names the user in
 * the TURN server's logs, the expiry is what coturn checks.
 */
export async function turnCredential(
  config: TurnConfig,
  identity: string,
  nowS = Math.floor(Date.now() / 1000),
): Promise<IceServer> {
  const username = `${nowS + config.ttlS}:${identity.replace(/[^A-Za-z0-9._@-]/g, '_').slice(0, 128)}`;
  return { urls: config.urls, username, credential: await hmacSha1Base64(config.secret, username) };
}

async function hmacSha1Base64(secret: string, message: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(message)));
  return btoa(String.fromCharCode(...mac));
}
