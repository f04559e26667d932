import type { Bus } from '../../bus/bus.ts';
import { REGISTRY_TTL_MS } from '../../protocol/media.ts';
import type { RoomEvent } from '../../protocol/media.ts';
import { buckets, subjects } from '../../protocol/subjects.ts';
import type { MediaClient } from '../media.ts';
import type { Membership } from './membership.ts';
import type { Placement } from '../placement.ts';

/**
 * The media-worker instance holding a membership is gone (its subject has no responders). Its producers
 * died with it, so the room is told they closed (the dead instance cannot say so), the peer joins a live
 * instance under the same id, and its client rebuilds transports from `mediaReset`: no rejoin, no leave.
 */
export async function moveToLiveInstance(
  membership: Membership,
  dead: string,
  deps: { bus: Bus; media: MediaClient; placement: Placement },
) {
  const { roomId, peerId, displayName } = membership.record;
  for (const producerId of membership.producers.keys()) {
    const event: RoomEvent = { type: 'producerClosed', roomId, producerId, peerId };
    deps.bus.publish(subjects.roomEvents(roomId), event);
  }
  membership.producers.clear();
  // Its share of the room would otherwise be offered to others until the part's TTL runs out.
  await (await deps.bus.kv(buckets.roomParts, { ttlMs: REGISTRY_TTL_MS })).delete(`${roomId}.${dead}`);
  const host = await deps.placement.hostFor(roomId, dead);
  const view = await deps.media.call(host, 'join', { roomId, peerId, displayName });
  membership.record.mediaInstanceId = host;
  membership.socket?.notify({ notification: 'mediaReset', data: { producers: view.producers } });
  console.warn(`[signaling] moved ${peerId} in ${roomId} from dead media worker ${dead} to ${host}`);
}
