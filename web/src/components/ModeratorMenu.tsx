import { useState } from 'preact/hooks';
import { moderate } from '../actions.ts';
import { t } from '../i18n/index.ts';
import { ReasonDialog } from './ReasonDialog.tsx';

/** On a remote tile, for moderators: mute (locked), turn the camera off, allow unmuting, remove. */
export function ModeratorMenu({ peerId, name }: { peerId: string; name: string }) {
  const [removing, setRemoving] = useState(false);
  const close = (e: Event) => (e.currentTarget as HTMLElement).closest('details')?.removeAttribute('open');
  return (
    <>
      <details class="mod-menu" data-testid="mod-menu">
        <summary aria-label={t('moderation.menu', { name })} title={t('moderation.menu', { name })}>
          ⋯
        </summary>
        <div class="mod-actions">
          <button
            type="button"
            onClick={(e) => {
              close(e);
              moderate((m) => m.mute(peerId, 'microphone', true));
            }}
          >
            {t('moderation.mute')}
          </button>
          <button
            type="button"
            onClick={(e) => {
              close(e);
              moderate((m) => m.mute(peerId, 'camera', true));
            }}
          >
            {t('moderation.muteCamera')}
          </button>
          <button
            type="button"
            onClick={(e) => {
              close(e);
              moderate(async (m) => {
                await m.unlock(peerId, 'microphone');
                await m.unlock(peerId, 'camera');
              });
            }}
          >
            {t('moderation.unlock')}
          </button>
          <button
            type="button"
            class="danger"
            onClick={(e) => {
              close(e);
              setRemoving(true);
            }}
          >
            {t('moderation.remove')}
          </button>
        </div>
      </details>
      {removing && (
        <ReasonDialog
          title={t('moderation.confirmRemove', { name })}
          label={t('moderation.reason')}
          confirm={t('moderation.remove')}
          defaultReason={t('moderation.defaultReason')}
          onConfirm={(reason) => moderate((m) => m.remove(peerId, reason))}
          onClose={() => setRemoving(false)}
        />
      )}
    </>
  );
}
