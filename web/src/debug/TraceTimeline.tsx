import { useEffect, useRef } from 'preact/hooks';
import type { TimelineEvent, TimelineRow } from './timeline.ts';
import { formatMs, layoutTrace, serviceColor } from './timeline.ts';
import { EventList, SpanDetails } from './SpanDetails.tsx';
import { t } from '../i18n/index.ts';
import { closeTrace, openTrace, selectedSpan } from './state.ts';

/**
 * The open trace as a timeline: one row per span, indented under its parent, the bar placed by start and end
 * and colored by service, events as ticks; below, the selected span's attributes and the events list.
 */
export function TraceTimeline() {
  const open = openTrace.value;
  if (!open) return <p class="dbg-placeholder muted">{t('debug.pick')}</p>;
  const timeline = layoutTrace(open.spans);
  const selected = open.spans.find((s) => s.spanId === selectedSpan.value);
  const events = selected ? timeline.events.filter((e) => e.spanId === selected.spanId) : timeline.events;
  const services = [...new Set(open.spans.map((s) => s.service))].sort();
  return (
    <section
      class="dbg-trace"
      data-testid="trace-timeline"
      data-trace-id={open.traceId}
      aria-label={t('debug.traceOf', { title: open.title })}
    >
      <header class="dbg-trace-head">
        <h3>{open.title}</h3>
        <button type="button" class="small secondary" onClick={closeTrace} title={t('debug.escape')}>
          {t('debug.close')}
        </button>
      </header>
      <p class="muted dbg-trace-meta">
        <code>{open.traceId}</code> · {t('debug.spans', { count: open.spans.length })} · {formatMs(timeline.durationMs)}
        {services.map((s) => (
          <span key={s} class="dbg-legend">
            <span class="dbg-dot" style={{ background: serviceColor(s) }} /> {s}
          </span>
        ))}
      </p>
      {open.loading && <p class="muted">{t('debug.loadingTrace')}</p>}
      {open.error && (
        <p class="dbg-error-text" role="alert">
          {open.error}
        </p>
      )}
      {!open.loading && !open.error && open.spans.length === 0 && <p class="muted">{t('debug.noSpans')}</p>}
      {timeline.rows.length > 0 && (
        <div class="dbg-spans-box">
          <div class="dbg-scale-row" aria-hidden="true">
            <span />
            <div class="dbg-scale">
              {[0, 0.25, 0.5, 0.75, 1].map((f) => (
                <span key={f} style={{ left: `${f * 100}%` }}>
                  {formatMs(f * timeline.durationMs)}
                </span>
              ))}
            </div>
          </div>
          <ol class="dbg-spans" onKeyDown={moveBetweenRows}>
            {timeline.rows.map((row) => (
              <SpanRow key={row.span.spanId} row={row} events={timeline.events.filter((e) => e.spanId === row.span.spanId)} />
            ))}
          </ol>
        </div>
      )}
      <div class="dbg-below">
        {selected && <SpanDetails span={selected} traceStartMs={timeline.startMs} />}
        <h4 class="section-title">{selected ? t('debug.eventsOf', { name: selected.name }) : t('debug.events')}</h4>
        <EventList events={events} />
      </div>
    </section>
  );
}

function SpanRow({ row, events }: { row: TimelineRow; events: TimelineEvent[] }) {
  const { span, depth, left, width, live } = row;
  const error = span.status === 'error';
  const selected = selectedSpan.value === span.spanId;
  const ref = useRef<HTMLLIElement>(null);
  // A span selected for the user (the consumer's, on opening) may be far down a long trace.
  useEffect(() => {
    if (selected) ref.current?.scrollIntoView({ block: 'nearest' });
  }, [selected]);
  const classes = ['dbg-span', error && 'error', live && 'live', selected && 'selected'].filter(Boolean).join(' ');
  return (
    <li
      ref={ref}
      class={classes}
      data-testid="trace-span"
      data-service={span.service}
      data-status={span.status}
      data-live={live ? 'true' : undefined}
    >
      <button
        type="button"
        class="dbg-span-label"
        style={{ paddingLeft: `${0.4 + depth * 0.9}rem` }}
        aria-pressed={selected}
        title={`${span.service}: ${span.name}`}
        onClick={() => (selectedSpan.value = selected ? null : span.spanId)}
      >
        {error && (
          <span class="dbg-error-mark" role="img" aria-label={t('debug.errorMark')}>
            !
          </span>
        )}
        <span class="dbg-span-name">{span.name}</span>
      </button>
      <div class="dbg-track" aria-hidden="true">
        <div class="dbg-bar" style={{ left: `${left}%`, width: `max(${width}%, 2px)`, background: serviceColor(span.service) }} />
        {events.map((e, i) => (
          <span key={i} class="dbg-tick" style={{ left: `${e.at}%` }} title={`${e.name} at +${formatMs(e.offsetMs)}`} />
        ))}
      </div>
      <span class="dbg-span-dur">
        {formatMs(span.endMs - span.startMs)}
        {live && t('debug.live')}
      </span>
    </li>
  );
}

/** Up and down arrows move between span rows, as in a list box. */
function moveBetweenRows(e: KeyboardEvent): void {
  if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
  const list = e.currentTarget as HTMLElement;
  const buttons = [...list.querySelectorAll<HTMLButtonElement>('.dbg-span-label')];
  const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
  const next = buttons[Math.min(Math.max(at + (e.key === 'ArrowDown' ? 1 : -1), 0), buttons.length - 1)];
  if (!next) return;
  e.preventDefault();
  next.focus();
}
