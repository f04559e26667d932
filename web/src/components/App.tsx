import { t } from '../i18n/index.ts';
import { errorMessage, phase, scopedRoom } from '../state.ts';
import { Lobby } from './Lobby.tsx';
import { Room } from './Room.tsx';
import { RoomEntry } from './RoomEntry.tsx';

export function App() {
  const inRoom = phase.value === 'joined' || phase.value === 'leaving';
  const error = errorMessage.value;
  return (
    <main class="app">
      {error && (
        <div class="error" role="alert" data-testid="error">
          <span>{error()}</span>
          <button type="button" aria-label={t('app.dismiss')} onClick={() => (errorMessage.value = null)}>
            ×
          </button>
        </div>
      )}
      {inRoom ? <Room /> : scopedRoom.value ? <RoomEntry /> : <Lobby />}
    </main>
  );
}
