import { z } from 'zod';
import { Id, RoomId } from './room.ts';
import { ClientProducerStats, ConsumerNotice } from './publisher.ts';
import { ClientConsumerStats } from './telemetry.ts';

/** The `schema` field of every problem report: a newer shape gets a new one. */
export const PROBLEM_REPORT_SCHEMA = 'parley.problem-report.v1';

/**
 * "Report a problem": what a user's client saw when they pressed it, exported as a JSON document the operator
 * opens in /debug (its trace ids lead to the consumers' traces there).
 */
export const ProblemReport = z.object({
  schema: z.literal(PROBLEM_REPORT_SCHEMA),
  /** Epoch ms. */
  createdAt: z.number(),
  room: RoomId,
  peerId: Id,
  /** What the user wrote, if anything. */
  note: z.string().max(2000),
  userAgent: z.string().max(512),
  /** The trace to open first: the first black tile's consumer, else the latest action (null: tracing off). */
  traceId: z
    .string()
    .regex(/^[0-9a-f]{32}$/)
    .nullable(),
  traceIds: z.array(z.string().regex(/^[0-9a-f]{32}$/)).max(64),
  /** The doctor's current word on each consumer without a (live) picture. */
  notices: z.array(ConsumerNotice).max(256),
  /** What the client receives and sends now (the same figures the doctor gets every second). */
  consumers: z.array(ClientConsumerStats).max(256),
  producers: z.array(ClientProducerStats).max(8),
  connection: z.enum(['offline', 'connecting', 'connected', 'reconnecting', 'failed']),
});
export type ProblemReport = z.infer<typeof ProblemReport>;
