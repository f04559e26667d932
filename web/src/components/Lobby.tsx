import { useState } from 'preact/hooks';
import { joinRoom } from '../actions.ts';
import { connection, lobby, phase, roomName, selfName } from '../state.ts';
import { ConnectionBadge } from './ConnectionBadge.tsx';
import { NameForm } from './NameForm.tsx';
import { RoomCard } from './RoomCard.tsx';

const ROOM_PATTERN = '[A-Za-z0-9_\\-]{1,64}';

/** Discord-style: every room and who is in it, live; join one or create one by name. */
export function Lobby() {
  const [room, setRoom] = useState(() => new URLSearchParams(location.search).get('room') ?? 'lounge');
  if (!lobby.value) return <NameForm />;
  const joining = phase.value === 'joining';
  const rooms = [...lobby.value.rooms].sort(
    (a, b) => b.participants.length - a.participants.length || a.roomId.localeCompare(b.roomId),
  );

  const submit = (e: Event) => {
    e.preventDefault();
    void joinRoom(room);
  };

  return (
    <section class="lobby" aria-busy={joining}>
      <header class="bar">
        <h1>Parley</h1>
        <span class="muted">
          as <strong>{selfName.value}</strong>
        </span>
        <ConnectionBadge />
      </header>
      <form class="join" onSubmit={submit}>
        <label>
          Room
          <input
            name="room"
            value={room}
            required
            pattern={ROOM_PATTERN}
            title="letters, digits, - and _"
            onInput={(e) => setRoom(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={joining || connection.value !== 'connected'}>
          Join
        </button>
      </form>
      <h2 class="section-title">Rooms</h2>
      {rooms.length === 0 ? (
        <p class="muted">Nobody is here yet. Pick a room name above to start one.</p>
      ) : (
        <ul class="rooms">
          {rooms.map((r) => (
            <RoomCard key={r.roomId} room={r} disabled={joining} onJoin={() => void joinRoom(r.roomId)} />
          ))}
        </ul>
      )}
      {joining && (
        <div class="joining" role="status">
          <div class="spinner" aria-hidden="true" />
          Joining {roomName.value}…
        </div>
      )}
    </section>
  );
}
