import { ParleyError } from '../../protocol/errors.ts';
import { isMediaCommand, LEASE_RENEW_MS, mediaCommands, RoomEvent } from '../../protocol/media.ts';
import type { MediaCommand, MediaRequest, MediaResponse } from '../../protocol/media.ts';
import { subjects } from '../../protocol/subjects.ts';
import type { Bus, BusMessage, Subscription } from '../../bus/bus.ts';
import { DOCTOR_TICK_MS } from '../doctor/doctor.ts';
import type { Federation } from '../cluster/federation.ts';
import { Leases } from '../cluster/leases.ts';
import { HealthCounters } from '../metrics.ts';
import type { HealthMetrics } from '../metrics.ts';
import type { PeerRef } from '../cluster/leases.ts';
import type { PooledWorker, WorkerPool } from './pool.ts';
import { Room } from './room.ts';
import { NOT_INCIDENTS } from '../../protocol/incidents.ts';
import type { VerdictReport } from '../../protocol/incidents.ts';
import { MAX_VERDICT_CONSUMERS, MAX_VERDICT_PRODUCERS } from '../../protocol/limits.ts';
import { log } from '../../tracing/log.ts';

const VERDICT_REPORT_MS = 500;
import { RoomActivity } from '../cluster/activity.ts';
import type { EventLog } from '../../bus/event-log.ts';

type RoomScoped = Exclude<MediaCommand, 'renewLeases' | 'ping'>;
type RoomCommand<C extends RoomScoped> = (room: Room, request: MediaRequest<C>) => unknown;

/** Each room-scoped command and the Room method that runs it; the mapped type makes it exhaustive. */
const roomCommands: { [C in RoomScoped]: RoomCommand<C> } = {
  join: (room, r) => room.join(r),
  snapshot: (room, r) => room.snapshot(r),
  leave: (room, r) => room.leave(r),
  createTransport: (room, r) => room.createTransport(r),
  createPlainTransport: (room, r) => room.createPlainTransport(r),
  connectTransport: (room, r) => room.connectTransport(r),
  restartIce: (room, r) => room.restartIce(r),
  produce: (room, r) => room.produce(r),
  pauseProducer: (room, r) => room.pauseProducer(r),
  resumeProducer: (room, r) => room.resumeProducer(r),
  closeProducer: (room, r) => room.closeProducer(r),
  consume: (room, r) => room.consume(r),
  resumeConsumer: (room, r) => room.resumeConsumer(r),
  pauseConsumer: (room, r) => room.pauseConsumer(r),
  setConsumerPreferredLayers: (room, r) => room.setConsumerPreferredLayers(r),
  setConsumerPriority: (room, r) => room.setConsumerPriority(r),
  requestKeyFrame: (room, r) => room.requestKeyFrame(r),
  reportConsumerStats: (room, r) => room.reportConsumerStats(r),
  reportProducerStats: (room, r) => room.reportProducerStats(r),
  pipeProducer: (room, r) => room.pipeProducer(r),
  diagnose: (room) => room.diagnose(),
};

function runRoomCommand<C extends RoomScoped>(room: Room, command: C, request: MediaRequest<C>): unknown {
  const handler: RoomCommand<C> = roomCommands[command];
  return handler(room, request);
}

/** Bus handlers → room calls. Owns the instance's rooms; one room per id, created by its first join. */
export class MediaCommands {
  private rooms = new Map<string, Room>();
  /** Each room's subscription to its own event subject: how parts on other instances reach it. */
  private roomEvents = new Map<string, Subscription>();
  /** Set by a drain: existing rooms continue, new ones go elsewhere. */
  draining = false;
  private leases = new Leases();
  private subscription?: Subscription;
  private sweeper?: ReturnType<typeof setInterval>;
  /** A reachability sweep is under way. */
  private probing = false;
  private doctorTimer?: ReturnType<typeof setInterval>;
  private verdictTimer?: ReturnType<typeof setInterval>;
  /** The black-screen doctor's figures over every room, for /metrics. */
  readonly health: HealthMetrics = {
    counters: new HealthCounters(),
    verdicts: () => [...this.rooms.values()].flatMap((room) => [...room.doctor.verdicts()]),
  };

