// The one place for translations. Language: the stored choice, else the
// browser's; <html lang> and Intl formatting follow it.
import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import en from './en.json';
import ko from './ko.json';
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

export function setLanguage(lng: Lang): void {
  try {
    localStorage.setItem(STORAGE_KEY, lng);
  } catch {
    // Not persisted; still switches for this page.
  }
  void i18next.changeLanguage(lng);
}

const lng = initialLanguage();
apply(lng);
void i18next.use(initReactI18next).init({
  resources: { en: { translation: en }, ko: { translation: ko } },
  lng,
  fallbackLng: 'en',
  interpolation: { escapeValue: false },
  returnNull: false,
});
i18next.on('languageChanged', apply);

export default i18next;
