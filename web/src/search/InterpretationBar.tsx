// Above the page that shows a question's results: the question, how it was
// understood (one chip per part, each removable, names and numbers
// editable in place), the words that could
// not be placed with the names they may have meant, and the parts this
// page cannot filter by. The interpretation is the URL's (`interp`), so a
// link reproduces it; editing or removing a chip opens the results of
// what is then asked.
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useLocation, useNavigate, useSearchParams } from 'react-router';
import { Icon } from '../components/Icon';
import { ErrorPanel } from '../components/states';
import { applyPatch } from '../app/urlState';
import { formatPercent, formatShortDateTime } from '../lib/format';
import type { Interpretation, Unplaced } from '../gen/airis/search/v1/search_pb';
import { chipFields, chips, decode, editable, encode, shows, target, withValue, without, type ChipEdit } from './interpretation';
import { summarised } from './answer';
import AskAnswer from './AskAnswer';
import { ask, lastAnswer, useAsk } from './searchApi';
import { completeWith } from './SearchBar';

/** The URL keys the search bar adds to a page's own. */
const KEYS = ['ask', 'asked', 'interp'];

/** The question with its unplaced words marked (offsets are UTF-16, as JavaScript counts). */
function Question({ text, unplaced }: { text: string; unplaced: Unplaced[] }) {
  const parts: (string | { mark: string })[] = [];
  let at = 0;
  for (const u of [...unplaced].sort((a, b) => a.start - b.start)) {
    if (u.start < at || u.end > text.length) continue;
    parts.push(text.slice(at, u.start), { mark: text.slice(u.start, u.end) });
    at = u.end;
  }
  parts.push(text.slice(at));
  return (
    <q className="interpretation-question">
      {parts.map((p, n) => (typeof p === 'string' ? p : <mark key={n} className="unplaced">{p.mark}</mark>))}
    </q>
  );
}

/**
 * A chip's value: a button that turns into an input when the part can be
 * edited in place; Enter asks again with the new value, Escape (or
 * leaving the field) keeps the old one.
 */
function ChipValue({ value, edit, part, apply }: { value: string; edit: ChipEdit | null; part: string; apply: (typed: string) => boolean }) {
  const { t } = useTranslation();
  const [typed, setTyped] = useState<string | null>(null);
  const [invalid, setInvalid] = useState(false);
  if (!edit) return <span className="chip-value">{value}</span>;
  if (typed === null) {
    return (
      <button type="button" className="chip-value chip-edit" aria-label={t('search.edit', { part, value })} onClick={() => setTyped(edit.value)}>
        {value}
      </button>
    );
  }
  const done = () => {
    setTyped(null);
    setInvalid(false);
  };
  return (
    <input
      className="chip-input"
      aria-label={t('search.editing', { part })}
      aria-invalid={invalid || undefined}
      title={invalid ? t(edit.kind === 'number' ? 'search.editNumber' : 'search.editText') : undefined}
      inputMode={edit.kind === 'number' ? 'decimal' : undefined}
      size={Math.max(4, typed.length + 1)}
      value={typed}
      autoFocus
      onChange={(e) => {
        setTyped(e.target.value);
        setInvalid(false);
      }}
      onKeyDown={(e) => {
        // Keys that finish composing a Hangul syllable are the input method's (229: Safari's).
        if (e.nativeEvent.isComposing || e.keyCode === 229) return;
        if (e.key === 'Escape') {
          e.preventDefault();
          done();
        } else if (e.key === 'Enter') {
          e.preventDefault();
          if (apply(typed)) done();
          else setInvalid(true);
        }
      }}
      onBlur={done}
    />
  );
}

