import type { ConsumerHealth } from '../../../protocol/telemetry.ts';
import { HealthBadge } from './Badge.tsx';
import { t } from '../i18n/index.ts';
import { openTrace, showTrace } from './state.ts';

interface Props {
  consumer: ConsumerHealth;
  names: Map<string, string>;
  viewer: string;
}

/** One consumer: verdict, cause and evidence, repairs done; a click opens its lifecycle trace. */
export function ConsumerRow({ consumer: c, names, viewer }: Props) {
  const from = names.get(c.producerPeerId) ?? c.producerPeerId;
  const title = t('debug.consumerTitle', { source: c.source, from, viewer });
  const open = openTrace.value?.consumerId === c.consumerId;
  const client = c.client;
  return (
    <li>
      <button
        type="button"
        class={`dbg-consumer${open ? ' open' : ''}`}
        data-testid="debug-consumer"
        data-consumer-id={c.consumerId}
        data-producer-id={c.producerId}
        data-status={c.status}
        data-cause={c.cause ?? ''}
        disabled={!c.traceId}
        aria-pressed={open}
        title={t(c.traceId ? 'debug.showTrace' : 'debug.noTrace')}
        onClick={() => void showTrace(c.traceId, title, c.consumerId)}
      >
        <span class="dbg-consumer-head">
          <HealthBadge status={c.status} />
          <strong>{t('debug.consumerOf', { source: c.source, from })}</strong>
          <span class="muted">{c.kind}</span>
          {c.cause && <code class="dbg-cause">{c.cause}</code>}
          <span class="muted dbg-since">{t('debug.for', { age: age(c.since) })}</span>
        </span>
        <span class="dbg-detail">{c.detail}</span>
        <span class="dbg-evidence muted">
          {t('debug.server', {
            score: c.server.score,
            producerScore: c.server.producerScore,
            packets: c.server.packetCount,
            keyFrames: c.server.keyFrames,
          })}
          {c.server.paused ? t('debug.serverPaused') : ''}
          {c.server.currentSpatialLayer !== null
            ? t('debug.layer', { current: c.server.currentSpatialLayer, preferred: c.server.preferredSpatialLayer ?? '–' })
            : ''}
          {client && clientEvidence(client)}
        </span>
        {c.remediations.length > 0 && (
          <span class="dbg-repairs">
            {t('debug.repairs')}{' '}
            {c.remediations.map((r, i) => (
              <span key={i} class="tag">
                {t('debug.repairAgo', { action: r.action, cause: r.cause, age: age(r.at) })}
              </span>
            ))}
          </span>
        )}
      </button>
    </li>
  );
}

/** What the client said of the consumer in its latest report. */
function clientEvidence(client: NonNullable<ConsumerHealth['client']>): string {
  return [
    t('debug.client', { packets: client.packetsReceived }),
    client.framesDecoded !== undefined ? t('debug.clientFrames', { frames: client.framesDecoded }) : '',
    client.frameWidth ? `, ${client.frameWidth}×${client.frameHeight}` : '',
    client.freezeCount ? t('debug.clientFreezes', { count: client.freezeCount }) : '',
    client.trackMuted ? t('debug.clientMuted') : '',
    client.hidden ? t('debug.clientHidden') : '',
  ].join('');
}

/** 4 s, 3 min, 2 h (4초, 3분, 2시간). */
export function age(sinceMs: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - sinceMs) / 1000));
  if (s < 120) return t('debug.ageSeconds', { n: s });
  if (s < 7200) return t('debug.ageMinutes', { n: Math.round(s / 60) });
  return t('debug.ageHours', { n: Math.round(s / 3600) });
}
