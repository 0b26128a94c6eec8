// One silence, new (`/alerts/silences/new`, prefilled from `matcher` and
// `comment` in the URL) or stored (`/alerts/silences/<id>`): the form,
// checked as the alert service checks it, saved with CreateSilence or
// UpdateSilence (the version read). An expired silence is history: it opens
// read-only, with Recreate.
import { ConnectError } from '@connectrpc/connect';
import { useMemo, useRef, useState, type FocusEvent, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useLocation, useNavigate, useParams } from 'react-router';
import { isFormError } from '../../api/errors';
import { useCreateSilence, useExpireSilence, useSilence, useUpdateSilence } from '../../api/alertHooks';
import { hasRole } from '../../api/session';
import { useLinkTo, useUrlState } from '../../app/urlState';
import { useUser } from '../../app/useSession';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { Field } from '../../components/Field';
import { Empty, Panel, QueryState, RoleNote, SaveError, Skeleton } from '../../components/states';
import type { Silence } from '../../gen/airis/aiops/v1/alert_pb';
import { nanosToMs, timeZoneLabel } from '../../lib/time';
import { MatcherChips, MatcherRow, StateBadge } from './SilenceParts';
import {
  durationText,
  endOf,
  endText,
  FIELD,
  fieldIds,
  formatSilenceTime,
  formToSilence,
  MAX_MATCHERS,
  matchersText,
  newSilenceForm,
  prefillOf,
  QUICK_DURATIONS,
  recreateParams,
  replacesSilence,
  sentRows,
  serverFieldOf,
  silenceToForm,
  stateAt,
  validateSilence,
  type MatcherForm,
  type Problem,
  type SilenceForm,
} from './silences';
import { useNow } from './useNow';
import '../pages.css';
import './alerts.css';

/** What the editor says after a change, in the history entry it opens the silence with. */
interface EditorState {
  done?: 'created' | 'saved' | 'replaced' | 'expired';
  /** The silence a replacement expired. */
  previous?: string;
}

export default function SilenceEditorPage() {
  const { t } = useTranslation();
  const { id = '' } = useParams();
  const linkTo = useLinkTo();
  const [params] = useUrlState();
  const user = useUser();
  const stored = useSilence(id);
  const done = (useLocation().state as EditorState | null) ?? {};
  const prefill = useMemo(() => prefillOf(params), [params]);
  return (
    <div className="page">
      <p className="back-link">
        <Link to={linkTo('/alerts/silences')}>← {t('silences.editor.back')}</Link>
      </p>
      {!id ? (
        <SilenceEditor
          // A link with other matchers starts the form again.
          key={params.toString()}
          initial={newSilenceForm({ ...prefill, createdBy: user?.username ?? '' })}
          unread={prefill.unread}
        />
      ) : (
        <QueryState query={stored} skeleton={<Skeleton rows={8} />}>
          {(d) =>
            d.silence ? (
              // A new version read (after saving, or a conflict) starts the form again.
              <SilenceEditor
                key={`${d.silence.id}@${d.silence.version}`}
                initial={silenceToForm(d.silence)}
                silence={d.silence}
                done={done}
                onReload={() => void stored.refetch()}
              />
            ) : (
              <Empty title={t('errors.notFound')} />
            )
          }
        </QueryState>
      )}
    </div>
  );
}

/** The DOM id of a field's control. */
const domId = (field: string) => `silence-${field.replace(/[^A-Za-z0-9_-]/g, '-')}`;
const DURATION_ID = 'silence-duration';