export default function InterpretationBar() {
  const { t, i18n } = useTranslation();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const question = params.get('ask') ?? '';
  const asked = params.get('asked') ?? '';
  const encoded = params.get('interp') ?? '';
  const { pathname } = useLocation();
  const [error, setError] = useState<unknown>(null);
  const interpretation = useMemo(() => decode(encoded), [encoded]);
  const visible = interpretation !== null && shows(interpretation, pathname, params);
  // A summary no page shows whole is answered here (Ask); its parts are
  // then marked as that answer applies them.
  const summary = visible && summarised(interpretation);
  const language = i18n.language.startsWith('ko') ? 'ko' : 'en';
  const answered = useAsk(summary ? interpretation : null, encoded, language);
  // Once the page's own form or time range moved away from the question, the chips would mislead.
  if (!interpretation || !visible) return null;
  // The service's answer while it is the one shown (not after an edit or a reload).
  const answer = lastAnswer(question, asked);
  const fresh = answer?.interpretation !== undefined && encode(answer.interpretation) === encoded;
  const list = chips(interpretation, formatShortDateTime);
  const notApplied = new Set(answered.data?.notApplied.map((n) => n.field));
  const unapplied = new Set(
    summary && answered.data ? list.filter((c) => chipFields(c.key).some((f) => notApplied.has(f))).map((c) => c.key) : target(interpretation).unapplied,
  );
  const severityText = ([min, max]: [string, string]) => {
    const name = (id: string) => t(`severity.${id}`);
    if (min && max) return min === max ? name(min) : `${name(min)}–${name(max)}`;
    return min ? `≥ ${name(min)}` : `≤ ${name(max)}`;
  };

  const open = (next: Interpretation) => {
    const to = target(next);
    const kept = Object.fromEntries(KEYS.map((k) => [k, params.get(k)]));
    const search = applyPatch(new URLSearchParams(), { ...to.params, ...kept, interp: encode(next) }).toString();
    navigate({ pathname: to.path, search: `?${search}` });
  };
  const retype = async (u: Unplaced, name: string) => {
    const text = `${question.slice(0, u.start)}${completeWith(question.slice(u.start, u.end), name).trimEnd()}${question.slice(u.end)}`;
    try {
      setError(null);
      const result = await ask(text, i18n.language, Date.now());
      navigate({ pathname: result.path, search: `?${applyPatch(new URLSearchParams(), result.params).toString()}` });
    } catch (err) {
      setError(err);
    }
  };
  const clear = () => navigate({ search: `?${applyPatch(params, Object.fromEntries(KEYS.map((k) => [k, null]))).toString()}` }, { replace: true });

  return (
    <section className="interpretation" aria-labelledby="interpretation-title">
      <div className="interpretation-head">
        <h2 id="interpretation-title">{t('search.understood')}</h2>
        <Question text={question} unplaced={fresh ? answer.unplaced : []} />
        {fresh && answer.confidence < 1 && <span className="muted small">{t('search.confidence', { value: formatPercent(answer.confidence) })}</span>}
        <button type="button" className="btn btn-link" onClick={clear}>
          {t('search.clear')}
        </button>
      </div>
      {fresh && answer.rendering && <p className="interpretation-rendering" data-testid="rendering">{answer.rendering}</p>}
      {list.length > 0 ? (
        <ul className="interpretation-chips" aria-label={t('search.parts')}>
          {list.map((c) => {
            const value = c.severity ? severityText(c.severity) : c.words ? t(c.words.key, c.words.values) : c.value;
            const skipped = unapplied.has(c.key);
            const why = summary ? t('search.answer.unapplied') : t('search.unapplied');
            return (
              <li key={c.key} className={`chip ${skipped ? 'unapplied' : ''}`} data-testid="chip" title={skipped ? why : undefined}>
                <span className="chip-label">{t(c.label)}</span>
                <ChipValue
                  value={value}
                  edit={editable(interpretation, c.key)}
                  part={t(c.label)}
                  apply={(typed) => {
                    const next = withValue(interpretation, c.key, typed);
                    if (next) open(next);
                    return next !== null;
                  }}
                />
                {skipped && <span className="sr-only">{why}</span>}
                <button type="button" aria-label={t('search.remove', { part: t(c.label), value })} onClick={() => open(without(interpretation, c.key))}>
                  <Icon name="close" size={12} />
                </button>
              </li>
            );
          })}
        </ul>
      ) : (
        <p className="interpretation-note">{t('search.nothing')}</p>
      )}
      {fresh && answer.unplaced.length > 0 && (
        <div className="interpretation-unplaced" data-testid="unplaced">
          <span>{t('search.unplaced')}</span>
          {answer.unplaced.map((u) => (
            <span key={`${u.start}`} className="chip unapplied">
              <mark className="unplaced">{u.text}</mark>
              {u.suggestions.length > 0 && <span className="chip-label">{t('search.didYouMean')}</span>}
              {u.suggestions.map((s) => (
                <button key={s} type="button" className="btn btn-link" onClick={() => void retype(u, s)}>
                  {s}
                </button>
              ))}
            </span>
          ))}
        </div>
      )}
      {unapplied.size > 0 && <p className="interpretation-note">{summary ? t('search.answer.unappliedNote') : t('search.unappliedNote')}</p>}
      {summary && <AskAnswer interpretation={interpretation} encoded={encoded} />}
      {error !== null && <ErrorPanel error={error} compact />}
    </section>
  );
}
