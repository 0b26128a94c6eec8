// The notification policy as a form: receivers with their webhooks, the
// route tree (RouteEditor), and the Alertmanagers every alert is forwarded
// to. Saved whole with the version read (UpdateNotificationPolicy): a
// policy changed meanwhile (ABORTED) is reloaded, not overwritten; the
// service's refusal is shown next to the field its path names, or at the
// top when it names none the form shows.
import { ConnectError } from '@connectrpc/connect';
import type { TFunction } from 'i18next';
import { useEffect, useMemo, useRef, useState, type FocusEvent, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { isFormError } from '../../api/errors';
import { useUpdateNotificationPolicy } from '../../api/alertHooks';
import { Field, type ControlProps } from '../../components/Field';
import { SaveError } from '../../components/states';
import type { NotificationPolicy } from '../../gen/airis/aiops/v1/alert_pb';
import {
  FIELD,
  formToPolicy,
  MAX_ALERTMANAGERS,
  MAX_RECEIVERS,
  MAX_WEBHOOKS,
  newAlertmanagerForm,
  newReceiverForm,
  newWebhookForm,
  serverFieldOf,
  validatePolicy,
  type AlertmanagerForm,
  type PolicyForm,
  type Problem,
  type ReceiverForm,
  type WebhookForm,
} from './notifications';
import { policyDomId, RouteEditor } from './RouteEditor';

export function PolicyEditor({
  initial,
  onSaved,
  onCancel,
  onReload,
}: {
  initial: PolicyForm;
  onSaved: (policy: NotificationPolicy) => void;
  onCancel: () => void;
  onReload: () => void;
}) {
  const { t } = useTranslation();
  const formRef = useRef<HTMLFormElement>(null);
  const topErrorRef = useRef<HTMLDivElement>(null);
  const [form, setForm] = useState(initial);
  const [attempted, setAttempted] = useState(false);
  const [touched, setTouched] = useState<ReadonlySet<string>>(() => new Set());
  const save = useUpdateNotificationPolicy();

  const problems = useMemo(() => validatePolicy(form), [form]);
  // The service's refusal, next to the field it names; at the top when the form has no such field.
  const refusal = save.isError && isFormError(save.error) ? ConnectError.from(save.error).rawMessage : '';
  const refusedField = refusal ? serverFieldOf(refusal, form) : null;

  const say = (p: Problem) => t(`notifications.invalid.${p.key}`, p.values ?? {});
  const problem = (field: string): string | undefined => {
    const p = problems[field];
    if (p && (attempted || touched.has(policyDomId(field)))) return say(p);
    if (field === refusedField) return refusal.replace(/^policy\.[^\s:]+:\s*/, '');
    return undefined;
  };

  const edit = (next: PolicyForm) => {
    setForm(next);
    // What the service refused was the form before this change.
    if (save.isError) save.reset();
  };
  const setReceivers = (receivers: ReceiverForm[]) => edit({ ...form, receivers });
  const setReceiver = (i: number, patch: Partial<ReceiverForm>) => setReceivers(form.receivers.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  const setAlertmanagers = (alertmanagers: AlertmanagerForm[]) => edit({ ...form, alertmanagers });

  /** The first field marked invalid, or the error at the top. */
  const focusProblem = () =>
    requestAnimationFrame(() => {
      const field = formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]');
      if (field) field.focus();
      else topErrorRef.current?.focus();
    });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setAttempted(true);
    if (Object.keys(problems).length > 0) {
      focusProblem();
      return;
    }
    save.mutateAsync(formToPolicy(form)).then(
      (res) => res.policy && onSaved(res.policy),
      () => undefined, // shown from save.error, and focused below
    );
  };

  // A refusal, once shown: the field it names, or the error at the top.
  const failure = save.error;
  useEffect(() => {
    if (failure) focusProblem();
  }, [failure]);

  const onBlur = (e: FocusEvent<HTMLFormElement>) => {
    const id = e.target.id;
    if (id && !touched.has(id)) setTouched(new Set(touched).add(id));
  };

  const receiverNames = form.receivers.map((r) => r.name.trim());
  const receiversProblem = problem(FIELD.receivers);

  return (
    <form ref={formRef} className="rule-form policy-form" onSubmit={submit} onBlur={onBlur} aria-label={t('notifications.editor.form')} noValidate>
      <div ref={topErrorRef} tabIndex={-1} className="policy-top-error">
        {save.isError && !refusedField && (
          <SaveError
            error={save.error}
            conflict={{
              title: t('notifications.editor.conflict'),
              hint: t('notifications.editor.conflictHint'),
              reload: t('notifications.editor.reload'),
              onReload,
            }}
          />
        )}
      </div>

      <fieldset className="rule-section rule-list">
        <legend>{t('notifications.receivers')}</legend>
        <p className="muted small">{t('notifications.editor.receiversHint')}</p>
        {form.receivers.map((r, i) => (
          <ReceiverFields
            key={i}
            index={i}
            receiver={r}
            problem={problem}
            onChange={(patch) => setReceiver(i, patch)}
            onRemove={() => setReceivers(form.receivers.filter((_, j) => j !== i))}
          />
        ))}
        {receiversProblem && <p className="field-error">{receiversProblem}</p>}
        {form.receivers.length < MAX_RECEIVERS && (
          <div className="row">
            <button type="button" className="btn btn-small" onClick={() => setReceivers([...form.receivers, newReceiverForm()])}>
              + {t('notifications.editor.addReceiver')}
            </button>
          </div>
        )}
      </fieldset>

      <fieldset className="rule-section rule-list">
        <legend>{t('notifications.routes')}</legend>
        <p className="muted small">{t('notifications.routesHint')}</p>
        <RouteEditor root={form.route} setRoot={(route) => edit({ ...form, route })} receivers={receiverNames} problem={problem} />
      </fieldset>

      <AlertmanagerFields alertmanagers={form.alertmanagers} problem={problem} onChange={setAlertmanagers} />

      <div className="form-actions">
        <button type="button" className="btn" onClick={onCancel}>
          {t('common.cancel')}
        </button>
        <button type="submit" className="btn btn-primary" disabled={save.isPending}>
          {t('notifications.editor.save')}
        </button>
      </div>
    </form>
  );
}