  constructor(
    private bus: Bus,
    private pool: WorkerPool,
    private instanceId: string,
    private maxPeersPerRoom: number,
    private federation: Federation,
    /** Where joins, leaves and tracks are recorded for webhooks. */
    private events: EventLog,
  ) {}

  listen(): void {
    this.subscription = this.bus.serve(subjects.mediaCommands(this.instanceId), (msg) => this.handle(msg));
    this.sweeper = setInterval(() => {
      void this.closeExpired();
      for (const room of this.rooms.values()) room.savePart();
      void this.probeReachability();
    }, LEASE_RENEW_MS);
    this.verdictTimer = setInterval(() => this.reportVerdicts(), VERDICT_REPORT_MS);
    this.doctorTimer = setInterval(() => {
      for (const room of this.rooms.values()) {
        void room.tick().catch((err: Error) => log.error('doctor tick failed', { room: room.id, error: err.message }));
      }
    }, DOCTOR_TICK_MS);
  }

  async handle(msg: BusMessage): Promise<unknown> {
    const command = msg.subject.slice(msg.subject.lastIndexOf('.') + 1);
    if (!isMediaCommand(command)) throw new ParleyError('UNKNOWN_METHOD', `unknown media command ${command}`);
    if (command === 'renewLeases') return this.renew(mediaCommands.renewLeases.request.parse(msg.data).peers);
    if (command === 'ping') return {};
    const request = mediaCommands[command].request.parse(msg.data);
    // The dashboard asks every instance: one without a part of the room has nothing to show, not an error.
    if (command === 'diagnose' && !this.rooms.has(request.roomId))
      return { roomId: request.roomId, instanceId: this.instanceId, region: this.federation.region, peers: [] };
    const room = this.room(request.roomId, command === 'join');
    try {
      const reply = await runRoomCommand(room, command, request);
      const ref =
        'peerId' in request && typeof request.peerId === 'string'
          ? { roomId: request.roomId, peerId: request.peerId }
          : undefined;
      if (ref && command === 'join') this.leases.touch(ref);
      if (ref && command === 'leave') this.leases.drop(ref);
      return reply;
    } catch (err) {
      throw asMediaError(err);
    } finally {
      this.closeRoom(room);
    }
  }

