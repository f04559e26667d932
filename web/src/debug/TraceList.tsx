import type { TraceSummary } from '../../../protocol/telemetry.ts';
import { formatMs, serviceColor } from './timeline.ts';
import { useState } from 'preact/hooks';
import { openTrace, recentTraces, showTrace } from './state.ts';

/**
 * The latest traces, newest first; a click opens one. By default only those a browser took part in: the
 * rest are requests made outside any user action (layer changes, key-frame requests).
 */
export function TraceList() {
  const [browserOnly, setBrowserOnly] = useState(true);
  const traces = recentTraces.value.filter((t) => !browserOnly || t.services.includes('parley-web'));
  const isOpen = (traceId: string) => openTrace.value?.traceId === traceId && !openTrace.value.consumerId;
  return (
    <>
      <label class="dbg-check">
        <input type="checkbox" checked={browserOnly} onChange={(e) => setBrowserOnly(e.currentTarget.checked)} />
        Only traces of browser actions
      </label>
      {traces.length === 0 ? <p class="muted">No traces yet.</p> : <Items traces={traces} isOpen={isOpen} />}
    </>
  );
}

function Items({ traces, isOpen }: { traces: TraceSummary[]; isOpen: (traceId: string) => boolean }) {
  return (
    <ul class="dbg-traces">
      {traces.map((t) => (
        <li key={t.traceId}>
          <button
            type="button"
            class={`dbg-trace-item${isOpen(t.traceId) ? ' open' : ''}`}
            data-testid="debug-trace"
            data-trace-id={t.traceId}
            aria-pressed={isOpen(t.traceId)}
            onClick={() => void showTrace(t.traceId, t.name)}
          >
            <span class="dbg-trace-name">{t.name || t.traceId.slice(0, 8)}</span>
            <span class="dbg-dots" role="img" aria-label={t.services.join(', ')}>
              {t.services.map((s) => (
                <span key={s} class="dbg-dot" style={{ background: serviceColor(s) }} title={s} />
              ))}
            </span>
            <span class="muted">{new Date(t.startMs).toLocaleTimeString()}</span>
            <span class="muted">{formatMs(t.endMs - t.startMs)}</span>
            <span class="muted">{t.spans} spans</span>
            {t.errors > 0 && <span class="dbg-badge dbg-unhealthy">{t.errors} errors</span>}
          </button>
        </li>
      ))}
    </ul>
  );
}
