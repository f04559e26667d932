import type { Bus, KvStore, Subscription } from '../../bus/bus.ts';
import { KvCache } from '../../bus/kv-cache.ts';
import { ParleyError } from '../../protocol/errors.ts';
import { Incident, VerdictReport } from '../../protocol/incidents.ts';
import type { Remediation } from '../../protocol/health.ts';
import { buckets } from '../../protocol/kv.ts';
import { subjects } from '../../protocol/subjects.ts';
import { HealthCause } from '../../protocol/health.ts';
import { inSpan, tracers } from '../../tracing/context.ts';
import { groupConsumers, keepInOpenIncidents } from './grouping.ts';
import type { Group } from './grouping.ts';
import { log, reason } from '../../tracing/log.ts';

const TICK_MS = 500;
/** A media-worker's report older than this is not counted (the instance may be gone). */
const REPORT_FRESH_MS = 3_000;
/** A group must be seen this long before it becomes an incident: one bad second is not an incident. */
const STABLE_MS = 1_000;
/** An incident ends once its group has not been seen for this long. */
const END_AFTER_MS = 3_000;
/** The correlator's lease: whoever holds it correlates; it lapses this long after its holder stops renewing. */
export const LEASE_TTL_MS = 5_000;
/** Ended incidents stay in KV (and /debug) this long. */
const KEEP_MS = 24 * 3600_000;
const LEADER = 'leader';

/**
 * The fleet's incident correlator. Every signaling instance runs one and hears every media-worker's verdicts;
 * one at a time holds the lease in KV and writes incidents, every instance reads them from KV. When the holder
 * dies its lease lapses within LEASE_TTL_MS and another instance takes over the open incidents from KV, so an
 * incident outlives the instance that opened or showed it.
 */
export class Correlator {
  private reports = new Map<string, { report: VerdictReport; receivedAt: number }>();
  private firstSeen = new Map<string, number>();
  private subscription?: Subscription;
  private timer?: ReturnType<typeof setInterval>;
  private leading = false;
  private running = false;

  private constructor(
    private instanceId: string,
    private lease: KvStore,
    private store: KvCache<Incident>,
  ) {}

  static async open(bus: Bus, instanceId: string): Promise<Correlator> {
    const lease = await bus.kv(buckets.correlator, { ttlMs: LEASE_TTL_MS });
    const store = await KvCache.open(await bus.kv(buckets.incidents, { ttlMs: KEEP_MS }), (v) => Incident.safeParse(v).data);
    const correlator = new Correlator(instanceId, lease, store);
    correlator.subscription = bus.subscribe(subjects.doctorVerdicts, (msg) => {
      const report = VerdictReport.safeParse(msg.data);
      if (report.success) correlator.reports.set(report.data.instanceId, { report: report.data, receivedAt: Date.now() });
    });
    correlator.timer = setInterval(() => void correlator.tick(), TICK_MS);
    return correlator;
  }

  /** Open incidents first (newest first), then ended ones (most recent end first). */
  list(): Incident[] {
    return this.store
      .values()
      .sort(
        (a, b) =>
          (a.endedAt === null ? 0 : 1) - (b.endedAt === null ? 0 : 1) || (b.endedAt ?? b.startedAt) - (a.endedAt ?? a.startedAt),
      );
  }

  /** The instance that correlates now, as far as this one knows. */
  async leader(): Promise<string | null> {
    const entry = await this.lease.get(LEADER).catch(() => null);
    return (entry?.value as { instanceId?: string } | undefined)?.instanceId ?? null;
  }

  /** Prometheus: open incidents by cause (every instance reads the same KV, so take max() across instances). */
  render(): string {
    const open = this.store.values().filter((i) => i.endedAt === null);
    return `${[
      '# HELP parley_incidents_open Open incidents (one per root cause across the fleet) by cause.',
      '# TYPE parley_incidents_open gauge',
      ...HealthCause.options.map(
        (cause) => `parley_incidents_open{cause="${cause}"} ${open.filter((i) => i.cause === cause).length}`,
      ),
    ].join('\n')}\n`;
  }

