import type { TraceSummary } from '../../../protocol/telemetry.ts';
import { formatMs, serviceColor } from './timeline.ts';
import { useState } from 'preact/hooks';
import { formatClock, t } from '../i18n/index.ts';
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
        {t('debug.browserOnly')}
      </label>
      {traces.length === 0 ? <p class="muted">{t('debug.noTraces')}</p> : <Items traces={traces} isOpen={isOpen} />}
    </>
  );
}

function Items({ traces, isOpen }: { traces: TraceSummary[]; isOpen: (traceId: string) => boolean }) {
  return (
    <ul class="dbg-traces">
      {traces.map((trace) => (
        <li key={trace.traceId}>
          <button
            type="button"
            class={`dbg-trace-item${isOpen(trace.traceId) ? ' open' : ''}`}
            data-testid="debug-trace"
            data-trace-id={trace.traceId}
            aria-pressed={isOpen(trace.traceId)}
            onClick={() => void showTrace(trace.traceId, trace.name)}
          >
            <span class="dbg-trace-name">{trace.name || trace.traceId.slice(0, 8)}</span>
            <span class="dbg-dots" role="img" aria-label={trace.services.join(', ')}>
              {trace.services.map((s) => (
                <span key={s} class="dbg-dot" style={{ background: serviceColor(s) }} title={s} />
              ))}
            </span>
            <span class="muted">{formatClock(trace.startMs)}</span>
            <span class="muted">{formatMs(trace.endMs - trace.startMs)}</span>
            <span class="muted">{t('debug.spans', { count: trace.spans })}</span>
            {trace.errors > 0 && <span class="dbg-badge dbg-unhealthy">{t('debug.errors', { count: trace.errors })}</span>}
          </button>
        </li>
      ))}
    </ul>
  );
}
