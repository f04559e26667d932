import type { HealthCause } from '../../protocol/health.ts';
import { NOT_INCIDENTS } from '../../protocol/incidents.ts';
import type { IncidentScope, UnhealthyConsumer, VerdictReport } from '../../protocol/incidents.ts';
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
  const add = (key: string, scope: IncidentScope, title: string, cause: HealthCause, c: Sighting) => {
    const group = groups.get(key) ?? { key, scope, title, cause, consumers: [] };
    group.consumers.push(c);
    groups.set(key, group);
  };
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