  close(): void {
    clearInterval(this.timer);
    this.subscription?.unsubscribe();
    this.store.close();
    if (this.leading) void this.lease.delete(LEADER).catch(() => undefined);
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      this.leading = await this.holdLease();
      if (this.leading) await this.correlate(Date.now());
    } catch (err) {
      log.warn('incident correlator failed', { error: reason(err) });
    } finally {
      this.running = false;
    }
  }

  /** Takes the lease if nobody holds it, renews it if we do. */
  private async holdLease(): Promise<boolean> {
    const mine = { instanceId: this.instanceId, at: Date.now() };
    try {
      await this.lease.create(LEADER, mine);
      return true;
    } catch (err) {
      if (!(err instanceof ParleyError && err.code === 'CONFLICT')) throw err;
    }
    const entry = await this.lease.get(LEADER);
    if ((entry?.value as { instanceId?: string } | undefined)?.instanceId !== this.instanceId || !entry) return false;
    await this.lease.update(LEADER, mine, entry.revision);
    return true;
  }

  private async correlate(now: number): Promise<void> {
    const fresh = [...this.reports.values()].filter((r) => now - r.receivedAt < REPORT_FRESH_MS).map((r) => r.report);
    const openIncidents = this.store.values().filter((i) => i.endedAt === null);
    const groups = keepInOpenIncidents(groupConsumers(fresh), openIncidents);
    const open = new Map(openIncidents.map((i) => [i.key, i]));
    const seen = new Set<string>();
    for (const group of groups) {
      seen.add(group.key);
      // Stability counts from the doctors' verdicts on the group's consumers (each has already held for the
      // doctor's grace), not from when their reports reached us: the report and tick delays are not waited twice.
      const first = this.firstSeen.get(group.key) ?? Math.min(now, Math.max(...group.consumers.map((c) => c.since)));
      this.firstSeen.set(group.key, first);
      const incident = open.get(group.key);
      if (incident) await this.write(grown(incident, group, now));
      else if (now - first >= STABLE_MS) await this.opened(group, now);
    }
    for (const key of [...this.firstSeen.keys()]) if (!seen.has(key)) this.firstSeen.delete(key);
    for (const incident of open.values()) {
      if (!seen.has(incident.key) && now - incident.updatedAt >= END_AFTER_MS) await this.ended(incident);
    }
  }

  private async opened(group: Group, now: number): Promise<void> {
    const startedAt = Math.min(...group.consumers.map((c) => c.since));
    const id = `inc-${startedAt.toString(36)}-${hash(group.key)}`;
    const incident = grown(
      {
        id,
        key: group.key,
        scope: group.scope,
        title: group.title,
        cause: group.cause,
        rooms: [],
        peers: [],
        consumers: [],
        startedAt,
        updatedAt: now,
        endedAt: null,
        repairs: [],
      },
      group,
      now,
    );
    await this.event('opened', incident);
    await this.write(incident);
  }

  private async ended(incident: Incident): Promise<void> {
    const done = { ...incident, endedAt: incident.updatedAt };
    await this.event('ended', done);
    await this.write(done);
  }

  private async write(incident: Incident): Promise<void> {
    const current = this.store.get(incident.id);
    if (current && JSON.stringify(current) === JSON.stringify(incident)) return;
    await this.store.kv.put(incident.id, incident);
  }

  /** Each change of an incident's life is a span with the incident as attributes and the change as its event. */
  private event(name: 'opened' | 'ended', incident: Incident): Promise<void> {
    const attributes = {
      'parley.incident': incident.id,
      'parley.incident.scope': incident.scope,
      'parley.incident.title': incident.title,
      'parley.cause': incident.cause,
      'parley.incident.consumers': incident.consumers.length,
      'parley.incident.rooms': incident.rooms.join(','),
    };
    return inSpan(tracers.signaling(), 'parley.incident', { attributes }, async (span) => {
      span.addEvent(name, { at: incident.endedAt ?? incident.startedAt });
    });
  }
}

/** The incident with the group's current consumers added to its blast radius. */
function grown(incident: Incident, group: Group, now: number): Incident {
  const union = (a: string[], b: string[]) => [...new Set([...a, ...b])];
  // The most consumers that had each repair at once (a repair stays in a consumer's list while it is unhealthy).
  const current = new Map<Remediation, number>();
  for (const c of group.consumers) for (const action of c.repairs) current.set(action, (current.get(action) ?? 0) + 1);
  const counts = new Map<Remediation, number>(incident.repairs.map((r) => [r.action, r.consumers]));
  for (const [action, n] of current) counts.set(action, Math.max(counts.get(action) ?? 0, n));
  return {
    ...incident,
    rooms: union(
      incident.rooms,
      group.consumers.map((c) => c.roomId),
    ).slice(0, 1_000),
    peers: union(
      incident.peers,
      group.consumers.flatMap((c) => [c.peerId, c.producerPeerId]),
    ).slice(0, 5_000),
    consumers: union(
      incident.consumers,
      group.consumers.map((c) => c.consumerId),
    ).slice(0, 10_000),
    updatedAt: now,
    repairs: [...counts].map(([action, consumers]) => ({ action, consumers })),
  };
}

function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}
