// The one place for translations. Language: the stored choice, else the
// browser's; <html lang> and Intl formatting follow it. Strings are chunks
// loaded when needed, so a first page carries one language's and not the
// alert pages': en.json / ko.json for every page, alerts.en.json /
// alerts.ko.json (the alertList, alerts, silences and notifications keys)
// with the alert pages (routes.tsx, withStrings), delta.en.json /
// delta.ko.json (the delta key) with the Canary analysis page. All are one
// namespace.
import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import { setFormatLocale } from '../lib/format';

export const LANGUAGES = [
  { code: 'ko', label: '한국어' },
  { code: 'en', label: 'English' },
] as const;
export type Lang = (typeof LANGUAGES)[number]['code'];

const STORAGE_KEY = 'airis.lang';

export function initialLanguage(): Lang {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (stored === 'ko' || stored === 'en') return stored;
  } catch {
    // Storage may be unavailable (privacy mode); fall back to the browser.
  }
  const nav = typeof navigator !== 'undefined' ? navigator.language : 'en';
  return nav.toLowerCase().startsWith('ko') ? 'ko' : 'en';
}

function apply(lng: string): void {
  setFormatLocale(lng);
  if (typeof document !== 'undefined') document.documentElement.lang = lng;
}

type Strings = () => Promise<{ default: Record<string, unknown> }>;
export type StringsPart = 'core' | 'alerts' | 'delta';
const STRINGS: Record<StringsPart, Record<Lang, Strings>> = {
  core: { en: () => import('./en.json'), ko: () => import('./ko.json') },
  alerts: { en: () => import('./alerts.en.json'), ko: () => import('./alerts.ko.json') },
  delta: { en: () => import('./delta.en.json'), ko: () => import('./delta.ko.json') },
};

/** The parts some page has needed: a language switch loads them all. */
const wanted = new Set<StringsPart>(['core']);
const loaded = new Map<string, Promise<void>>();

/** The language's strings of these parts, each fetched once. */
function load(lng: Lang, parts: Iterable<StringsPart> = wanted): Promise<unknown> {
  return Promise.all(
    [...parts].map((part) => {
      const key = `${part}.${lng}`;
      let done = loaded.get(key);
      if (!done) {
        done = STRINGS[part][lng]().then((strings) => {
          i18next.addResourceBundle(lng, 'translation', strings.default, true, true);
        });
        // A failed fetch (a dropped connection) is tried again next time.
        done.catch(() => loaded.delete(key));
        loaded.set(key, done);
      }
      return done;
    }),
  );
}

/** A page's code together with the strings it needs beyond the core ones (for lazy routes). */
export async function withStrings<T>(part: StringsPart, page: () => Promise<T>): Promise<T> {
  wanted.add(part);
  // Both the language shown and one being switched to.
  const langs = new Set([i18next.language as Lang, chosen]);
  const [module] = await Promise.all([page(), ...[...langs].map((l) => load(l, [part]))]);
  return module;
}

export function setLanguage(lng: Lang): void {
  try {
    localStorage.setItem(STORAGE_KEY, lng);
  } catch {
    // Not persisted; still switches for this page.
  }
  chosen = lng;
  // Switched once its strings are here: no moment of bare keys.
  void load(lng).then(
    () => i18next.changeLanguage(lng),
    // Not fetched (offline): the page stays in its language.
    () => undefined,
  );
}

const lng = initialLanguage();
/** The language last chosen, which may still be loading. */
let chosen: Lang = lng;
apply(lng);
i18next.on('languageChanged', apply);

/** Resolves when the first language's strings are loaded; the app renders after it. */
export const ready: Promise<unknown> = i18next
  .use(initReactI18next)
  .init({
    resources: {},
    // The other language is not loaded, and both have every key (i18n.test.ts):
    // no fallback to look in.
    fallbackLng: false,
    lng,
    interpolation: { escapeValue: false },
    returnNull: false,
  })
  .then(() => load(lng));

export default i18next;
