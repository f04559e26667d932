import { ParleyError } from '../protocol/errors.ts';
import { isMediaCommand, LEASE_RENEW_MS, mediaCommands } from '../protocol/media.ts';
import type { MediaCommand, MediaRequest, MediaResponse, RoomEvent } from '../protocol/media.ts';
import { subjects } from '../protocol/subjects.ts';
import type { Bus, BusMessage, Subscription } from '../bus/bus.ts';
import { Leases } from './leases.ts';
import type { PeerRef } from './leases.ts';
import type { PooledWorker, WorkerPool } from './pool.ts';
import { Room } from './room.ts';

/** Bus handlers → room calls. Owns the instance's rooms; one room per id, created by its first join. */
export class MediaCommands {
  private rooms = new Map<string, Promise<Room>>();
  private leases = new Leases();
  private subscription?: Subscription;
  private sweeper?: ReturnType<typeof setInterval>;

  constructor(
    private bus: Bus,
    private pool: WorkerPool,
    private instanceId: string,
    private maxPeersPerRoom: number,
  ) {}

  listen(): void {
    this.subscription = this.bus.serve(subjects.mediaCommands(this.instanceId), (msg) => this.handle(msg));
    this.sweeper = setInterval(() => void this.closeExpired(), LEASE_RENEW_MS);
  }

  async handle(msg: BusMessage): Promise<unknown> {
    const command = msg.subject.slice(msg.subject.lastIndexOf('.') + 1);
    if (!isMediaCommand(command)) throw new ParleyError('UNKNOWN_METHOD', `unknown media command ${command}`);
    if (command === 'renewLeases') return this.renew(mediaCommands.renewLeases.request.parse(msg.data).peers);
    const request = mediaCommands[command].request.parse(msg.data) as MediaRequest<Exclude<MediaCommand, 'renewLeases'>>;
    const room = await this.room(request.roomId, command === 'join');
    try {
      const reply = await this.dispatch(room, command, request);
      if (command === 'join') this.leases.touch(request);
      if (command === 'leave') this.leases.drop(request);
      return reply;
    } catch (err) {
      throw asMediaError(err);
    } finally {
      if (room.isEmpty) this.closeRoom(room);
    }
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
      const room = await this.rooms.get(ref.roomId);
      if (!room?.has(ref.peerId)) continue;
      console.warn(`[media-worker] lease of ${ref.peerId} in ${ref.roomId} expired; closing its media`);
      room.leave(ref);
      if (room.isEmpty) this.closeRoom(room);
    }
  }

  /** Rooms hosted on a worker that died are gone; clients rejoin and land on a live worker. */
  dropRoomsOn(worker: PooledWorker): void {
    for (const [id, pending] of this.rooms) {
      void pending.then((room) => {
        if (room.host !== worker) return;
        this.rooms.delete(id);
        room.close();
      });
    }
  }

  async counts() {
    const rooms = await Promise.all(this.rooms.values());
    const total = { routers: rooms.length, transports: 0, producers: 0, consumers: 0 };
    for (const room of rooms) {
      const c = room.counts();
      total.transports += c.transports;
      total.producers += c.producers;
      total.consumers += c.consumers;
    }
    return total;
  }

  async close(): Promise<void> {
    this.subscription?.unsubscribe();
    clearInterval(this.sweeper);
    for (const room of await Promise.all(this.rooms.values())) room.close();
    this.rooms.clear();
  }

  private dispatch(room: Room, command: Exclude<MediaCommand, 'renewLeases'>, request: MediaRequest<MediaCommand>) {
    // The parse above narrowed `request` to this command's schema; TypeScript cannot follow that link.
    switch (command) {
      case 'join':
        return room.join(request as MediaRequest<'join'>);
      case 'snapshot':
        return room.snapshot(request as MediaRequest<'snapshot'>);
      case 'createTransport':
        return room.createTransport(request as MediaRequest<'createTransport'>);
      case 'connectTransport':
        return room.connectTransport(request as MediaRequest<'connectTransport'>);
      case 'produce':
        return room.produce(request as MediaRequest<'produce'>);
      case 'closeProducer':
        return room.closeProducer(request as MediaRequest<'closeProducer'>);
      case 'consume':
        return room.consume(request as MediaRequest<'consume'>);
      case 'resumeConsumer':
        return room.resumeConsumer(request as MediaRequest<'resumeConsumer'>);
      case 'leave':
        return room.leave(request as MediaRequest<'leave'>);
    }
  }

  private async room(roomId: string, create: boolean): Promise<Room> {
    const existing = this.rooms.get(roomId);
    if (existing) return existing;
    if (!create) throw new ParleyError('NOT_FOUND', `room ${roomId} is not hosted here`);
    const publish = (event: RoomEvent) => this.bus.publish(subjects.roomEvents(roomId), event);
    const pending = Room.create(roomId, this.pool.leastLoaded(), publish, this.maxPeersPerRoom);
    this.rooms.set(roomId, pending);
    pending.catch(() => this.rooms.delete(roomId));
    return pending;
  }

  private closeRoom(room: Room): void {
    void this.rooms.get(room.id)?.then((current) => {
      if (current !== room || !room.isEmpty) return;
      this.rooms.delete(room.id);
      room.close();
    });
  }
}

// mediasoup throws TypeError for parameters it rejects and Error for state it cannot change.
function asMediaError(err: unknown): unknown {
  if (err instanceof ParleyError) return err;
  if (err instanceof TypeError) return new ParleyError('BAD_REQUEST', err.message);
  if (err instanceof Error) return new ParleyError('MEDIA_ERROR', err.message);
  return err;
}
