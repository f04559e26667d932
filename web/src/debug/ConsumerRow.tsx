import type { ConsumerHealth } from '../../../protocol/telemetry.ts';
import { HealthBadge } from './Badge.tsx';
import { openTrace, showTrace } from './state.ts';

interface Props {
  consumer: ConsumerHealth;
  names: Map<string, string>;
  viewer: string;
}

/** One consumer: verdict, cause and evidence, repairs done; a click opens its lifecycle trace. */
export function ConsumerRow({ consumer: c, names, viewer }: Props) {
  const from = names.get(c.producerPeerId) ?? c.producerPeerId;
  const title = `${c.source} of ${from} at ${viewer}`;
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
        title={c.traceId ? 'Show this consumer’s trace' : 'No trace recorded'}
        onClick={() => void showTrace(c.traceId, title, c.consumerId)}
      >
        <span class="dbg-consumer-head">
          <HealthBadge status={c.status} />
          <strong>
            {c.source} of {from}
          </strong>
          <span class="muted">{c.kind}</span>
          {c.cause && <code class="dbg-cause">{c.cause}</code>}
          <span class="muted dbg-since">for {age(c.since)}</span>
        </span>
        <span class="dbg-detail">{c.detail}</span>
        <span class="dbg-evidence muted">
          server: score {c.server.score}/{c.server.producerScore}, {c.server.packetCount} pkts, {c.server.keyFrames} key frames
          {c.server.paused ? ', paused' : ''}
          {c.server.currentSpatialLayer !== null
            ? `, layer ${c.server.currentSpatialLayer}/${c.server.preferredSpatialLayer ?? '–'}`
            : ''}
          {client &&
            ` · client: ${client.packetsReceived} pkts${client.framesDecoded !== undefined ? `, ${client.framesDecoded} frames` : ''}${client.frameWidth ? `, ${client.frameWidth}×${client.frameHeight}` : ''}${client.freezeCount ? `, ${client.freezeCount} freezes` : ''}${client.trackMuted ? ', track muted' : ''}${client.hidden ? ', hidden' : ''}`}
        </span>
        {c.remediations.length > 0 && (
          <span class="dbg-repairs">
            Repairs:{' '}
            {c.remediations.map((r, i) => (
              <span key={i} class="tag">
                {r.action} ({r.cause}) {age(r.at)} ago
              </span>
            ))}
          </span>
        )}
      </button>
    </li>
  );
}

/** 4 s, 3 min, 2 h. */
export function age(sinceMs: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - sinceMs) / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}
