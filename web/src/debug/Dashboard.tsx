import { useEffect, useRef } from 'preact/hooks';
import { IncidentsPanel } from './IncidentsPanel.tsx';
import { ReportPanel } from './ReportPanel.tsx';
import { RoomsPanel } from './RoomsPanel.tsx';
import { TokenGate } from './TokenGate.tsx';
import { TraceList } from './TraceList.tsx';
import { TraceTimeline } from './TraceTimeline.tsx';
import { formatClock, t } from '../i18n/index.ts';
import { LanguageSwitch } from '../components/LanguageSwitch.tsx';
import { closeTrace, forgetToken, loadError, query, startPolling, token, updatedAt } from './state.ts';
import './debug.css';

/** /debug: rooms → peers → transports, producers and consumers with their health; traces as timelines. */
export function Dashboard() {
  if (!token.value) {
    return (
      <main class="app">
        <TokenGate />
      </main>
    );
  }
  return <Panels />;
}

function Panels() {
  const search = useRef<HTMLInputElement>(null);
  useEffect(() => startPolling(), [token.value]);
  useEffect(() => {
    // "/" jumps to the search box and Escape closes the trace, unless the user is typing.
    const onKey = (e: KeyboardEvent) => {
      const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement;
      if (e.key === '/' && !typing) {
        e.preventDefault();
        search.current?.focus();
      }
      if (e.key === 'Escape' && !typing) closeTrace();
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);

  return (
    <main class="app dbg">
      <header class="bar dbg-topbar">
        <h1>{t('debug.title')}</h1>
        <input
          ref={search}
          class="dbg-search"
          type="search"
          data-testid="debug-search"
          aria-label={t('debug.search')}
          placeholder={t('debug.searchPlaceholder')}
          value={query.value}
          onInput={(e) => (query.value = e.currentTarget.value)}
        />
        <span class="muted" role="status">
          {updatedAt.value ? t('debug.updated', { time: formatClock(updatedAt.value) }) : t('debug.loading')}
        </span>
        <button type="button" class="small secondary" onClick={() => forgetToken()}>
          {t('debug.forget')}
        </button>
        <LanguageSwitch />
      </header>
      {loadError.value && (
        <div class="error" role="alert">
          {loadError.value()}
        </div>
      )}
      <div class="dbg-layout">
        <div class="dbg-main">
          <h2 class="section-title">{t('debug.incidents')}</h2>
          <IncidentsPanel />
          <h2 class="section-title">{t('debug.problemReport')}</h2>
          <ReportPanel />
          <h2 class="section-title">{t('debug.rooms')}</h2>
          <RoomsPanel />
          <h2 class="section-title">{t('debug.recentTraces')}</h2>
          <TraceList />
        </div>
        <aside class="dbg-side" aria-label={t('debug.trace')}>
          <TraceTimeline />
        </aside>
      </div>
    </main>
  );
}
