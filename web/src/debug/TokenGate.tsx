import { useEffect, useState } from 'preact/hooks';
import { devAdminToken, devTokensOffered } from './api.ts';
import { LanguageSwitch } from '../components/LanguageSwitch.tsx';
import { t } from '../i18n/index.ts';
import { saveToken, tokenProblem } from './state.ts';

/** The dashboard needs an admin token: paste one, or (dev mode) get one from the server. */
export function TokenGate() {
  const [value, setValue] = useState('');
  const [devOffered, setDevOffered] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    void devTokensOffered().then(setDevOffered);
  }, []);

  const submit = (e: Event) => {
    e.preventDefault();
    if (value.trim()) saveToken(value.trim());
  };
  const useDevToken = () => {
    setError(null);
    devAdminToken().then(saveToken, (err: Error) => setError(err.message));
  };
  const problem = error ?? tokenProblem.value?.();
  return (
    <section class="welcome dbg-gate">
      <header class="bar">
        <h1>{t('debug.title')}</h1>
        <LanguageSwitch />
      </header>
      <p class="muted">{t('debug.intro')}</p>
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      <form onSubmit={submit}>
        <label>
          {t('debug.tokenLabel')}
          <input
            name="token"
            type="password"
            autoComplete="off"
            value={value}
            required
            placeholder="PARLEY_SECRET=… npm run token -- --name Ops --admin"
            onInput={(e) => setValue(e.currentTarget.value)}
          />
        </label>
        <button type="submit">{t('debug.open')}</button>
      </form>
      {devOffered && (
        <button type="button" class="secondary" onClick={useDevToken}>
          {t('debug.devToken')}
        </button>
      )}
    </section>
  );
}
