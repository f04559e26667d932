import { currentCall, leaveRoom } from '../actions.ts';
import { errorMessage, localTracks, microphoneMuted, pendingSources, showDevices, showStats } from '../state.ts';
import type { Feed } from '../../../client/index.ts';
import { Icon } from './Icon.tsx';
import { ReportProblem } from './ReportProblem.tsx';

/** Call controls: every one a labelled button, usable with Tab and Enter/Space, state in aria-pressed. */
export function Controls() {
  const local = localTracks.value;
  const pending = pendingSources.value;
  const micOn = !!local.microphone && !microphoneMuted.value;
  const canShare = typeof navigator.mediaDevices?.getDisplayMedia === 'function';

  const run = (what: string, action: (() => Promise<void>) | undefined) =>
    action?.().catch((err: Error) => (errorMessage.value = `${what}: ${err.message}`));
  const toggle = (feed: Feed) => run(feed, () => currentCall()?.toggleFeed(feed) ?? Promise.resolve());

  return (
    <nav class="controls" aria-label="Call controls">
      <button
        type="button"
        class={micOn ? '' : 'off'}
        aria-pressed={!micOn}
        aria-busy={pending.has('microphone')}
        onClick={() => run('microphone', () => currentCall()?.toggleMicrophone() ?? Promise.resolve())}
      >
        <Icon name="mic" off={!micOn} />
        <span class="label">{micOn ? 'Mute' : 'Unmute'}</span>
      </button>
      <button
        type="button"
        class={local.camera ? '' : 'off'}
        aria-pressed={!!local.camera}
        aria-busy={pending.has('camera')}
        onClick={() => toggle('camera')}
      >
        <Icon name="camera" off={!local.camera} />
        <span class="label">{local.camera ? 'Stop camera' : 'Start camera'}</span>
      </button>
      {canShare && (
        <button
          type="button"
          class={local.screen ? 'on' : ''}
          aria-pressed={!!local.screen}
          aria-busy={pending.has('screen')}
          onClick={() => toggle('screen')}
        >
          <Icon name="screen" />
          <span class="label">{local.screen ? 'Stop sharing' : 'Share screen'}</span>
        </button>
      )}
      <button
        type="button"
        class="secondary"
        aria-pressed={showDevices.value}
        onClick={() => (showDevices.value = !showDevices.value)}
      >
        <Icon name="devices" />
        <span class="label">Devices</span>
      </button>
      <button type="button" class="secondary" aria-pressed={showStats.value} onClick={() => (showStats.value = !showStats.value)}>
        <Icon name="stats" />
        <span class="label">Stats</span>
      </button>
      <ReportProblem />
      <button type="button" class="leave" onClick={() => void leaveRoom()}>
        <Icon name="leave" />
        <span class="label">Leave</span>
      </button>
    </nav>
  );
}
