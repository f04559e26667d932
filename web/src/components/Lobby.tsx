import { useState } from 'preact/hooks';
import { joinRoom } from '../actions.ts';
import { t } from '../i18n/index.ts';
import { connection, lobby, phase, roomName, selfName } from '../state.ts';
import { ConnectionBadge } from './ConnectionBadge.tsx';
import { LanguageSwitch } from './LanguageSwitch.tsx';
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
        <span class="muted">{t('lobby.as', { name: selfName.value })}</span>
        <ConnectionBadge />
        <LanguageSwitch />
      </header>
      <form class="join" onSubmit={submit}>
        <label>
          {t('lobby.room')}
          <input
            name="room"
            value={room}
            required
            pattern={ROOM_PATTERN}
            title={t('lobby.roomTitle')}
            onInput={(e) => setRoom(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={joining || connection.value !== 'connected'}>
          {t('lobby.join')}
        </button>
      </form>
      <h2 class="section-title">{t('lobby.rooms')}</h2>
      {rooms.length === 0 ? (
        <p class="muted">{t('lobby.empty')}</p>
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
          {t('lobby.joining', { room: roomName.value })}
        </div>
      )}
    </section>
  );
}
