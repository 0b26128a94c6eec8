// The search bar of every page: a question in Korean or English, with
// completions of the word being typed from the tenant's names (a combobox:
// arrows choose, Enter takes a completion or asks, Escape closes them, "/"
// anywhere else focuses it). Asking opens the page that owns the answer's
// signal with the interpretation as its filters; the interpretation bar
// above the page shows it as chips. The search service's client is loaded
// on first use (searchApi.ts), not with the page.
import { useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate, useSearchParams } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import type { Suggestion } from '../gen/airis/search/v1/search_pb';
import { ErrorPanel } from '../components/states';
import { Icon } from '../components/Icon';
import { applyPatch } from '../app/urlState';
import { keys } from '../api/hooks';
import './search.css';

const api = () => import('./searchApi');

/** The word being typed: the text after the last space. */
export function currentWord(text: string): string {
  const m = /(\S+)$/.exec(text);
  return m ? m[1]! : '';
}

/**
 * `text` with its last word replaced by `name` and a space after it; when
 * `name` has several words and the words before the last one are its
 * first ones ("GET car" completed to "GET /cart"), those go too, so they
 * are not typed twice.
 */
export function completeWith(text: string, name: string): string {
  const word = currentWord(text);
  let start = text.length - word.length;
  const before = text.slice(0, start);
  const words = before.trim() ? before.trim().split(/\s+/) : [];
  const lower = name.toLowerCase();
  for (let k = Math.min(words.length, name.split(/\s+/).length - 1); k > 0; k--) {
    const lead = words.slice(-k);
    if (lower.startsWith(`${lead.join(' ').toLowerCase()} `)) {
      const escaped = lead.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
      start = new RegExp(`${escaped.join('\\s+')}\\s+$`).exec(before)?.index ?? start;
      break;
    }
  }
  return `${text.slice(0, start)}${name} `;
}

const KIND_KEYS = ['', 'service', 'operation', 'metric', 'attribute', 'value'] as const;

/** The service's limit on a question, in bytes of UTF-8 (a Hangul syllable is three). */
export const MAX_QUESTION_BYTES = 1024;

export function SearchBar() {
  const { t, i18n } = useTranslation();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [params] = useSearchParams();
  const asked = params.get('ask') ?? '';
  const [text, setText] = useState(asked);
  const [options, setOptions] = useState<Suggestion[]>([]);
  const [active, setActive] = useState(-1);
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [tooLong, setTooLong] = useState(0);
  const input = useRef<HTMLInputElement>(null);
  const listId = useId();

  // A question asked elsewhere (a link, the back button) is the bar's text.
  useEffect(() => setText(asked), [asked]);

  // "/" focuses the bar, as in most consoles, unless typing somewhere.
  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent) => {
      const el = e.target as HTMLElement | null;
      const typing = el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));
      if (e.key === '/' && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.preventDefault();
        input.current?.focus();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  // Completions of the word being typed, a moment after the last key.
  const word = currentWord(text);
  useEffect(() => {
    if (!open || word.length < 1) {
      setOptions([]);
      return;
    }
    const abort = new AbortController();
    const timer = setTimeout(() => {
      api()
        .then((m) => m.suggest(word, abort.signal))
        .then((list) => {
          setOptions(list);
          setActive(-1);
        })
        .catch(() => {
          // Completions are a help: a failure leaves the bar usable.
          if (!abort.signal.aborted) setOptions([]);
        });
    }, 150);
    return () => {
      clearTimeout(timer);
      abort.abort();
    };
  }, [word, open]);

  const choose = (s: Suggestion) => {
    setText(completeWith(text, s.text));
    setOptions([]);
    setActive(-1);
    input.current?.focus();
  };

  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    const question = text.trim();
    if (!question) return;
    const bytes = new TextEncoder().encode(question).length;
    if (bytes > MAX_QUESTION_BYTES) {
      setError(null);
      setTooLong(bytes);
      return;
    }
    setOpen(false);
    setBusy(true);
    setError(null);
    try {
      const m = await api();
      const result = await m.ask(question, i18n.language, Date.now());
      // Asked already (a canary): the page's answer is this one.
      const interp = result.params.interp;
      if (result.answered && typeof interp === 'string') {
        queryClient.setQueryData(keys.ask(interp, i18n.language.startsWith('ko') ? 'ko' : 'en'), result.answered);
      }
      const search = applyPatch(new URLSearchParams(), result.params).toString();
      navigate({ pathname: result.path, search: search ? `?${search}` : '' });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    // Keys that finish composing a Hangul syllable are the input method's.
    if (e.nativeEvent.isComposing) return;
    const shown = open && options.length > 0;
    if (e.key === 'ArrowDown' && shown) {
      e.preventDefault();
      setActive((a) => (a + 1) % options.length);
    } else if (e.key === 'ArrowUp' && shown) {
      e.preventDefault();
      setActive((a) => (a <= 0 ? options.length - 1 : a - 1));
    } else if (e.key === 'Enter' && shown && active >= 0) {
      e.preventDefault();
      choose(options[active]!);
    } else if (e.key === 'Escape' && shown) {
      // Closes the completions; a search field's own Escape (clearing it) only when none are shown.
      e.preventDefault();
      setOpen(false);
      setActive(-1);
    }
  };

  const shown = open && options.length > 0;
  const optionId = (n: number) => `${listId}-o${n}`;
  return (
    <form role="search" className="search-bar" onSubmit={(e) => void submit(e)} aria-label={t('search.label')}>
      <Icon name="search" size={16} />
      <input
        ref={input}
        type="search"
        role="combobox"
        aria-label={t('search.label')}
        aria-autocomplete="list"
        aria-expanded={shown}
        aria-controls={listId}
        aria-activedescendant={shown && active >= 0 ? optionId(active) : undefined}
        placeholder={t('search.placeholder')}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setOpen(true);
          setError(null);
          setTooLong(0);
        }}
        onFocus={() => setOpen(true)}
        // Options keep the focus here (mousedown is prevented), so a blur is leaving the bar.
        onBlur={() => setOpen(false)}
        onKeyDown={onKeyDown}
      />
      <ul id={listId} role="listbox" aria-label={t('search.suggestions')} className="search-options" hidden={!shown}>
        {options.map((s, n) => (
          <li
            key={`${s.kind}:${s.text}:${s.serviceName}:${s.attribute}`}
            id={optionId(n)}
            role="option"
            aria-selected={n === active}
            className={n === active ? 'active' : undefined}
            onMouseDown={(e) => e.preventDefault()}
            onClick={() => choose(s)}
          >
            <span className="search-option-text">{s.text}</span>
            <span className="search-option-kind">
              {t(`search.kind.${KIND_KEYS[s.kind] || 'service'}`)}
              {s.serviceName && ` · ${s.serviceName}`}
              {s.attribute && ` · ${s.attribute}`}
              {s.via && ` · ${s.via}`}
            </span>
          </li>
        ))}
      </ul>
      {busy && <span className="sr-only" role="status">{t('search.asking')}</span>}
      {(error !== null || tooLong > 0) && (
        <div className="search-error">
          {tooLong > 0 ? (
            <p className="error-panel compact" role="alert">
              {t('search.tooLong', { bytes: tooLong, max: MAX_QUESTION_BYTES })}
            </p>
          ) : (
            <ErrorPanel error={error} compact />
          )}
        </div>
      )}
    </form>
  );
}
