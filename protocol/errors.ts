import { z } from 'zod';

/** Every error a client or a tier can see has one of these codes; messages are for humans. */
export const ErrorCode = z.enum([
  'BAD_REQUEST', // the message does not match its schema
  'UNKNOWN_METHOD',
  'NOT_JOINED', // a room request before join
  'ALREADY_JOINED',
  'CONFLICT', // a compare-and-set write lost the race
  'NOT_FOUND', // unknown room, peer, transport, producer or consumer id
  'UNAUTHORIZED', // no, a forged or an expired token
  'FORBIDDEN', // the token does not grant this
  'ROOM_FULL',
  'UNSUPPORTED', // e.g. the client cannot decode the producer's codec
  'PAYLOAD_TOO_LARGE',
  'RATE_LIMITED',
  'UNAVAILABLE', // no media worker answered
  'TIMEOUT',
  'MEDIA_ERROR', // mediasoup refused the operation
  'INTERNAL',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

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