  /**
   * Asks every instance holding part of one of our rooms whether it answers, reads again the parts of those
   * that answer again, then tells each room. One sweep at a time: a cut link makes one last up to a timeout.
   */
  private async probeReachability(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      const rooms = [...this.rooms.values()];
      await this.federation.reachability.probe(new Set(rooms.flatMap((room) => room.otherInstances())));
      await Promise.all(rooms.map((room) => this.federation.catchUp(room.id)));
      for (const room of rooms) if (this.rooms.get(room.id) === room) room.updateReachability();
    } finally {
      this.probing = false;
    }
  }

  /** Twice a second, even when all is well: the doctor's unhealthy verdicts, for the incident correlator. */
  private reportVerdicts(): void {
    const all = [...this.rooms.values()].map((room) => room.doctor.unhealthy());
    const report: VerdictReport = {
      instanceId: this.instanceId,
      at: Date.now(),
      consumers: all
        .flatMap((a) => a.consumers)
        .filter((c) => !NOT_INCIDENTS.has(c.cause))
        .slice(0, MAX_VERDICT_CONSUMERS),
      producers: all.flatMap((a) => a.producers).slice(0, MAX_VERDICT_PRODUCERS),
    };
    this.bus.publish(subjects.doctorVerdicts, report);
  }

  /** Renews the peers we host and names the ones we do not, so their sessions can end cleanly. */
  private renew(peers: PeerRef[]): MediaResponse<'renewLeases'> {
    const unknown: PeerRef[] = [];
    for (const ref of peers) {
      if (this.leases.has(ref)) this.leases.touch(ref);
      else unknown.push(ref);
    }
    return { unknown };
  }

  private async closeExpired(): Promise<void> {
    for (const ref of this.leases.takeExpired()) {
      const room = this.rooms.get(ref.roomId);
      if (!room?.has(ref.peerId)) continue;
      log.warn('lease expired: closing its media', { peer: ref.peerId, room: ref.roomId });
      room.leave(ref);
      this.closeRoom(room);
    }
  }

  /** A worker died and was replaced: every room that used it moves those peers to live workers. */
  async recoverFrom(dead: PooledWorker): Promise<void> {
    const started = performance.now();
    const rooms = [...this.rooms.values()].filter((r) => r.uses(dead));
    await Promise.all(rooms.map((r) => r.recover(dead)));
    const ms = Math.round(performance.now() - started);
    log.warn(`recovered ${rooms.length} room(s) from a dead worker`, { pid: dead.worker.pid, rooms: rooms.length, ms });
  }

  get roomCount(): number {
    return this.rooms.size;
  }

  async counts() {
    const rooms = [...this.rooms.values()];
    const total = { routers: 0, transports: 0, producers: 0, consumers: 0, pipesIn: 0, pipesOut: 0 };
    for (const room of rooms) {
      const c = room.counts();
      for (const key of Object.keys(total) as (keyof typeof total)[]) total[key] += c[key];
    }
    return total;
  }

  async close(): Promise<void> {
    this.subscription?.unsubscribe();
    clearInterval(this.sweeper);
    clearInterval(this.doctorTimer);
    clearInterval(this.verdictTimer);
    for (const room of this.rooms.values()) room.close();
    this.rooms.clear();
    for (const sub of this.roomEvents.values()) sub.unsubscribe();
    this.roomEvents.clear();
  }

  private room(roomId: string, create: boolean): Room {
    const existing = this.rooms.get(roomId);
    if (existing) return existing;
    if (!create) throw new ParleyError('NOT_FOUND', `room ${roomId} is not hosted here`);
    if (this.draining) throw new ParleyError('UNAVAILABLE', 'this media worker is draining; try another');
    const activity = new RoomActivity(roomId, this.events, (peerId) => room.identityOf(peerId));
    const publish = (event: RoomEvent) => {
      this.bus.publish(subjects.roomEvents(roomId), event);
      activity.record(event);
    };
    const room = new Room(roomId, this.pool, publish, this.maxPeersPerRoom, this.federation, this.health.counters);
    this.rooms.set(roomId, room);
    this.roomEvents.set(
      roomId,
      this.bus.subscribe(subjects.roomEvents(roomId), (msg) => {
        const event = RoomEvent.safeParse(msg.data);
        if (event.success) room.onRoomEvent(event.data);
      }),
    );
    return room;
  }

  private closeRoom(room: Room): void {
    if (this.rooms.get(room.id) !== room || !room.isEmpty) return;
    this.rooms.delete(room.id);
    this.roomEvents.get(room.id)?.unsubscribe();
    this.roomEvents.delete(room.id);
    room.close();
    void this.federation
      .roomClosed(room.id)
      .catch((err: Error) => console.error(`[media-worker] forgetting room ${room.id} failed: ${err.message}`));
  }
}

// mediasoup throws TypeError for parameters it rejects and Error for state it cannot change.
function asMediaError(err: unknown): unknown {
  if (err instanceof ParleyError) return err;
  if (err instanceof TypeError) return new ParleyError('BAD_REQUEST', err.message);
  if (err instanceof Error) return new ParleyError('MEDIA_ERROR', err.message);
  return err;
}
