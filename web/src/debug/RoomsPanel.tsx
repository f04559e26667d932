import { filterRooms, groupRooms, namesOf } from './rooms.ts';
import { PeerCard } from './PeerCard.tsx';
import { t, tn } from '../i18n/index.ts';
import { query, roomErrors, rooms } from './state.ts';

/** Every room (merged across media-worker instances) with its peers, filtered by the search box. */
export function RoomsPanel() {
  if (rooms.value === null) return <p class="muted">{t('debug.loadingTrace')}</p>;
  const groups = groupRooms(rooms.value);
  const names = namesOf(groups);
  const shown = filterRooms(groups, query.value);
  return (
    <>
      {roomErrors.value.length > 0 && (
        <ul class="dbg-warnings" role="alert">
          {roomErrors.value.map((e) => (
            <li key={`${e.roomId}/${e.instanceId}`}>
              {t('debug.roomFailed', { room: e.roomId, instance: e.instanceId, reason: e.message })}
            </li>
          ))}
        </ul>
      )}
      {shown.length === 0 && <p class="muted">{query.value.trim() ? t('debug.noMatch') : t('debug.noRooms')}</p>}
      {shown.map((room) => (
        <section
          key={room.roomId}
          class="dbg-room"
          data-testid="debug-room"
          data-room={room.roomId}
          aria-label={t('debug.roomLabel', { room: room.roomId })}
        >
          <header class="dbg-room-head">
            <h3>{room.roomId}</h3>
            <span class="muted">{tn('debug.peers', room.peers.length, { instances: room.instances.join(', ') })}</span>
          </header>
          {room.peers.map((peer) => (
            <PeerCard key={`${peer.instanceId}/${peer.id}`} peer={peer} names={names} showInstance={room.instances.length > 1} />
          ))}
        </section>
      ))}
    </>
  );
}
