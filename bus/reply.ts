import { z } from 'zod';
import { ErrorBody, ParleyError, toErrorBody } from '../protocol/errors.ts';
import type { BusMessage, Reply } from './bus.ts';

const ReplySchema = z.union([
  z.object({ ok: z.literal(true), data: z.unknown() }),
  z.object({ ok: z.literal(false), error: ErrorBody }),
]);

/** Runs a serve handler and wraps its outcome so that error codes survive the trip. */
export async function runHandler(handler: (msg: BusMessage) => Promise<unknown>, msg: BusMessage): Promise<Reply> {
  try {
    return { ok: true, data: (await handler(msg)) ?? null };
  } catch (err) {
    return { ok: false, error: toErrorBody(err) };
  }
}

export function unwrapReply(raw: unknown): unknown {
  const reply = ReplySchema.safeParse(raw);
  if (!reply.success) throw new ParleyError('INTERNAL', 'malformed reply from the bus');
  if (!reply.data.ok) throw ParleyError.from(reply.data.error);
  return reply.data.data;
}
