import type { HealthStatus } from '../../../protocol/telemetry.ts';
import { t } from '../i18n/index.ts';
import type { MessageKey } from '../i18n/index.ts';

const LABELS: Record<HealthStatus, MessageKey> = {
  healthy: 'debug.healthy',
  pending: 'debug.pending',
  'paused-by-client': 'debug.pausedByClient',
  unhealthy: 'debug.unhealthyStatus',
};

/** A consumer's verdict as a colored badge (the words say it too: color is never the only signal). */
export function HealthBadge({ status }: { status: HealthStatus }) {
  return <span class={`dbg-badge dbg-${status}`}>{t(LABELS[status])}</span>;
}

/** ICE/DTLS state, green when connected. */
export function StateTag({ label, state }: { label: string; state: string }) {
  const ok = state === 'connected' || state === 'completed';
  const bad = state === 'failed' || state === 'closed' || state === 'disconnected';
  return (
    <span class={`dbg-state${ok ? ' ok' : bad ? ' bad' : ''}`}>
      {label} {state}
    </span>
  );
}
