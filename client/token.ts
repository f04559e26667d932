import { AccessClaims } from '../protocol/auth.ts';

/**
 * The claims of an access token, read without checking its signature (the server does that): enough to know
 * the user's name and whether the token is for one room or for the lobby. Undefined when it is not one.
 */
export function readClaims(token: string): AccessClaims | undefined {
  try {
    const payload = (token.split('.')[1] ?? '').replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(payload), (c) => c.charCodeAt(0));
    return AccessClaims.safeParse(JSON.parse(new TextDecoder().decode(bytes))).data;
  } catch {
    return undefined;
  }
}
