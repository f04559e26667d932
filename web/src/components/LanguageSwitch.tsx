import { LOCALES, locale, setLocale, t } from '../i18n/index.ts';
import type { Locale } from '../i18n/index.ts';

/** The UI language; the browser's is the default, a choice here is remembered. */
export function LanguageSwitch() {
  return (
    <select
      class="lang"
      aria-label={t('app.language')}
      data-testid="language"
      value={locale.value}
      onChange={(e) => setLocale(e.currentTarget.value as Locale)}
    >
      {Object.entries(LOCALES).map(([code, name]) => (
        <option key={code} value={code} lang={code}>
          {name}
        </option>
      ))}
    </select>
  );
}
