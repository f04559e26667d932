import type { KvStore, Subscription } from '../bus/bus.ts';
import { KvCache } from '../bus/kv-cache.ts';
import { ChatHead } from '../protocol/chat.ts';
import { PresenceEntry, PRESENCE_STALE_MS, PRESENCE_UNREACHABLE_MAX_MS } from '../protocol/presence.ts';
import { presenceKey } from '../protocol/kv.ts';
import type { Lobby as LobbyView, LobbyRoom } from '../protocol/presence.ts';

const SWEEP_MS = 1000;
const COALESCE_MS = 100;

/**
 * The lobby as this instance sees it: a copy of the presence bucket kept live by a KV watch. Entries
 * that stop being refreshed (their instance died) age out by `updatedAt`, since TTL expiry is silent, while the
 * bucket can be reached. Those of a region not heard from since (a cut link between regions) are kept, shown as
 * unreachable, for PRESENCE_UNREACHABLE_MAX_MS.
 */
export class Lobby {
  private listeners = new Set<(lobby: LobbyView) => void>();
  private pending?: ReturnType<typeof setTimeout>;
  private sweeper: ReturnType<typeof setInterval>;
  /** Keys of entries whose heartbeats stopped because their region cannot be reached, as of the last sweep. */
  private cut = new Set<string>();
  /** Each room's chat head, for unread counts on its card. */
  private heads?: KvCache<ChatHead>;

  private constructor(
    readonly kv: KvStore,
    private entries: KvCache<PresenceEntry>,
    private heardFrom: (region: string, since: number) => boolean,
  ) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
  }

  /** `heardFrom` says whether a region was heard from after a moment (Placement.heardFrom). */
  static async open(kv: KvStore, heardFrom: (region: string, since: number) => boolean = () => true): Promise<Lobby> {
    let lobby: Lobby | undefined;
    const entries = await KvCache.open(
      kv,
      (value) => PresenceEntry.safeParse(value).data,
      () => lobby?.changed(),
    );
    lobby = new Lobby(kv, entries, heardFrom);
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

  /** Writes one participant's entry when it changes. */
  async put(entry: PresenceEntry): Promise<void> {
    await this.kv.put(presenceKey(entry.roomId, entry.peerId), entry);
  }

  /** Writes it again on a heartbeat, unacknowledged (a lost one is replaced by the next). */
  refresh(entry: PresenceEntry): void {
    this.kv.refresh(presenceKey(entry.roomId, entry.peerId), entry);
  }

  async remove(roomId: string, peerId: string): Promise<void> {
    await this.kv.delete(presenceKey(roomId, peerId));
  }

  view(): LobbyView {
    const rooms = new Map<string, LobbyRoom>();
    for (const [key, e] of this.entries.entries()) {
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
    for (const e of this.entries.values()) rooms.add(e.roomId);
    return rooms;
  }

  /** Calls `listener` with the whole lobby after every change (coalesced), until unsubscribed. */
  subscribe(listener: (lobby: LobbyView) => void): Subscription {
    this.listeners.add(listener);
    return { unsubscribe: () => this.listeners.delete(listener) };
  }

  close(): void {
    clearInterval(this.sweeper);
    clearTimeout(this.pending);
    this.entries.close();
    this.heads?.close();
  }

  private sweep(): void {
    // Out of reach (a cut link to the region holding the bucket), no refresh can arrive: nobody is aged out for
    // missing them, so the lobby keeps everyone it last knew rather than empty itself.
    const agingOut = this.entries.reachable;
    const now = Date.now();
    const cut = new Set<string>();
    let removed = false;
    for (const [key, e] of this.entries.entries()) {
      const age = now - e.updatedAt;
      if (age < PRESENCE_STALE_MS) continue;
      const cutOff = this.cutOff(e);
      if (!agingOut || (cutOff && age < PRESENCE_UNREACHABLE_MAX_MS)) {
        if (cutOff) cut.add(key);
        continue;
      }
      this.entries.drop(key);
      removed = true;
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