function ReceiverFields({
  index,
  receiver,
  problem,
  onChange,
  onRemove,
}: {
  index: number;
  receiver: ReceiverForm;
  problem: (field: string) => string | undefined;
  onChange: (patch: Partial<ReceiverForm>) => void;
  onRemove: () => void;
}) {
  const { t } = useTranslation();
  const n = index + 1;
  const setWebhooks = (webhooks: WebhookForm[]) => onChange({ webhooks });
  const setWebhook = (j: number, patch: Partial<WebhookForm>) => setWebhooks(receiver.webhooks.map((w, k) => (k === j ? { ...w, ...patch } : w)));
  const nameField = FIELD.receiver(index, 'name');
  const webhooksProblem = problem(FIELD.receiver(index, 'webhooks'));
  return (
    <fieldset className="annotation policy-receiver" data-testid="receiver-form">
      <legend>{t('notifications.editor.receiverN', { n })}</legend>
      <div className="rule-row">
        <Field id={policyDomId(nameField)} label={t('notifications.editor.name')} error={problem(nameField)}>
          {(control) => <input {...control} value={receiver.name} placeholder="team-sre" onChange={(e) => onChange({ name: e.target.value })} />}
        </Field>
        <div className="form-actions">
          <button type="button" className="btn btn-small btn-danger" aria-label={t('notifications.editor.removeReceiverN', { n })} onClick={onRemove}>
            × {t('notifications.editor.removeReceiver')}
          </button>
        </div>
      </div>
      {receiver.webhooks.length === 0 && <p className="muted small">{t('notifications.noWebhooks')}</p>}
      {receiver.webhooks.map((w, j) => {
        const url = FIELD.webhook(index, j, 'url');
        const locale = FIELD.webhook(index, j, 'locale');
        const max = FIELD.webhook(index, j, 'max_alerts');
        return (
          <fieldset key={j} className="webhook-fields">
            <legend>{t('notifications.editor.webhookN', { n: j + 1 })}</legend>
            <div className="rule-row">
              <Field id={policyDomId(url)} label={t('notifications.url')} error={problem(url)} className="grow">
                {(control) => (
                  <input
                    {...control}
                    className="mono"
                    inputMode="url"
                    value={w.url}
                    placeholder="http://alerts.example.internal:9095/hook"
                    onChange={(e) => setWebhook(j, { url: e.target.value })}
                  />
                )}
              </Field>
              <Field id={policyDomId(locale)} label={t('notifications.locale')} error={problem(locale)}>
                {(control) => localeSelect(control, w.locale, (v) => setWebhook(j, { locale: v }), t)}
              </Field>
              <Field id={policyDomId(max)} label={t('notifications.maxAlerts')} hint={t('notifications.editor.maxAlertsHint')} error={problem(max)} className="narrow">
                {(control) => <input {...control} inputMode="numeric" value={w.maxAlerts} placeholder="0" onChange={(e) => setWebhook(j, { maxAlerts: e.target.value })} />}
              </Field>
              <label className="check send-resolved">
                <input type="checkbox" checked={w.sendResolved} onChange={(e) => setWebhook(j, { sendResolved: e.target.checked })} />
                {t('notifications.sendResolved')}
              </label>
              <button
                type="button"
                className="btn btn-small"
                aria-label={t('notifications.editor.removeWebhook', { n: j + 1 })}
                onClick={() => setWebhooks(receiver.webhooks.filter((_, k) => k !== j))}
              >
                ×
              </button>
            </div>
          </fieldset>
        );
      })}
      {webhooksProblem && <p className="field-error">{webhooksProblem}</p>}
      {receiver.webhooks.length < MAX_WEBHOOKS && (
        <div className="row">
          <button type="button" className="btn btn-small" onClick={() => setWebhooks([...receiver.webhooks, newWebhookForm()])}>
            + {t('notifications.editor.addWebhook')}
          </button>
        </div>
      )}
    </fieldset>
  );
}

