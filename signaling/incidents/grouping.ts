import type { HealthCause } from '../../protocol/health.ts';
import { NOT_INCIDENTS } from '../../protocol/incidents.ts';
import type { Incident, IncidentScope, UnhealthyConsumer, VerdictReport } from '../../protocol/incidents.ts';
import { PublisherCause } from '../../protocol/publisher.ts';

/** A consumer with the instance that reported it. */
export type Sighting = UnhealthyConsumer & { instanceId: string };

export interface Group {
  key: string;
  scope: IncidentScope;
  title: string;
  cause: HealthCause;
  consumers: Sighting[];
}

/** Causes of a consumer that receives nothing although its own side is fine: its producer's path is to blame. */
const STARVED = new Set<HealthCause>(['no-rtp-from-producer', 'no-key-frame', 'layer-unavailable']);

const words = (cause: string) => cause.replaceAll('-', ' ');

/** Adds `c` to the group `head` names, creating it. */
function addTo(groups: Map<string, Group>, head: Omit<Group, 'consumers'>, c: Sighting): void {
  const group = groups.get(head.key) ?? { ...head, consumers: [] };
  group.consumers.push(c);
  groups.set(head.key, group);
}

/**
 * Groups every unhealthy consumer of the fleet by the one thing its fault is best explained by, most shared
 * first: the publisher (a publisher-side cause, or a producer its own instance calls at fault), the pipe between
 * two media-workers (consumers starved of a piped producer whose origin is fine), a media-worker or one of its
 * workers (transports down for several subscribers there), the subscriber's network or client, and what is left
 * on its own. A pure function of the instances' latest reports.
 */
export function groupConsumers(reports: VerdictReport[]): Group[] {
  const reporting = new Set(reports.map((r) => r.instanceId));
  const faultyProducers = new Map(reports.flatMap((r) => r.producers.map((p) => [p.producerId, p.cause] as const)));
  const groups = new Map<string, Group>();
  const add = (key: string, scope: IncidentScope, title: string, cause: HealthCause, c: Sighting) =>
    addTo(groups, { key, scope, title, cause }, c);
  const transportsDown: Sighting[] = [];
  for (const report of reports) {
    for (const consumer of report.consumers) {
      const c = { ...consumer, instanceId: report.instanceId };
      if (NOT_INCIDENTS.has(c.cause)) continue;
      const atPublisher = PublisherCause.safeParse(c.cause).success
        ? c.cause
        : STARVED.has(c.cause)
          ? faultyProducers.get(c.producerId)
          : undefined;
      if (atPublisher) {
        add(
          `publisher:${c.producerPeerId}`,
          'publisher',
          `${words(atPublisher)} (publisher ${c.producerPeerId})`,
          atPublisher,
          c,
        );
      } else if (c.pipedFrom && STARVED.has(c.cause) && reporting.has(c.pipedFrom)) {
        add(`pipe:${c.pipedFrom}>${c.instanceId}`, 'pipe', `pipe ${c.pipedFrom}→${c.instanceId}`, c.cause, c);
      } else if (c.cause === 'transport-not-connected') {
        transportsDown.push(c);
      } else if (STARVED.has(c.cause) && c.cause !== 'layer-unavailable') {
        // A local producer that sends nothing, or no key frame, to everyone: its publisher.
        add(`publisher:${c.producerPeerId}`, 'publisher', `${words(c.cause)} (publisher ${c.producerPeerId})`, c.cause, c);
      } else {
        add(`subscriber:${c.peerId}`, 'subscriber', `${words(c.cause)} (subscriber ${c.peerId})`, c.cause, c);
      }
    }
  }
  for (const c of transportsDown) {
    const here = transportsDown.filter((o) => o.instanceId === c.instanceId);
    const subscribers = new Set(here.map((o) => o.peerId));
    const pids = new Set(here.map((o) => o.workerPid));
    if (subscribers.size < 2) {
      add(`subscriber:${c.peerId}`, 'subscriber', `subscriber network (${c.peerId})`, c.cause, c);
    } else if (pids.size > 1) {
      add(`media-worker:${c.instanceId}`, 'media-worker', `media-worker ${c.instanceId}`, c.cause, c);
    } else {
      add(`worker:${c.instanceId}:${c.workerPid}`, 'worker', `media-worker ${c.instanceId}, worker ${c.workerPid}`, c.cause, c);
    }
  }
  return [...groups.values()];
}

/** What a consumer goes through while media comes back after an outage: its decoder waits for a key frame. */
const AFTERMATH = new Set<HealthCause>(['decoder-stall']);

/**
 * A consumer of an open incident with a wider cause (a pipe, a publisher, a media-worker) that is now only
 * recovering from it stays in that incident: when a cut pipe carries packets again, a viewer's decoder waits for
 * a key frame, and that is the pipe's incident, which ends once its consumers have recovered, not a new one. A
 * fault of the consumer's own (its network) is not the outage's tail and makes its own incident.
 */
export function keepInOpenIncidents(groups: Group[], open: Incident[]): Group[] {
  const owner = new Map<string, Incident>();
  for (const incident of open) if (incident.scope !== 'subscriber') for (const id of incident.consumers) owner.set(id, incident);
  const kept = new Map<string, Group>();
  for (const { consumers, ...head } of groups) {
    for (const c of consumers) {
      const incident = head.scope === 'subscriber' && AFTERMATH.has(c.cause) ? owner.get(c.consumerId) : undefined;
      addTo(
        kept,
        incident ? { key: incident.key, scope: incident.scope, title: incident.title, cause: incident.cause } : head,
        c,
      );
    }
  }
  return [...kept.values()];
}
