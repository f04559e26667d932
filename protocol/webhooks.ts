import { z } from 'zod';
import { ChatMessage } from './chat.ts';
import { DisplayName, Id, MediaKind, RoomId, Source } from './room.ts';

/** What a deployment's webhooks report; `WEBHOOK_EVENTS` chooses among them (default: all). */
export const WebhookEventType = z.enum([
  'room_started',
  'room_finished',
  'participant_joined',
  'participant_left',
  'track_published',
  'track_unpublished',
  'chat_message',
]);
export type WebhookEventType = z.infer<typeof WebhookEventType>;

/**
 * The body of every webhook POST. Delivery is at least once: the same `id` can arrive more than once (a retry
 * whose first answer was lost, an instance that died mid-delivery), so receivers deduplicate by it.
 */
export const WebhookEvent = z.object({
  id: z.string().max(200),
  event: WebhookEventType,
  /** Epoch ms when it happened. */
  createdAt: z.number(),
  room: z.object({ roomId: RoomId, sid: z.string().optional() }),
  participant: z.object({ peerId: Id, identity: Id.optional(), displayName: DisplayName }).optional(),
  track: z.object({ producerId: Id, source: Source, kind: MediaKind }).optional(),
  message: ChatMessage.optional(),
});
export type WebhookEvent = z.infer<typeof WebhookEvent>;

/** Request headers of a webhook delivery. */
export const webhookHeaders = {
  /** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the shared secret>` */
  signature: 'parley-signature',
  eventId: 'parley-event-id',
  /** 1 on the first attempt. */
  attempt: 'parley-delivery-attempt',
} as const;

/** A receiver refuses a signature whose timestamp is further than this from its clock (replays). */
export const WEBHOOK_TOLERANCE_S = 300;

/** The `v1` signature of `body` sent at `timestamp` (unix seconds): HMAC-SHA256, hex. Web Crypto only. */
export async function webhookSignature(secret: string, timestamp: number, body: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await crypto.subtle.sign('HMAC', key, encoder.encode(`${timestamp}.${body}`));
  return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The signature header's value for `body` at `timestamp`. */
export async function signatureHeader(secret: string, timestamp: number, body: string): Promise<string> {
  return `t=${timestamp},v1=${await webhookSignature(secret, timestamp, body)}`;
}

/**
 * Whether `header` is a valid signature of `body` now: the MAC matches (compared in constant time) and its
 * timestamp is within the tolerance, so a captured delivery cannot be replayed later.
 */
export async function verifyWebhookSignature(
  secret: string,
  header: string | null | undefined,
  body: string,
  nowS = Math.floor(Date.now() / 1000),
  toleranceS = WEBHOOK_TOLERANCE_S,
): Promise<boolean> {
  const parts = new Map((header ?? '').split(',').map((p) => p.trim().split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const given = parts.get('v1') ?? '';
  if (!Number.isInteger(t) || Math.abs(nowS - t) > toleranceS) return false;
  const expected = await webhookSignature(secret, t, body);
  if (given.length !== expected.length) return false;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ given.charCodeAt(i);
  return diff === 0;
}
