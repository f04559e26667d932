import { currentCall, leaveRoom } from '../session.ts';
import { errorMessage, localTracks } from '../state.ts';

export function Controls() {
  const local = localTracks.value;
  const toggle = (source: 'microphone' | 'camera') => {
    const call = currentCall();
    if (!call) return;
    const action = local[source] ? call.unpublish(source) : call.publish(source);
    action.catch((err: Error) => (errorMessage.value = `${source}: ${err.message}`));
  };
  return (
    <nav class="controls" aria-label="Call controls">
      <button aria-pressed={!!local.microphone} onClick={() => toggle('microphone')}>
        {local.microphone ? 'Mute' : 'Unmute'}
      </button>
      <button aria-pressed={!!local.camera} onClick={() => toggle('camera')}>
        {local.camera ? 'Stop camera' : 'Start camera'}
      </button>
      <button class="leave" onClick={() => void leaveRoom()}>
        Leave
      </button>
    </nav>
  );
}
