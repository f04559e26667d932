import { filterRooms, groupRooms, namesOf } from './rooms.ts';
import { PeerCard } from './PeerCard.tsx';
import { query, roomErrors, rooms } from './state.ts';

/** Every room (merged across media-worker instances) with its peers, filtered by the search box. */
export function RoomsPanel() {
  if (rooms.value === null) return <p class="muted">Loading…</p>;
  const groups = groupRooms(rooms.value);
  const names = namesOf(groups);
  const shown = filterRooms(groups, query.value);
  return (
    <>
      {roomErrors.value.length > 0 && (
        <ul class="dbg-warnings" role="alert">
          {roomErrors.value.map((e) => (
            <li key={`${e.roomId}/${e.instanceId}`}>
              Room <strong>{e.roomId}</strong> on <code>{e.instanceId}</code> did not answer: {e.message}
            </li>
          ))}
        </ul>
      )}
      {shown.length === 0 && <p class="muted">{query.value.trim() ? 'Nobody matches the search.' : 'No rooms right now.'}</p>}
      {shown.map((room) => (
        <section
          key={room.roomId}
          class="dbg-room"
          data-testid="debug-room"
          data-room={room.roomId}
          aria-label={`Room ${room.roomId}`}
        >
          <header class="dbg-room-head">
            <h3>{room.roomId}</h3>
            <span class="muted">
              {room.peers.length} {room.peers.length === 1 ? 'peer' : 'peers'} on {room.instanceIds.join(', ')}
            </span>
          </header>
          {room.peers.map((peer) => (
            <PeerCard
              key={`${peer.instanceId}/${peer.id}`}
              peer={peer}
              names={names}
              showInstance={room.instanceIds.length > 1}
            />
          ))}
        </section>
      ))}
    </>
  );
}
