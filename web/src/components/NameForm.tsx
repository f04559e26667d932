import { useState } from 'preact/hooks';
import { enterLobby } from '../actions.ts';
import { t } from '../i18n/index.ts';
import { connection } from '../state.ts';
import { LanguageSwitch } from './LanguageSwitch.tsx';

/** First step: who you are. The lobby connects as soon as there is a name; nothing is captured. */
export function NameForm() {
  const [name, setName] = useState(() => localStorage.getItem('parley.name') ?? '');
  const busy = connection.value === 'connecting';
  const submit = (e: Event) => {
    e.preventDefault();
    const trimmed = name.trim();
    if (trimmed) void enterLobby(trimmed);
  };
  return (
    <section class="welcome">
      <header class="bar">
        <h1>Parley</h1>
        <LanguageSwitch />
      </header>
      <p class="muted">{t('app.tagline')}</p>
      <form onSubmit={submit}>
        <label>
          {t('name.label')}
          <input name="name" value={name} required maxLength={64} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? t('name.connecting') : t('name.continue')}
        </button>
      </form>
    </section>
  );
}
