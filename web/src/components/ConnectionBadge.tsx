import { retryConnection } from '../actions.ts';
import { connection } from '../state.ts';

const LABELS = {
  offline: 'offline',
  connecting: 'connecting…',
  connected: 'connected',
  reconnecting: 'reconnecting…',
  failed: 'connection failed',
} as const;

/** The one connection state the user needs, with a way out when it failed. */
export function ConnectionBadge() {
  const state = connection.value;
  return (
    <span class="conn-wrap" role="status" aria-live="polite">
      <span class={`conn conn-${state}`} data-testid="connection" data-state={state}>
        {LABELS[state]}
      </span>
      {state === 'failed' && (
        <button type="button" class="small" onClick={retryConnection}>
          Retry
        </button>
      )}
    </span>
  );
}
