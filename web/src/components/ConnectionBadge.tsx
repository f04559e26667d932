import { retryConnection } from '../actions.ts';
import { t } from '../i18n/index.ts';
import { connection } from '../state.ts';

/** The one connection state the user needs, with a way out when it failed. */
export function ConnectionBadge() {
  const state = connection.value;
  return (
    <span class="conn-wrap" role="status" aria-live="polite">
      <span class={`conn conn-${state}`} data-testid="connection" data-state={state}>
        {t(`connection.${state}`)}
      </span>
      {state === 'failed' && (
        <button type="button" class="small" onClick={retryConnection}>
          {t('connection.retry')}
        </button>
      )}
    </span>
  );
}
