import { z } from 'zod';

/*
 * TURN servers handed to a member with each `join` and `resume` (the TURN REST shared-secret scheme, as coturn's
 * `use-auth-secret` checks it): the username is `<expiry, unix seconds>:<identity>` and the credential
 * base64(HMAC-SHA1(shared secret, username)). The secret stays on the server; a credential works until its
 * expiry, for that one identity.
 */

/** A `turn:` or `turns:` URL: host or IP literal, optional port, optional `?transport=udp|tcp`. */
export const TURN_URL = /^turns?:(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?(\?transport=(udp|tcp))?$/;

/** One entry of RTCConfiguration.iceServers. */
export const IceServer = z.object({
  urls: z.array(z.string().regex(TURN_URL).max(256)).min(1).max(8),
  /** `<expiry unix s>:<identity>`. */
  username: z.string().max(512),
  /** base64(HMAC-SHA1(secret, username)). */
  credential: z.string().max(128),
});
export type IceServer = z.infer<typeof IceServer>;

/** The TURN servers of one member: one per configured server at most. */
export const IceServers = z.array(IceServer).max(4);

/** How a client may gather candidates: `relay` only uses the TURN servers (a strict network, a test). */
export const IceTransportPolicy = z.enum(['all', 'relay']);
export type IceTransportPolicy = z.infer<typeof IceTransportPolicy>;
