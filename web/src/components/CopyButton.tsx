import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Icon } from './Icon';

/** Copies text; says "Copied" for a moment (announced to screen readers). */
export function CopyButton({ text, label, className }: { text: string; label: string; className?: string }) {
  const { t } = useTranslation();
  const [done, setDone] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Clipboard API unavailable (insecure context): fall back to a selection copy.
      const ta = document.createElement('textarea');
      ta.value = text;
      document.body.appendChild(ta);
      ta.select();
      document.execCommand('copy');
      ta.remove();
    }
    setDone(true);
    setTimeout(() => setDone(false), 1500);
  };
  return (
    <button type="button" className={`btn ${className ?? ''}`} onClick={() => void copy()}>
      <Icon name="copy" />
      {label}
      <span aria-live="polite" className={done ? 'copied' : 'sr-only'}>
        {done ? t('common.copied') : ''}
      </span>
    </button>
  );
}
