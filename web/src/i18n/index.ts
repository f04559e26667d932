import { effect, signal } from '@preact/signals';
import type { Catalog } from './catalog.ts';
import { en } from './en.ts';
import type { MessageKey } from './en.ts';
import { ko } from './ko.ts';

export type { MessageKey };

/** The languages of the UI, each named in itself for the switch. */
export const LOCALES = { en: 'English', ko: '한국어' } as const;
export type Locale = keyof typeof LOCALES;

const catalogs: Record<Locale, Catalog> = { en, ko };
const STORAGE_KEY = 'parley.locale';

/** The user's choice if they made one, else the first browser language we have, else English. */
function initialLocale(): Locale {
  if (typeof navigator === 'undefined' || typeof localStorage === 'undefined') return 'en';
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved && saved in LOCALES) return saved as Locale;
  for (const tag of navigator.languages ?? [navigator.language]) {
    const base = tag.toLowerCase().split('-')[0];
    if (base && base in LOCALES) return base as Locale;
  }
  return 'en';
}

export const locale = signal<Locale>(initialLocale());

// The document says which language it is in: screen readers, spell checkers and fonts follow it.
effect(() => {
  if (typeof document !== 'undefined') document.documentElement.lang = locale.value;
});

export function setLocale(next: Locale): void {
  locale.value = next;
  localStorage.setItem(STORAGE_KEY, next);
}

type Params = Record<string, string | number>;

/** The message for `key` in the current language, with `{name}` placeholders filled from `params`. */
export function t(key: MessageKey, params: Params = {}): string {
  const template = catalogs[locale.value][key] ?? en[key];
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/** Keys with plural forms, named without their `.one` / `.other`. */
type Counted = MessageKey extends infer K ? (K extends `${infer Base}.one` ? Base : never) : never;

/** A counted message: `key.one` or `key.other` as the language's plural rules say, with `{count}`. */
export function tn(key: Counted, count: number, params: Params = {}): string {
  const form = new Intl.PluralRules(locale.value).select(count) === 'one' ? 'one' : 'other';
  return t(`${key}.${form}`, { ...params, count: formatNumber(count) });
}

export function formatNumber(n: number): string {
  return new Intl.NumberFormat(locale.value).format(n);
}

/** A message's time: the hour and minute today, with the date before that, as the language writes them. */
export function formatTime(epochMs: number, now = Date.now()): string {
  const date = new Date(epochMs);
  const sameDay = new Date(now).toDateString() === date.toDateString();
  const options: Intl.DateTimeFormatOptions = sameDay
    ? { hour: 'numeric', minute: '2-digit' }
    : { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' };
  return new Intl.DateTimeFormat(locale.value, options).format(date);
}

/** A clock time with seconds (the dashboard's). */
export function formatClock(epochMs: number): string {
  return new Intl.DateTimeFormat(locale.value, { timeStyle: 'medium' }).format(new Date(epochMs));
}

/** The full date and time, for a tooltip. */
export function formatDateTime(epochMs: number): string {
  return new Intl.DateTimeFormat(locale.value, { dateStyle: 'long', timeStyle: 'medium' }).format(new Date(epochMs));
}