/** The annotations' language, as the contract has it: "en" (empty reads as English) or "ko". */
function localeSelect(control: ControlProps, locale: string, onChange: (locale: string) => void, t: TFunction) {
  return (
    <select {...control} value={locale === 'ko' ? 'ko' : locale || 'en'} onChange={(e) => onChange(e.target.value)}>
      <option value="en">{t('notifications.english')}</option>
      <option value="ko">{t('notifications.korean')}</option>
    </select>
  );
}

/** The Alertmanagers every alert is forwarded to: each one's base URL and language. */
function AlertmanagerFields({
  alertmanagers,
  problem,
  onChange,
}: {
  alertmanagers: readonly AlertmanagerForm[];
  problem: (field: string) => string | undefined;
  onChange: (alertmanagers: AlertmanagerForm[]) => void;
}) {
  const { t } = useTranslation();
  const set = (i: number, patch: Partial<AlertmanagerForm>) => onChange(alertmanagers.map((a, j) => (j === i ? { ...a, ...patch } : a)));
  const listProblem = problem(FIELD.alertmanagers);
  return (
    <fieldset className="rule-section rule-list" data-testid="alertmanagers-form">
      <legend>{t('notifications.alertmanagers')}</legend>
      <p className="muted small">{t('notifications.alertmanagersHint')}</p>
      {alertmanagers.length === 0 && <p className="muted small">{t('notifications.noAlertmanagers')}</p>}
      {alertmanagers.map((a, i) => {
        const url = FIELD.alertmanager(i, 'url');
        const locale = FIELD.alertmanager(i, 'locale');
        const n = i + 1;
        return (
          <fieldset key={i} className="webhook-fields">
            <legend>{t('notifications.editor.alertmanagerN', { n })}</legend>
            <div className="rule-row">
              <Field id={policyDomId(url)} label={t('notifications.url')} hint={t('notifications.editor.alertmanagerUrlHint')} error={problem(url)} className="grow">
                {(control) => (
                  <input {...control} className="mono" inputMode="url" value={a.url} placeholder="http://alertmanager:9093" onChange={(e) => set(i, { url: e.target.value })} />
                )}
              </Field>
              <Field id={policyDomId(locale)} label={t('notifications.locale')} error={problem(locale)}>
                {(control) => localeSelect(control, a.locale, (v) => set(i, { locale: v }), t)}
              </Field>
              <button
                type="button"
                className="btn btn-small"
                aria-label={t('notifications.editor.removeAlertmanager', { n })}
                onClick={() => onChange(alertmanagers.filter((_, j) => j !== i))}
              >
                ×
              </button>
            </div>
          </fieldset>
        );
      })}
      {listProblem && <p className="field-error">{listProblem}</p>}
      {alertmanagers.length < MAX_ALERTMANAGERS && (
        <div className="row">
          <button type="button" className="btn btn-small" onClick={() => onChange([...alertmanagers, newAlertmanagerForm()])}>
            + {t('notifications.editor.addAlertmanager')}
          </button>
        </div>
      )}
    </fieldset>
  );
}
