import { joinRoom } from '../actions.ts';
import { t } from '../i18n/index.ts';
import { connection, phase, scopedRoom, selfName } from '../state.ts';
import { ConnectionBadge } from './ConnectionBadge.tsx';
import { LanguageSwitch } from './LanguageSwitch.tsx';

/** A token for one room: no lobby, only that room (joined at once; this is what shows before and after). */
export function RoomEntry() {
  const room = scopedRoom.value ?? '';
  const joining = phase.value === 'joining';
  return (
    <section class="welcome" aria-busy={joining}>
      <header class="bar">
        <h1>{room}</h1>
        <span class="muted">{t('lobby.as', { name: selfName.value })}</span>
        <ConnectionBadge />
        <LanguageSwitch />
      </header>
      {joining ? (
        <div class="joining" role="status">
          <div class="spinner" aria-hidden="true" />
          {t('lobby.joining', { room })}
        </div>
      ) : (
        <button type="button" disabled={connection.value !== 'connected'} onClick={() => void joinRoom(room)}>
          {t('lobby.joinRoom', { room })}
        </button>
      )}
    </section>
  );
}
