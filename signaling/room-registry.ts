import type { Bus } from '../bus/bus.ts';
import type { EventLog } from '../bus/event-log.ts';
import { KvCache } from '../bus/kv-cache.ts';
import { ParleyError } from '../protocol/errors.ts';
import { buckets } from '../protocol/kv.ts';
import { RoomRecord } from '../protocol/room.ts';
import type { Lobby } from './lobby.ts';

const SWEEP_MS = 1000;
const ADOPT_AFTER_MS = 5000;

/**
 * Which rooms have started and not finished, for the admin API and the room_started / room_finished webhooks.
 * A room starts with its first join (or the admin API) and finishes once presence has shown nobody in it for
 * its empty timeout (so a participant within their resume grace keeps it going). Every signaling instance
 * sweeps; the compare-and-set delete lets exactly one of them finish a room and record it.
 */
export class RoomRegistry {
  private emptySince = new Map<string, number>();
  private unrecordedSince = new Map<string, number>();
  private sweeper: ReturnType<typeof setInterval>;

  private constructor(
    private records: KvCache<RoomRecord>,
    private lobby: Lobby,
    private events: EventLog,
    private joinEmptyTimeoutMs: number,
  ) {
    this.sweeper = setInterval(() => void this.sweep().catch(() => undefined), SWEEP_MS);
  }

  static async open(bus: Bus, lobby: Lobby, events: EventLog, joinEmptyTimeoutMs: number): Promise<RoomRegistry> {
    // A room being finished is gone from the copy at once: a join then records it anew.
    const parse = (v: unknown) => (isFinishing(v) ? undefined : RoomRecord.safeParse(v).data);
    const records = await KvCache.open(await bus.kv(buckets.rooms), parse);
    return new RoomRegistry(records, lobby, events, joinEmptyTimeoutMs);
  }

  get(roomId: string): RoomRecord | undefined {
    return this.records.get(roomId);
  }

  /** False while the rooms bucket is out of reach (a cut link to the region that holds it). */
  get reachable(): boolean {
    return this.records.reachable;
  }

  list(): RoomRecord[] {
    return this.records.values();
  }

  /** The room has started (a join, or the admin API): recorded once, by whoever creates its record. */
  async start(roomId: string, createdBy: RoomRecord['createdBy'], emptyTimeoutMs?: number): Promise<[RoomRecord, boolean]> {
    // Not from the cache: a room that finished a moment ago may still be in it. The cache only says which to try
    // first: most joins are into a running room, and reading it first saves the create that would fail.
    if (this.records.get(roomId)) {
      const running = await this.running(roomId);
      if (running) return [running, false];
    }
    const record: RoomRecord = {
      roomId,
      sid: `RM_${crypto.randomUUID()}`,
      startedAt: Date.now(),
      createdBy,
      emptyTimeoutMs: emptyTimeoutMs ?? this.joinEmptyTimeoutMs,
    };
    try {
      await this.records.kv.create(roomId, record);
    } catch (err) {
      if (!(err instanceof ParleyError && err.code === 'CONFLICT')) throw err;
      const running = await this.running(roomId);
      if (running) return [running, false];
      // It is being finished right now: once it is gone, this join starts it again.
      await new Promise((resolve) => setTimeout(resolve, 50));
      return this.start(roomId, createdBy, emptyTimeoutMs);
    }
    this.events.record({
      id: `room_started.${record.sid}`,
      event: 'room_started',
      createdAt: record.startedAt,
      room: ids(record),
    });
    return [record, true];
  }

  /** The room's record in KV, unless there is none or it is being finished. */
  private async running(roomId: string): Promise<RoomRecord | undefined> {
    const entry = await this.records.kv.get(roomId);
    return isFinishing(entry?.value) ? undefined : RoomRecord.safeParse(entry?.value).data;
  }

  /** Finishes the room if it is still the run `sid` names (or any run); true for the one that did. */
  async finish(roomId: string, sid?: string): Promise<boolean> {
    const entry = await this.records.kv.get(roomId);
    const record = RoomRecord.safeParse(entry?.value).data;
    if (!entry || !record || (sid && record.sid !== sid)) return false;
    try {
      // A compare-and-set tombstone, then the delete: of every instance sweeping, one wins.
      await this.records.kv.update(roomId, { ...record, finishing: true }, entry.revision);
    } catch (err) {
      if (err instanceof ParleyError && err.code === 'CONFLICT') return false;
      throw err;
    }
    await this.records.kv.delete(roomId);
    this.emptySince.delete(roomId);
    this.events.record({ id: `room_finished.${record.sid}`, event: 'room_finished', createdAt: Date.now(), room: ids(record) });
    return true;
  }

  close(): void {
    clearInterval(this.sweeper);
    this.records.close();
  }

  private async sweep(): Promise<void> {
    const occupied = this.lobby.occupiedRooms();
    const now = Date.now();
    // People in a room nobody recorded (it started before an upgrade, or a join raced its finish) for a while, so
    // not just the last of a room that was closed a moment ago: it starts now.
    for (const roomId of [...this.unrecordedSince.keys()]) if (!occupied.has(roomId)) this.unrecordedSince.delete(roomId);
    for (const roomId of occupied) {
      if (this.records.get(roomId)) {
        this.unrecordedSince.delete(roomId);
        continue;
      }
      const since = this.unrecordedSince.get(roomId) ?? now;
      this.unrecordedSince.set(roomId, since);
      if (now - since >= ADOPT_AFTER_MS) await this.start(roomId, 'join');
    }
    for (const record of this.records.values()) {
      if (occupied.has(record.roomId)) {
        this.emptySince.delete(record.roomId);
        continue;
      }
      const since = this.emptySince.get(record.roomId) ?? now;
      this.emptySince.set(record.roomId, since);
      if (now - since >= record.emptyTimeoutMs) await this.finish(record.roomId, record.sid);
    }
  }
}

function isFinishing(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'finishing' in value;
}

function ids(record: RoomRecord) {
  return { roomId: record.roomId, sid: record.sid };
}
