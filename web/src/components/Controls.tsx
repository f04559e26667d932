import { useState } from 'preact/hooks';
import type { Feed } from '../../../client/index.ts';
import { currentCall, leaveRoom, moderate, reportError } from '../actions.ts';
import { t } from '../i18n/index.ts';
import { localTracks, microphoneMuted, pendingSources, selfState, showChat, showDevices, showStats } from '../state.ts';
import { Icon } from './Icon.tsx';
import { ReportProblem } from './ReportProblem.tsx';
import { ReasonDialog } from './ReasonDialog.tsx';

/** Call controls: every one a labelled button, usable with Tab and Enter/Space, state in aria-pressed. */
export function Controls() {
  const [ending, setEnding] = useState(false);
  const local = localTracks.value;
  const pending = pendingSources.value;
  const micOn = !!local.microphone && !microphoneMuted.value;
  const micLocked = selfState.value?.locks.includes('microphone') ?? false;
  const isModerator = selfState.value?.grants.moderator === true;
  const canShare = typeof navigator.mediaDevices?.getDisplayMedia === 'function';

  const toggle = (feed: Feed) => currentCall()?.toggleFeed(feed).catch(reportError(feed));
  const micLabel = micLocked && !micOn ? t('room.mutedByModerator') : micOn ? t('room.mute') : t('room.unmute');

  return (
    <nav class="controls" aria-label={t('room.controls')}>
      <button
        type="button"
        class={micOn ? '' : 'off'}
        aria-pressed={!micOn}
        aria-busy={pending.has('microphone')}
        disabled={micLocked && !micOn}
        title={micLocked ? t('moderation.youAreLocked') : undefined}
        onClick={() => currentCall()?.toggleMicrophone().catch(reportError('microphone'))}
      >
        <Icon name="mic" off={!micOn} />
        <span class="label">{micLabel}</span>
      </button>
      <button
        type="button"
        class={local.camera ? '' : 'off'}
        aria-pressed={!!local.camera}
        aria-busy={pending.has('camera')}
        onClick={() => toggle('camera')}
      >
        <Icon name="camera" off={!local.camera} />
        <span class="label">{local.camera ? t('room.stopCamera') : t('room.startCamera')}</span>
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
          <span class="label">{local.screen ? t('room.stopSharing') : t('room.shareScreen')}</span>
        </button>
      )}
      <button type="button" class="secondary" aria-pressed={showChat.value} onClick={() => (showChat.value = !showChat.value)}>
        <Icon name="chat" />
        <span class="label">{t('room.chat')}</span>
      </button>
      <button
        type="button"
        class="secondary"
        aria-pressed={showDevices.value}
        onClick={() => (showDevices.value = !showDevices.value)}
      >
        <Icon name="devices" />
        <span class="label">{t('room.devices')}</span>
      </button>
      <button type="button" class="secondary" aria-pressed={showStats.value} onClick={() => (showStats.value = !showStats.value)}>
        <Icon name="stats" />
        <span class="label">{t('room.stats')}</span>
      </button>
      <ReportProblem />
      {isModerator && (
        <button type="button" class="danger" onClick={() => setEnding(true)}>
          <Icon name="end" />
          <span class="label">{t('room.endRoom')}</span>
        </button>
      )}
      <button type="button" class="leave" onClick={() => void leaveRoom()}>
        <Icon name="leave" />
        <span class="label">{t('room.leave')}</span>
      </button>
      {ending && (
        <ReasonDialog
          title={t('moderation.endRoomTitle')}
          label={t('moderation.endRoomReason')}
          confirm={t('moderation.confirmEnd')}
          defaultReason={t('moderation.endRoomDefault')}
          onConfirm={(reason) => moderate((m) => m.endRoom(reason))}
          onClose={() => setEnding(false)}
        />
      )}
    </nav>
  );
}
