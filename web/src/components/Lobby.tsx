import { useState } from 'preact/hooks';
import { joinRoom } from '../session.ts';
import { phase } from '../state.ts';

const ROOM_PATTERN = '[A-Za-z0-9_-]{1,64}';

export function Lobby() {
  const [name, setName] = useState(() => localStorage.getItem('parley.name') ?? '');
  const [room, setRoom] = useState(() => new URLSearchParams(location.search).get('room') ?? 'lounge');
  const joining = phase.value === 'joining';

  const submit = (e: Event) => {
    e.preventDefault();
    localStorage.setItem('parley.name', name);
    void joinRoom(room, name);
  };

  return (
    <section class="lobby">
      <h1>Parley</h1>
      <form onSubmit={submit}>
        <label>
          Your name
          <input name="name" value={name} required maxLength={64} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
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
        <button type="submit" disabled={joining}>
          {joining ? 'Joining…' : 'Join'}
        </button>
      </form>
    </section>
  );
}
