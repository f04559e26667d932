import { z } from 'zod';
import { HealthCause, Remediation } from './health.ts';
import { MAX_VERDICT_CONSUMERS, MAX_VERDICT_PRODUCERS } from './limits.ts';
import { Id, RoomId } from './room.ts';

/*
 * Fleet-wide incidents: every media-worker sends its doctor's unhealthy verdicts twice a second; a correlator
 * (one signaling instance at a time, holding a lease in KV) groups the consumers by what they share and keeps
 * one incident per root cause in KV, where every signaling instance reads them (docs/observability.md).
 */

/**
 * Causes that are not faults (the publisher muted) and never make an incident: media-workers leave them out of
 * their reports, where a big voice room's muted microphones would otherwise be most of the consumers.
 */
export const NOT_INCIDENTS: ReadonlySet<HealthCause> = new Set<HealthCause>(['producer-paused']);

/** One consumer the doctor calls unhealthy, with what it shares with others. */
export const UnhealthyConsumer = z.object({
  roomId: RoomId,
  consumerId: Id,
  /** The subscriber, and the publisher of its producer. */
  peerId: Id,
  producerId: Id,
  producerPeerId: Id,
  cause: HealthCause,
  since: z.number(),
  /** The media-worker instance its producer is piped from (null: the producer is local). */
  pipedFrom: Id.nullable(),
  workerPid: z.number().int(),
  repairs: z.array(Remediation).max(16),
});
export type UnhealthyConsumer = z.infer<typeof UnhealthyConsumer>;

/** A producer whose publisher is at fault (the publisher's side of the doctor). */
export const UnhealthyProducer = z.object({
  roomId: RoomId,
  producerId: Id,
  peerId: Id,
  cause: HealthCause,
  since: z.number(),
});
export type UnhealthyProducer = z.infer<typeof UnhealthyProducer>;

/** What one media-worker instance sends twice a second (also when all is well: silence then means gone). */
export const VerdictReport = z.object({
  instanceId: Id,
  at: z.number(),
  consumers: z.array(UnhealthyConsumer).max(MAX_VERDICT_CONSUMERS),
  producers: z.array(UnhealthyProducer).max(MAX_VERDICT_PRODUCERS),
});
export type VerdictReport = z.infer<typeof VerdictReport>;

/** What an incident's consumers share: the root cause's place. */
export const IncidentScope = z.enum(['publisher', 'pipe', 'media-worker', 'worker', 'subscriber', 'consumer']);
export type IncidentScope = z.infer<typeof IncidentScope>;

export const Incident = z.object({
  /** A KV key and subject token. */
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  /** The grouping key (e.g. `pipe:mw-a>mw-b`): an open incident with the same key grows instead of a new one. */
  key: z.string().max(256),
  scope: IncidentScope,
  /** For people: "pipe mw-a→mw-b", "publisher uplink lost (Ada)", … */
  title: z.string().max(256),
  cause: HealthCause,
  /** Blast radius: everyone and everything it touched while open. */
  rooms: z.array(RoomId).max(1_000),
  peers: z.array(Id).max(5_000),
  consumers: z.array(Id).max(10_000),
  /** Epoch ms: the earliest verdict of its consumers, its last sighting, its end (null: open). */
  startedAt: z.number(),
  updatedAt: z.number(),
  endedAt: z.number().nullable(),
  /** Repairs the doctor tried on its consumers, with how many consumers got each. */
  repairs: z.array(z.object({ action: Remediation, consumers: z.number().int() })),
});
export type Incident = z.infer<typeof Incident>;
