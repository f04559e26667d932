import { z } from 'zod';

/** Every error a client or a tier can see has one of these codes; messages are for humans. */
export const ErrorCode = z.enum([
  'BAD_REQUEST',
  'UNKNOWN_METHOD',
  'NOT_JOINED',
  'ALREADY_JOINED',
  'CONFLICT',
  'NOT_FOUND',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'ROOM_FULL',
  'UNSUPPORTED',
  'LIMIT',
  'PAYLOAD_TOO_LARGE',
  'RATE_LIMITED',
  'REMOVED',
  'UNAVAILABLE',
  'TIMEOUT',
  'STORE_UNAVAILABLE',
  'MEDIA_ERROR',
  'INTERNAL',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

/** What each code means (the protocol reference prints this table). */
export const errorMeaning: Record<ErrorCode, string> = {
  BAD_REQUEST: 'the message does not match its schema',
  UNKNOWN_METHOD: 'no such method in this protocol version',
  NOT_JOINED: 'a room operation before join',
  ALREADY_JOINED: 'join or resume on a connection that already has a room',
  CONFLICT: 'another join, resume or leave is under way, or a compare-and-set write lost the race',
  NOT_FOUND: 'unknown room, peer, transport, producer, consumer or resume token',
  UNAUTHORIZED: 'no, a forged or an expired token',
  FORBIDDEN: 'the token does not grant this',
  ROOM_FULL: 'the room has its maximum number of participants',
  UNSUPPORTED: "e.g. the client cannot decode the producer's codec",
  LIMIT:
    'a per-peer cap is reached (MAX_TRANSPORTS_PER_PEER transports, MAX_PRODUCERS_PER_SOURCE producers per source): close a producer first; retrying will not help',
  PAYLOAD_TOO_LARGE: 'the message (a chat message, an admin API body) is over its size limit',
  RATE_LIMITED: 'too many requests on this connection; slow down',
  REMOVED: 'a moderator removed this user from the room (or ended it): no rejoining for now; the message is their reason',
  UNAVAILABLE: 'no media worker answered',
  TIMEOUT: 'the media worker did not answer in time',
  STORE_UNAVAILABLE:
    'the shared state (a NATS JetStream KV bucket or stream: sessions, chat, moderation) cannot be reached now, e.g. from a region cut off from the one holding it; try again later',
  MEDIA_ERROR: 'mediasoup refused the operation',
  INTERNAL: 'a server fault; the message says what',
};

export const ErrorBody = z.object({ code: ErrorCode, message: z.string() });
export type ErrorBody = z.infer<typeof ErrorBody>;

export class ParleyError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ParleyError';
  }

  toBody(): ErrorBody {
    return { code: this.code, message: this.message };
  }

  static from(body: ErrorBody): ParleyError {
    return new ParleyError(body.code, body.message);
  }
}

/** Turns anything thrown into a body safe to send: unknown errors keep their message but become INTERNAL. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof ParleyError) return err.toBody();
  if (err instanceof z.ZodError) return { code: 'BAD_REQUEST', message: describeZodError(err) };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', message };
}

export function describeZodError(err: z.ZodError): string {
  return err.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}