function SilenceEditor({
  initial,
  silence,
  done = {},
  unread = [],
  onReload,
}: {
  initial: SilenceForm;
  silence?: Silence;
  done?: EditorState;
  unread?: string[];
  onReload?: () => void;
}) {
  const { t } = useTranslation();
  const user = useUser();
  const canEdit = hasRole(user, 'editor');
  const navigate = useNavigate();
  const linkTo = useLinkTo();
  const now = useNow(15_000);
  const formRef = useRef<HTMLFormElement>(null);
  const [form, setForm] = useState(initial);
  const [attempted, setAttempted] = useState(false);
  const [touched, setTouched] = useState<ReadonlySet<string>>(() => new Set());
  const [confirmExpire, setConfirmExpire] = useState(false);
  const createSilence = useCreateSilence();
  const updateSilence = useUpdateSilence();
  const expire = useExpireSilence();
  const isNew = !form.id;
  const save = isNew ? createSilence : updateSilence;
  const expired = !!silence && stateAt(silence, now) === 'expired';
  const readOnly = expired || !canEdit;

  const problems = useMemo(() => validateSilence(form, now), [form, now]);
  // The service's refusal, next to the field it names (and under the form, whole).
  const refusal = save.isError && isFormError(save.error) ? ConnectError.from(save.error).rawMessage : '';
  const refusedField = refusal ? serverFieldOf(refusal, fieldIds(form), sentRows(form)) : null;
  const replaces = !readOnly && replacesSilence(form, now);

  const say = (p: Problem) => t(`silences.invalid.${p.key}`, p.values ?? {});
  const shown = (field: string, ...ids: string[]) => attempted || [domId(field), ...ids].some((id) => touched.has(id));
  const problem = (field: string, ...ids: string[]): string | undefined => {
    const p = problems[field];
    // Matching every alert is said at once: it is what the matchers typed mean.
    if (p && (shown(field, ...ids) || p.key === 'matchesEverything')) return say(p);
    if (field === refusedField) return refusal.replace(/^silence\.[^\s:]+:\s*/, '');
    return undefined;
  };

  const edit = (next: SilenceForm) => {
    setForm(next);
    // What the service refused was the form before this change.
    if (save.isError) save.reset();
  };
  const setMatchers = (matchers: MatcherForm[]) => edit({ ...form, matchers });
  const setMatcher = (i: number, patch: Partial<MatcherForm>) => setMatchers(form.matchers.map((m, j) => (j === i ? { ...m, ...patch } : m)));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (readOnly) return;
    setAttempted(true);
    if (Object.keys(problems).length > 0) {
      requestAnimationFrame(() => formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
      return;
    }
    // Awaited rather than a callback of mutate: the answer replaces the
    // silence read, which remounts this form before such a callback runs.
    save.mutateAsync(formToSilence(form, Date.now(), { identity: !isNew })).then(
      (res) => {
        const saved = res.silence;
        if (!saved) return;
        const state: EditorState = isNew ? { done: 'created' } : saved.id !== form.id ? { done: 'replaced', previous: form.id } : { done: 'saved' };
        void navigate(linkTo(`/alerts/silences/${encodeURIComponent(saved.id)}`), { state, replace: true });
      },
      () => undefined, // shown from save.error
    );
  };

  const onBlur = (e: FocusEvent<HTMLFormElement>) => {
    const id = e.target.id;
    if (id && !touched.has(id)) setTouched(new Set(touched).add(id));
  };

  const endMs = endOf(form, now);
  const durationProblem = form.endBy === 'duration' ? problem(FIELD.end, DURATION_ID) : undefined;
  const endProblem = form.endBy === 'end' ? problem(FIELD.end) : undefined;
  const matchersProblem = problem(FIELD.matchers);
  const recreateLink = linkTo('/alerts/silences/new', recreateParams(form));
  const state = silence ? stateAt(silence, now) : null;

  return (
    <>
      <div className="page-header">
        <div>
          <div className="row">
            <h1>{isNew ? t('silences.editor.newTitle') : expired ? t('silences.editor.expiredTitle') : t('silences.editor.title')}</h1>
            {state && <StateBadge state={state} />}
          </div>
          <div className="page-sub">
            {silence
              ? t('silences.editor.meta', {
                  id: silence.id,
                  version: String(silence.version),
                  time: formatSilenceTime(nanosToMs(silence.updateTimeUnixNano)),
                })
              : t('silences.editor.subtitle')}
          </div>
        </div>
        {expired && canEdit && (
          <Link className="btn btn-primary" to={recreateLink}>
            {t('silences.editor.recreate')}
          </Link>
        )}
      </div>
      {!canEdit && user && <RoleNote detail={t('silences.viewerNote', { role: t('roles.editor'), current: t(`roles.${user.role}`) })} />}
      {/* Present from the start, so that what it says later is announced. */}
      <p className="rule-status" role="status">
        {done.done ? t(`silences.editor.done.${done.done}`, { version: String(silence?.version ?? ''), previous: done.previous ?? '' }) : ''}
      </p>
      {expired && (
        <p className="muted small" role="note">
          {t('silences.editor.expiredNote')}
        </p>
      )}

      <Panel title={t('silences.editor.silence')}>
        <form ref={formRef} className="rule-form" onSubmit={submit} onBlur={onBlur} aria-label={t('silences.editor.silence')} noValidate>
          <fieldset className="rule-form silence-fields" disabled={readOnly}>
            <fieldset className="rule-section rule-list">
              <legend>{t('silences.editor.matchers')}</legend>
              <p className="muted small">{t('silences.editor.matchersHint')}</p>
              {expired && silence ? (
                <MatcherChips matchers={silence.matchers} />
              ) : (
                form.matchers.map((m, i) => (
                  <MatcherRow
                    key={i}
                    n={i + 1}
                    ids={{ name: domId(FIELD.matcher(i, 'name')), op: domId(FIELD.matcher(i, 'operator')), value: domId(FIELD.matcher(i, 'value')) }}
                    matcher={m}
                    problems={{
                      name: problem(FIELD.matcher(i, 'name')),
                      op: problem(FIELD.matcher(i, 'operator')),
                      value: problem(FIELD.matcher(i, 'value')),
                    }}
                    onChange={(patch) => setMatcher(i, patch)}
                    onRemove={form.matchers.length > 1 ? () => setMatchers(form.matchers.filter((_, j) => j !== i)) : undefined}
                  />
                ))
              )}
              {matchersProblem && (
                <p className="field-error" id={`${domId(FIELD.matchers)}-error`}>
                  {matchersProblem}
                </p>
              )}
              {unread.length > 0 && (
                <p className="form-error" role="alert">
                  {t('silences.editor.unread', { matchers: unread.join(', ') })}
                </p>
              )}
              {!readOnly && form.matchers.length < MAX_MATCHERS && (
                <div className="row">
                  <button type="button" className="btn btn-small" onClick={() => setMatchers([...form.matchers, { name: '', op: '=', value: '' }])}>
                    + {t('silences.editor.addMatcher')}
                  </button>
                </div>
              )}
            </fieldset>

            <div className="rule-row">
              <Field id={domId(FIELD.start)} label={t('silences.editor.start')} hint={t('silences.editor.startHint', { zone: timeZoneLabel() })} error={problem(FIELD.start)}>
                {(control) => <input {...control} className="mono" value={form.start} onChange={(e) => edit({ ...form, start: e.target.value })} />}
              </Field>
              <Field
                id={DURATION_ID}
                label={t('silences.editor.duration')}
                hint={t('silences.editor.durationHint')}
                error={durationProblem}
                className="narrow"
              >
                {(control) => (
                  <input
                    {...control}
                    className="mono"
                    value={durationText(form, now)}
                    onChange={(e) => edit({ ...form, duration: e.target.value, endBy: 'duration' })}
                  />
                )}
              </Field>
              <Field
                id={domId(FIELD.end)}
                label={t('silences.editor.end')}
                hint={endMs !== null ? t('silences.editor.endsAt', { time: formatSilenceTime(endMs) }) : undefined}
                error={endProblem}
              >
                {(control) => (
                  <input {...control} className="mono" value={endText(form, now)} onChange={(e) => edit({ ...form, end: e.target.value, endBy: 'end' })} />
                )}
              </Field>
            </div>
            {!readOnly && (
              <div className="row quick-durations" role="group" aria-label={t('silences.editor.quick')}>
                <span className="muted small">{t('silences.editor.quick')}</span>
                {QUICK_DURATIONS.map((d) => (
                  <button
                    key={d}
                    type="button"
                    className="btn btn-small mono"
                    aria-pressed={form.endBy === 'duration' && form.duration.trim() === d}
                    onClick={() => edit({ ...form, duration: d, endBy: 'duration' })}
                  >
                    {d}
                  </button>
                ))}
              </div>
            )}

            <div className="rule-row">
              <Field
                id={domId(FIELD.createdBy)}
                label={t('silences.editor.createdBy')}
                hint={t('silences.editor.createdByHint')}
                error={problem(FIELD.createdBy)}
              >
                {(control) => <input {...control} value={form.createdBy} onChange={(e) => edit({ ...form, createdBy: e.target.value })} />}
              </Field>
            </div>
            <Field id={domId(FIELD.comment)} label={t('silences.editor.comment')} hint={t('silences.editor.commentHint')} error={problem(FIELD.comment)}>
              {(control) => <textarea {...control} rows={3} value={form.comment} onChange={(e) => edit({ ...form, comment: e.target.value })} />}
            </Field>
          </fieldset>

          {replaces && (
            <div className="replace-note" role="note">
              {t('silences.editor.replaceNote')}
            </div>
          )}

          {save.isError && (
            <SaveError
              error={save.error}
              conflict={{ title: t('silences.editor.conflict'), hint: t('silences.editor.conflictHint'), reload: t('silences.editor.reload'), onReload }}
            />
          )}
          {expire.isError && <SaveError error={expire.error} />}

          {!expired && (
            <div className="form-actions">
              <Link className="btn" to={linkTo('/alerts/silences')}>
                {t('common.cancel')}
              </Link>
              {!isNew && canEdit && (
                <button type="button" className="btn btn-danger" disabled={expire.isPending} onClick={() => setConfirmExpire(true)}>
                  {t('silences.editor.expire')}
                </button>
              )}
              <button type="submit" className="btn btn-primary" disabled={readOnly || save.isPending}>
                {isNew ? t('silences.editor.create') : replaces ? t('silences.editor.saveAsNew') : t('silences.editor.save')}
              </button>
            </div>
          )}
        </form>
      </Panel>

      {confirmExpire && silence && (
        <ConfirmDialog
          title={t('silences.list.confirmTitle')}
          body={t('silences.list.confirmBody', { matchers: matchersText(silence) })}
          confirmLabel={t('silences.list.expire')}
          onCancel={() => setConfirmExpire(false)}
          onConfirm={() => {
            setConfirmExpire(false);
            expire.mutateAsync(silence.id).then(
              () => {
                const state: EditorState = { done: 'expired' };
                void navigate(linkTo(`/alerts/silences/${encodeURIComponent(silence.id)}`), { state, replace: true });
              },
              () => undefined, // shown from expire.error
            );
          }}
        />
      )}
    </>
  );
}
