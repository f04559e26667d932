import { errorMessage, phase } from '../state.ts';
import { Lobby } from './Lobby.tsx';
import { Room } from './Room.tsx';

export function App() {
  return (
    <main class="app">
      {errorMessage.value && (
        <div class="error" role="alert">
          {errorMessage.value}
          <button aria-label="Dismiss" onClick={() => (errorMessage.value = null)}>
            ×
          </button>
        </div>
      )}
      {phase.value === 'lobby' || phase.value === 'joining' ? <Lobby /> : <Room />}
    </main>
  );
}
