/**
 * Parley's server SDK, for integrators' backends: mint access tokens, call the admin API, check webhooks.
 * Runtime-neutral (fetch and Web Crypto): Node 20+, Deno, Bun, edge workers. See server-sdk/README.md.
 */
import type { z } from 'zod';
import { FULL_GRANTS } from '../protocol/auth.ts';
import type { Grants } from '../protocol/auth.ts';
import type { ChatMessage } from '../protocol/chat.ts';
import { ADMIN_API_BASE, adminEndpoints, HttpError } from '../protocol/http.ts';
import type { AdminEndpoint, AdminRoom } from '../protocol/http.ts';
import type { LobbyParticipant } from '../protocol/presence.ts';
import type { Source } from '../protocol/room.ts';
import { ParleyError } from '../protocol/errors.ts';
import { verifyWebhookSignature, WebhookEvent, webhookHeaders } from '../protocol/webhooks.ts';
import { issueToken } from '../signaling/auth.ts';
import type { TokenRequest } from '../signaling/auth.ts';

export { FULL_GRANTS, ParleyError, WebhookEvent, webhookHeaders };
export type { AdminRoom, ChatMessage, Grants, LobbyParticipant, Source, TokenRequest };

export interface ParleyServerOptions {
  /** A signaling instance's (or the load balancer's) base URL, e.g. https://parley.example.com */
  url: string;
  /** A server API key (PARLEY_API_KEYS) or an admin access token. */
  apiKey: string;
  /** The deployment's PARLEY_SECRET, to mint access tokens (optional if you only call the API). */
  secret?: string;
  /** A fetch of your own (retries, proxies); the global one by default. */
  fetch?: typeof fetch;
}

/**
 * The admin API, typed: every answer is validated against the protocol's schema, every refusal is thrown as
 * a ParleyError with the server's code (UNAUTHORIZED, FORBIDDEN, NOT_FOUND, BAD_REQUEST…).
 */
export class ParleyServer {
  private fetch: typeof fetch;

  constructor(private options: ParleyServerOptions) {
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** An access token for a user (`room` omitted: any room and the lobby). Needs `secret`. */
  mintToken(request: TokenRequest): Promise<string> {
    if (!this.options.secret) throw new Error('ParleyServer needs `secret` (PARLEY_SECRET) to mint tokens');
    return issueToken(this.options.secret, request);
  }

  async listRooms(): Promise<AdminRoom[]> {
    return (await this.call('listRooms', {})).rooms;
  }

  /** Starts a room before anyone joins; an existing one is returned with `created: false`. */
  createRoom(roomId: string, options: { emptyTimeoutSeconds?: number } = {}) {
    return this.call('createRoom', {}, { roomId, ...options });
  }

  /** Ends the room: everyone is removed with `reason`, its chat cleared. */
  closeRoom(roomId: string, reason?: string) {
    return this.call('closeRoom', { roomId }, reason ? { reason } : {});
  }

  async listParticipants(roomId: string): Promise<LobbyParticipant[]> {
    return (await this.call('listParticipants', { roomId })).participants;
  }

  async removeParticipant(roomId: string, peerId: string, reason?: string): Promise<void> {
    await this.call('removeParticipant', { roomId, peerId }, reason ? { reason } : {});
  }

  /** Pauses their `source` on the server; `locked` (default) keeps them from unmuting it. */
  async muteTrack(roomId: string, peerId: string, source: Source, locked = true): Promise<void> {
    await this.call('muteTrack', { roomId, peerId }, { source, locked });
  }

  async unlockTrack(roomId: string, peerId: string, source: Source): Promise<void> {
    await this.call('unlockTrack', { roomId, peerId }, { source });
  }

  /** Replaces their grants now (e.g. `{ ...FULL_GRANTS }` lets them publish). */
  async updateGrants(roomId: string, peerId: string, grants: Grants): Promise<Grants> {
    return (await this.call('updateParticipant', { roomId, peerId }, { grants })).grants;
  }

  /** A system message in the room's chat. */
  async sendMessage(roomId: string, text: string): Promise<ChatMessage> {
    return (await this.call('sendMessage', { roomId }, { text })).message;
  }

  private async call<E extends AdminEndpoint>(
    name: E,
    params: Record<string, string>,
    body?: unknown,
  ): Promise<z.infer<(typeof adminEndpoints)[E]['response']>> {
    const endpoint = adminEndpoints[name];
    const path = endpoint.path.replace(/:(\w+)/g, (_, key: string) => encodeURIComponent(params[key] ?? ''));
    const res = await this.fetch(new URL(`${ADMIN_API_BASE}${path}`, this.options.url), {
      method: endpoint.method,
      headers: { authorization: `Bearer ${this.options.apiKey}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json: unknown = await res.json().catch(() => null);
    if (!res.ok) {
      const refusal = HttpError.safeParse(json);
      if (refusal.success) throw ParleyError.from(refusal.data.error);
      throw new ParleyError('INTERNAL', `${endpoint.method} ${path}: HTTP ${res.status}`);
    }
    return endpoint.response.parse(json) as z.infer<(typeof adminEndpoints)[E]['response']>;
  }
}

/**
 * A webhook request's event, if its signature is valid and recent (a replay of an old delivery is refused);
 * throws otherwise. Deliveries are at least once: keep the ids you handled and skip repeats.
 */
export async function receiveWebhook(
  secret: string,
  body: string,
  signature: string | null | undefined,
  toleranceSeconds?: number,
): Promise<WebhookEvent> {
  const valid = await verifyWebhookSignature(secret, signature, body, undefined, toleranceSeconds);
  if (!valid) throw new ParleyError('UNAUTHORIZED', 'webhook signature invalid or too old');
  return WebhookEvent.parse(JSON.parse(body));
}
