// Dark/light theme: the stored choice, else the system preference.
import { useSyncExternalStore } from 'react';

export type Theme = 'dark' | 'light';
const KEY = 'airis.theme';
const listeners = new Set<() => void>();

function initial(): Theme {
  try {
    const s = localStorage.getItem(KEY);
    if (s === 'dark' || s === 'light') return s;
  } catch {
    // Ignore unavailable storage.
  }
  return window.matchMedia?.('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
}

let theme: Theme = typeof window === 'undefined' ? 'dark' : initial();
if (typeof document !== 'undefined') document.documentElement.dataset.theme = theme;

export function setTheme(next: Theme): void {
  theme = next;
  document.documentElement.dataset.theme = next;
  try {
    localStorage.setItem(KEY, next);
  } catch {
    // Not persisted.
  }
  for (const l of listeners) l();
}

export function useTheme(): Theme {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => theme,
  );
}
