import { errorMessage, phase, scopedRoom } from '../state.ts';
import { Lobby } from './Lobby.tsx';
import { Room } from './Room.tsx';
import { RoomEntry } from './RoomEntry.tsx';

export function App() {
  const inRoom = phase.value === 'joined' || phase.value === 'leaving';
  return (
    <main class="app">
      {errorMessage.value && (
        <div class="error" role="alert">
          <span>{errorMessage.value}</span>
          <button type="button" aria-label="Dismiss" onClick={() => (errorMessage.value = null)}>
            ×
          </button>
        </div>
      )}
      {inRoom ? <Room /> : scopedRoom.value ? <RoomEntry /> : <Lobby />}
    </main>
  );
}
