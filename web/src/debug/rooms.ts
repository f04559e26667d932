import type { RoomDiagnosis } from '../../../protocol/telemetry.ts';

export type DiagnosedPeer = RoomDiagnosis['peers'][number] & { instanceId: string };

/** A room as the dashboard shows it: its parts on every media-worker instance, merged. */
export interface RoomGroup {
  roomId: string;
  /** The media-worker instances holding a part of it, each with its region. */
  instances: string[];
  peers: DiagnosedPeer[];
}

/** One group per room id (the API has one entry per room per instance), peers sorted by name. */
export function groupRooms(parts: RoomDiagnosis[]): RoomGroup[] {
  const groups = new Map<string, RoomGroup>();
  for (const part of parts) {
    const group = groups.get(part.roomId) ?? { roomId: part.roomId, instances: [], peers: [] };
    group.instances.push(`${part.instanceId} (${part.region})`);
    group.peers.push(...part.peers.map((p) => ({ ...p, instanceId: part.instanceId })));
    groups.set(part.roomId, group);
  }
  for (const group of groups.values())
    group.peers.sort((a, b) => a.displayName.localeCompare(b.displayName) || a.id.localeCompare(b.id));
  return [...groups.values()].sort((a, b) => a.roomId.localeCompare(b.roomId));
}

/**
 * Only the peers whose display name or id contains `q` (the server filters the same way, but only from its
 * next refresh on: this answers as the user types). Rooms left without peers are dropped.
 */
export function filterRooms(groups: RoomGroup[], q: string): RoomGroup[] {
  const needle = q.trim().toLowerCase();
  if (!needle) return groups;
  const hit = (p: DiagnosedPeer) => p.displayName.toLowerCase().includes(needle) || p.id.toLowerCase().includes(needle);
  return groups.map((g) => ({ ...g, peers: g.peers.filter(hit) })).filter((g) => g.peers.length > 0);
}

/** Display names by peer id across every room, for "camera of Alice". */
export function namesOf(groups: RoomGroup[]): Map<string, string> {
  return new Map(groups.flatMap((g) => g.peers.map((p) => [p.id, p.displayName] as const)));
}
