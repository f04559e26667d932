import type { KvStore, Subscription } from '../bus/bus.ts';
import { KvCache } from '../bus/kv-cache.ts';
import { ChatHead } from '../protocol/chat.ts';
import { PresenceEntry, PRESENCE_STALE_MS, PRESENCE_UNREACHABLE_MAX_MS } from '../protocol/presence.ts';
import { presenceKey } from '../protocol/kv.ts';
import type { Lobby as LobbyView, LobbyRoom } from '../protocol/presence.ts';
import type { RegionalKv } from './regional-kv.ts';

const SWEEP_MS = 1000;
const COALESCE_MS = 100;

/**
 * The lobby as this instance sees it: a copy of each region's presence bucket, kept live by a KV watch (its own
 * region's from the start, another's from when the region becomes known). Entries that stop being refreshed (their
 * instance died) age out by `updatedAt`, since TTL expiry is silent, while their bucket can be reached. Those of a
 * region not heard from since (a cut link between regions) are kept, shown as unreachable, for
 * PRESENCE_UNREACHABLE_MAX_MS.
 */
export class Lobby {
  private listeners = new Set<(lobby: LobbyView) => void>();
  private pending?: ReturnType<typeof setTimeout>;
  private sweeper: ReturnType<typeof setInterval>;
  /** Keys of entries whose heartbeats stopped because their region cannot be reached, as of the last sweep. */
  private cut = new Set<string>();
  /** Each room's chat head, for unread counts on its card. */
  private heads?: KvCache<ChatHead>;
  /** The copy of each region's bucket, by region; and the regions whose copy is being made. */
  private copies = new Map<string, KvCache<PresenceEntry>>();
  private following = new Set<string>();
  private warned = new Set<string>();
  private closed = false;

