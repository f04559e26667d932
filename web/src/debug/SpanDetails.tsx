import type { SpanRecord } from '../../../protocol/telemetry.ts';
import type { TimelineEvent } from './timeline.ts';
import { formatMs, serviceColor } from './timeline.ts';
import { t } from '../i18n/index.ts';

/** The selected span: service, timing, status and every attribute. */
export function SpanDetails({ span, traceStartMs }: { span: SpanRecord; traceStartMs: number }) {
  return (
    <section class="dbg-span-details" aria-label={t('debug.spanLabel', { name: span.name })} data-testid="span-details">
      <h4>
        <span class="dbg-dot" style={{ background: serviceColor(span.service) }} /> {span.name}{' '}
        <span class="muted">
          {t('debug.spanAt', {
            service: span.service,
            kind: span.kind,
            start: formatMs(span.startMs - traceStartMs),
            duration: formatMs(span.endMs - span.startMs),
          })}
        </span>
      </h4>
      {span.status === 'error' && (
        <p class="dbg-error-text">{t('debug.spanError', { message: span.statusMessage ?? t('debug.failed') })}</p>
      )}
      <Attributes attributes={span.attributes} />
    </section>
  );
}

/** Events of the trace (or of the selected span), in time order. */
export function EventList({ events }: { events: TimelineEvent[] }) {
  if (events.length === 0) return <p class="muted">{t('debug.noEvents')}</p>;
  return (
    <ol class="dbg-events" data-testid="trace-events">
      {events.map((e, i) => (
        <li key={i} data-testid="trace-event">
          <span class="dbg-event-time">+{formatMs(e.offsetMs)}</span>
          <span class="dbg-dot" style={{ background: serviceColor(e.service) }} title={e.service} />
          <strong>{e.name}</strong> <span class="muted">{t('debug.in', { span: e.spanName })}</span>
          {Object.keys(e.attributes).length > 0 && <Attributes attributes={e.attributes} inline />}
        </li>
      ))}
    </ol>
  );
}

function Attributes({ attributes, inline = false }: { attributes: SpanRecord['attributes']; inline?: boolean }) {
  const entries = Object.entries(attributes);
  if (entries.length === 0) return null;
  return (
    <dl class={inline ? 'dbg-attrs inline' : 'dbg-attrs'}>
      {entries.map(([key, value]) => (
        <div key={key}>
          <dt>{key}</dt>
          <dd>{String(value)}</dd>
        </div>
      ))}
    </dl>
  );
}
