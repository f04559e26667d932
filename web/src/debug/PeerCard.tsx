import type { DiagnosedPeer } from './rooms.ts';
import { StateTag } from './Badge.tsx';
import { ConsumerRow } from './ConsumerRow.tsx';
import { t } from '../i18n/index.ts';

interface Props {
  peer: DiagnosedPeer;
  names: Map<string, string>;
  /** The room spans several media-worker instances: say which one hosts this peer. */
  showInstance: boolean;
}

/** A peer's transports, producers and consumers. */
export function PeerCard({ peer, names, showInstance }: Props) {
  const unhealthy = peer.consumers.filter((c) => c.status === 'unhealthy').length;
  return (
    <article class="dbg-peer" data-testid="debug-peer" data-peer-id={peer.id} aria-label={peer.displayName}>
      <header class="dbg-peer-head">
        <h4>{peer.displayName}</h4>
        <code class="muted">{peer.id}</code>
        {showInstance && <span class="tag">{peer.instanceId}</span>}
        {unhealthy > 0 && <span class="dbg-badge dbg-unhealthy">{t('debug.unhealthy', { count: unhealthy })}</span>}
      </header>
      <div class="dbg-transports">
        {peer.transports.length === 0 && <span class="muted">{t('debug.noTransports')}</span>}
        {peer.transports.map((t) => (
          <span key={t.id} class="dbg-transport" data-testid="debug-transport" title={t.id}>
            <strong>{t.direction}</strong> <StateTag label="ICE" state={t.iceState} />{' '}
            <StateTag label="DTLS" state={t.dtlsState} />
          </span>
        ))}
      </div>
      {peer.producers.length > 0 && (
        <ul class="dbg-producers" aria-label={t('debug.producers')}>
          {peer.producers.map((p) => (
            <li key={p.id} data-testid="debug-producer" title={p.id}>
              <strong>{p.source}</strong> <span class="muted">{p.kind}</span>{' '}
              {t('debug.producerFigures', { score: p.score, packets: p.packetCount })}
              {p.paused && <span class="tag">{t('debug.paused')}</span>}
            </li>
          ))}
        </ul>
      )}
      {peer.consumers.length > 0 ? (
        <ul class="dbg-consumers" aria-label={t('debug.consumers')}>
          {peer.consumers.map((c) => (
            <ConsumerRow key={c.consumerId} consumer={c} names={names} viewer={peer.displayName} />
          ))}
        </ul>
      ) : (
        <p class="muted dbg-none">{t('debug.noConsumers')}</p>
      )}
    </article>
  );
}