  private constructor(
    private presence: RegionalKv,
    private heardFrom: (region: string, since: number) => boolean,
  ) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
  }

  /** `heardFrom` says whether a region was heard from after a moment (Placement.heardFrom). */
  static async open(presence: RegionalKv, heardFrom: (region: string, since: number) => boolean = () => true): Promise<Lobby> {
    const lobby = new Lobby(presence, heardFrom);
    lobby.copies.set(presence.region, await lobby.copy(presence.region));
    lobby.follow();
    return lobby;
  }

  /** Adds each room's chat head to the view, kept live by a watch of the heads bucket. */
  async followChat(heads: KvStore): Promise<void> {
    this.heads = await KvCache.open(
      heads,
      (value) => ChatHead.safeParse(value).data,
      () => this.changed(),
    );
  }

  /** Writes one participant's entry when it changes, into this region's bucket. */
  async put(entry: PresenceEntry): Promise<void> {
    await this.presence.own.put(presenceKey(entry.roomId, entry.peerId), entry);
  }

  /** Writes it again on a heartbeat, unacknowledged (a lost one is replaced by the next). */
  refresh(entry: PresenceEntry): void {
    this.presence.own.refresh(presenceKey(entry.roomId, entry.peerId), entry);
  }

  /** Deletes an entry from a region's bucket (this region's unless told: a session that resumed here from another). */
  async remove(roomId: string, peerId: string, region = this.presence.region): Promise<void> {
    await (await this.presence.in(region)).delete(presenceKey(roomId, peerId));
  }

  /**
   * A participant's entry, from the copies; from this region's bucket itself if none has it yet (written a moment
   * ago, its watch delivery not applied).
   */
  async entry(roomId: string, peerId: string): Promise<PresenceEntry | undefined> {
    const key = presenceKey(roomId, peerId);
    const found = [...this.copies.values()].flatMap((copy) => copy.get(key) ?? []);
    const newest = found.sort((a, b) => b.updatedAt - a.updatedAt)[0];
    return newest ?? PresenceEntry.safeParse((await this.presence.own.get(key))?.value).data;
  }

  view(): LobbyView {
    const rooms = new Map<string, LobbyRoom>();
    for (const [key, e] of this.entries()) {
      const head = this.heads?.get(e.roomId);
      const room = rooms.get(e.roomId) ?? { roomId: e.roomId, participants: [], ...(head && { chat: head }) };
      room.participants.push({
        peerId: e.peerId,
        identity: e.identity,
        displayName: e.displayName,
        connected: e.connected,
        media: e.media,
        ...(this.cut.has(key) && { reachable: false }),
      });
      rooms.set(e.roomId, room);
    }
    return { rooms: [...rooms.values()].sort((a, b) => a.roomId.localeCompare(b.roomId)) };
  }

  /** The rooms someone is in, without building the view (the room registry asks every second). */
  occupiedRooms(): Set<string> {
    const rooms = new Set<string>();
    for (const e of this.entries().values()) rooms.add(e.roomId);
    return rooms;
  }

  /** Calls `listener` with the whole lobby after every change (coalesced), until unsubscribed. */
  subscribe(listener: (lobby: LobbyView) => void): Subscription {
    this.listeners.add(listener);
    return { unsubscribe: () => this.listeners.delete(listener) };
  }

  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    clearTimeout(this.pending);
    for (const copy of this.copies.values()) copy.close();
    this.heads?.close();
  }

  /**
   * Every region's entries by key. A session that resumed in another region has an entry in both until the old one
   * is deleted: the newest counts.
   */
  private entries(): Map<string, PresenceEntry> {
    const all = new Map<string, PresenceEntry>();
    for (const copy of this.copies.values())
      for (const [key, e] of copy.entries()) if ((all.get(key)?.updatedAt ?? -1) < e.updatedAt) all.set(key, e);
    return all;
  }

  private copy(region: string): Promise<KvCache<PresenceEntry>> {
    return this.presence.in(region).then((kv) =>
      KvCache.open(
        kv,
        (value) => PresenceEntry.safeParse(value).data,
        () => this.changed(),
      ),
    );
  }

  /** Copies the bucket of each region that became known; one that cannot be opened now is tried at the next sweep. */
  private follow(): void {
    for (const region of this.presence.others()) {
      if (this.copies.has(region) || this.following.has(region)) continue;
      this.following.add(region);
      this.copy(region).then(
        (copy) => {
          this.following.delete(region);
          if (this.closed) return copy.close();
          this.copies.set(region, copy);
          this.changed();
        },
        (err: unknown) => {
          this.following.delete(region);
          if (this.warned.has(region)) return;
          this.warned.add(region);
          console.warn(`[lobby] cannot read region ${region}'s presence yet (trying every second): ${String(err)}`);
        },
      );
    }
  }

  private sweep(): void {
    this.follow();
    const now = Date.now();
    const cut = new Set<string>();
    let removed = false;
    for (const copy of this.copies.values()) {
      // Out of reach (a cut link to the region holding the bucket), no refresh can arrive: nobody is aged out for
      // missing them, so the lobby keeps everyone it last knew rather than empty itself.
      const agingOut = copy.reachable;
      for (const [key, e] of copy.entries()) {
        const age = now - e.updatedAt;
        if (age < PRESENCE_STALE_MS) continue;
        const cutOff = this.cutOff(e);
        if (!agingOut || (cutOff && age < PRESENCE_UNREACHABLE_MAX_MS)) {
          if (cutOff) cut.add(key);
          continue;
        }
        copy.drop(key);
        removed = true;
      }
    }
    const cutChanged = cut.size !== this.cut.size || [...cut].some((key) => !this.cut.has(key));
    this.cut = cut;
    if (removed || cutChanged) this.changed();
  }

  /**
   * Of a region not heard from since the entry went stale: cut off (or gone), rather than its signaling instance
   * dead while the region lives on. Compared with the entry's own staleness, not with now, so it does not matter
   * which of the two heartbeats stopped arriving first.
   */
  private cutOff(entry: PresenceEntry): boolean {
    return entry.region !== undefined && !this.heardFrom(entry.region, entry.updatedAt + PRESENCE_STALE_MS);
  }

  private changed(): void {
    if (this.pending || this.listeners.size === 0) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      const view = this.view();
      for (const listener of this.listeners) listener(view);
    }, COALESCE_MS);
  }
}
