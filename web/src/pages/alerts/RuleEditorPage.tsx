// One alert rule, new (`/alerts/rules/new`) or stored (`/alerts/rules/<id>`):
// the form, checked as the alert service checks it, saved with CreateRule
// or UpdateRule (the version read), and a preview of what it would have
// fired over the page's time range (TestRule).
import { ConnectError } from '@connectrpc/connect';
import { useMemo, useRef, useState, type FocusEvent, type FormEvent, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams } from 'react-router';
import { isFormError } from '../../api/errors';
import { isSignalName, SIGNAL_NAMES, type SignalName } from '../../api/filters';
import { useListMetrics, useOperations, useServices } from '../../api/hooks';
import { useCreateRule, useRule, useUpdateRule } from '../../api/alertHooks';
import { hasRole } from '../../api/session';
import { useTimeRange } from '../../app/timeRange';
import { useLinkTo } from '../../app/urlState';
import { useUser } from '../../app/useSession';
import { AttrFilters } from '../../components/AttrFilters';
import { Field, withCurrent } from '../../components/Field';
import { Segmented } from '../../components/Segmented';
import { Empty, Panel, QueryState, RoleNote, SaveError, Skeleton } from '../../components/states';
import type { MetricDescriptor } from '../../gen/airis/analytics/v1/query_pb';
import { resultUnit, validAggregations } from '../metrics/aggregations';
import type { ListState } from './AlertRulesPage';
import { RulePreview } from './RulePreview';
import {
  AGGREGATION_NAMES,
  CONDITION_KINDS,
  DEFAULT_BURN_WINDOWS,
  FIELD,
  fieldIds,
  formToRule,
  MAX_ANNOTATIONS,
  MAX_BURN_WINDOWS,
  MAX_LABELS,
  newRuleForm,
  ruleToForm,
  serverFieldOf,
  SIGNAL_UNIT,
  TEMPLATE_LABEL,
  TEMPLATE_VALUE,
  validateRule,
  withKind,
  withSignal,
  type AnomalyForm,
  type KOfNForm,
  type MetricForm,
  type Problem,
  type RuleForm,
  type SeriesForm,
} from './rules';
import '../pages.css';
import './alerts.css';

export default function RuleEditorPage() {
  const { t } = useTranslation();
  const { id = '' } = useParams();
  const linkTo = useLinkTo();
  const stored = useRule(id);
  return (
    <div className="page">
      <p className="back-link">
        <Link to={linkTo('/alerts/rules')}>← {t('alerts.editor.back')}</Link>
      </p>
      {!id ? (
        <RuleEditor initial={newRuleForm()} />
      ) : (
        <QueryState query={stored} skeleton={<Skeleton rows={10} />}>
          {(d) =>
            d.rule ? (
              // A new version read (after a conflict) starts the form again.
              <RuleEditor key={`${d.rule.id}@${d.rule.version}`} initial={ruleToForm(d.rule)} onReload={() => void stored.refetch()} />
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
const domId = (field: string) => `rule-${field.replace(/[^A-Za-z0-9_-]/g, '-')}`;

/** Problems of lists and groups, shown as soon as they arise (they come from adding rows or typing a filter). */
const ALWAYS_SHOWN = new Set<string>([
  FIELD.labels,
  FIELD.annotations,
  FIELD.windows,
  FIELD.series('threshold', 'metric', 'filters'),
  FIELD.series('absence', 'metric', 'filters'),
  FIELD.anomalyMetric('filters'),
]);

/** What the fields need from the editor: the form, how to change it, and each field's problem in words. */
interface FieldsProps {
  form: RuleForm;
  edit: (next: RuleForm) => void;
  problem: (field: string) => string | undefined;
}

function RuleEditor({ initial, onReload }: { initial: RuleForm; onReload?: () => void }) {
  const { t } = useTranslation();
  const user = useUser();
  const canEdit = hasRole(user, 'editor');
  const navigate = useNavigate();
  const linkTo = useLinkTo();
  const formRef = useRef<HTMLFormElement>(null);
  const [form, setForm] = useState(initial);
  const [attempted, setAttempted] = useState(false);
  const [touched, setTouched] = useState<ReadonlySet<string>>(() => new Set());
  const createRule = useCreateRule();
  const updateRule = useUpdateRule();
  const save = form.id ? updateRule : createRule;
  const isNew = !form.id;

  const problems = useMemo(() => validateRule(form), [form]);
  const previewProblems = useMemo(() => validateRule(form, { nameRequired: false }), [form]);
  const ids = useMemo(() => fieldIds(form), [form]);
  // The service's refusal, next to the field it names (and under the form, whole).
  const refusal = save.isError && isFormError(save.error) ? ConnectError.from(save.error).rawMessage : '';
  const refusedField = refusal ? serverFieldOf(refusal, ids) : null;

  const say = (p: Problem) => t(`alerts.invalid.${p.key}`, p.values ?? {});
  const problem = (field: string): string | undefined => {
    const p = problems[field];
    if (p && (attempted || touched.has(domId(field)) || ALWAYS_SHOWN.has(field))) return say(p);
    if (field === refusedField) return refusal.replace(/^rule\.[^\s:]+:\s*/, '');
    return undefined;
  };

  const edit = (next: RuleForm) => {
    setForm(next);
    // What the service refused was the form before this change.
    if (save.isError) save.reset();
  };

  const focusFirstProblem = () =>
    requestAnimationFrame(() => formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setAttempted(true);
    if (Object.keys(problems).length > 0) {
      focusFirstProblem();
      return;
    }
    save.mutate(formToRule(form, { identity: !isNew }), {
      onSuccess: (res) => {
        const state: ListState = { saved: res.rule?.name ?? form.name.trim() };
        navigate(linkTo('/alerts/rules'), { state });
      },
    });
  };

  const onBlur = (e: FocusEvent<HTMLFormElement>) => {
    const id = e.target.id;
    if (id && !touched.has(id)) setTouched(new Set(touched).add(id));
  };

  const fields: FieldsProps = { form, edit, problem };
  const metricUnit = useMetricUnit(form.series);

  return (
    <>
      <div className="page-header">
        <div>
          <h1>{isNew ? t('alerts.editor.newTitle') : t('alerts.editor.editTitle', { name: initial.name })}</h1>
          <div className="page-sub">{t('alerts.editor.subtitle')}</div>
        </div>
      </div>
      {!canEdit && user && <RoleNote detail={t('alerts.viewerNote', { role: t('roles.editor'), current: t(`roles.${user.role}`) })} />}

      <Panel title={t('alerts.editor.rule')}>
        <form ref={formRef} className="rule-form" onSubmit={submit} onBlur={onBlur} aria-label={t('alerts.editor.rule')} noValidate>
          <div className="rule-row">
            <Field id={domId(FIELD.name)} label={t('alerts.editor.name')} error={problem(FIELD.name)} className="grow">
              {(control) => (
                <input {...control} value={form.name} placeholder={t('alerts.editor.namePlaceholder')} onChange={(e) => edit({ ...form, name: e.target.value })} />
              )}
            </Field>
          </div>

          <div className="rule-section">
            <Segmented
              name="rule-kind"
              legend={t('alerts.editor.kind')}
              value={form.kind}
              onChange={(kind) => edit(withKind(form, kind))}
              options={CONDITION_KINDS.map((k) => ({ value: k, label: t(`alerts.kind.${k}`) }))}
            />
            <p className="muted small kind-hint">{t(`alerts.kindHint.${form.kind}`)}</p>
          </div>

          <fieldset className="rule-section">
            <legend>{t('alerts.editor.condition')}</legend>
            <ConditionFields {...fields} />
          </fieldset>

          <div className="rule-row">
            <Field
              id={domId(FIELD.forMinutes)}
              label={t('alerts.editor.forMinutes')}
              hint={t('alerts.editor.forMinutesHint')}
              error={problem(FIELD.forMinutes)}
              className="narrow"
            >
              {(control) => (
                <input {...control} inputMode="numeric" value={form.forMinutes} onChange={(e) => edit({ ...form, forMinutes: e.target.value })} />
              )}
            </Field>
            <label className="check paused-toggle">
              <input type="checkbox" checked={form.paused} onChange={(e) => edit({ ...form, paused: e.target.checked })} />
              {t('alerts.editor.paused')}
            </label>
            <span className="muted small">{t('alerts.editor.pausedHint')}</span>
          </div>

          <LabelsEditor {...fields} />
          <AnnotationsEditor {...fields} />

          {save.isError && (
            <SaveError
              error={save.error}
              conflict={{ title: t('alerts.editor.conflict'), hint: t('alerts.editor.conflictHint'), reload: t('alerts.editor.reload'), onReload }}
            />
          )}
          <div className="form-actions">
            <Link className="btn" to={linkTo('/alerts/rules')}>
              {t('common.cancel')}
            </Link>
            <button type="submit" className="btn btn-primary" disabled={!canEdit || save.isPending}>
              {isNew ? t('alerts.editor.create') : t('alerts.editor.save')}
            </button>
          </div>
        </form>
      </Panel>

      <RulePreview
        form={form}
        problems={previewProblems}
        metricUnit={metricUnit}
        onShowProblems={() => {
          setAttempted(true);
          focusFirstProblem();
        }}
      />
    </>
  );
}

// === the condition ===

function ConditionFields(p: FieldsProps) {
  switch (p.form.kind) {
    case 'threshold':
      return <ThresholdFields {...p} />;
    case 'anomaly':
      return <AnomalyFields {...p} />;
    case 'absence':
      return <AbsenceFields {...p} />;
    case 'burnRate':
      return <BurnRateFields {...p} />;
  }
}

/** The range the page shows, for the lists of services, operations and metrics to pick from. */
function useRangeOf() {
  const range = useTimeRange();
  return { startMs: range.startMs, endMs: range.endMs };
}

/** The unit of the series' values as the preview shows them: a metric's (per second for a rate), when listed. */
function useMetricUnit(s: SeriesForm): string {
  const metrics = useMetricList(s.source === 'metric');
  const metric = metricNamed(metrics, s.metric);
  return metric ? resultUnit(metric.unit, s.aggregation) : '';
}

/** The metrics seen in the time range (the first page of ListMetrics), asked for only when `enabled`. */
function useMetricList(enabled = true): MetricDescriptor[] {
  const list = useListMetrics(useRangeOf(), '', enabled);
  return useMemo(() => list.data?.pages.flatMap((pg) => pg.metrics) ?? [], [list.data]);
}

function metricNamed(metrics: readonly MetricDescriptor[], name: string): MetricDescriptor | undefined {
  const n = name.trim();
  return n ? metrics.find((m) => m.name === n) : undefined;
}

/** A service to choose (required): the services seen in the time range, and the one chosen even if not. */
function ServiceField({ field, value, onChange, problem }: { field: string; value: string; onChange: (v: string) => void; problem?: string }) {
  const { t } = useTranslation();
  const services = useServices(useRangeOf());
  return (
    <Field id={domId(field)} label={t('filters.service')} error={problem}>
      {(control) => (
        <select {...control} value={value} onChange={(e) => onChange(e.target.value)}>
          <option value="" disabled>
            {t('alerts.editor.chooseService')}
          </option>
          {withCurrent(services.data?.serviceNames ?? [], value).map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/** An operation of the service, typed or picked; empty for the service as a whole. */
function OperationField({ field, service, value, onChange }: { field: string; service: string; value: string; onChange: (v: string) => void }) {
  const { t } = useTranslation();
  const operations = useOperations(useRangeOf(), service);
  const id = domId(field);
  return (
    <Field id={id} label={t('filters.operation')}>
      {(control) => (
        <>
          <input {...control} list={`${id}-list`} value={value} placeholder={t('anomalies.wholeService')} onChange={(e) => onChange(e.target.value)} />
          <datalist id={`${id}-list`}>
            {(service ? (operations.data?.operations ?? []) : []).map((o) => (
              <option key={o.name} value={o.name} />
            ))}
          </datalist>
        </>
      )}
    </Field>
  );
}

/** The series of a threshold or absence condition: a service's RED signal or a metric. */
function SeriesFields({ form, edit, problem, kind }: FieldsProps & { kind: 'threshold' | 'absence' }) {
  const { t } = useTranslation();
  const s = form.series;
  const set = (patch: Partial<SeriesForm>) => edit({ ...form, series: { ...s, ...patch } });
  const id = (part: string) => FIELD.series(kind, s.source, part);
  return (
    <>
      <Segmented
        name={`rule-${kind}-source`}
        legend={t('alerts.editor.source')}
        value={s.source}
        onChange={(source) => set({ source })}
        options={[
          { value: 'red', label: t('alerts.editor.sourceRed') },
          { value: 'metric', label: t('alerts.editor.sourceMetric') },
        ]}
      />
      {s.source === 'red' ? (
        <div className="rule-row">
          <ServiceField field={id('service_name')} value={s.service} onChange={(service) => set({ service, operation: '' })} problem={problem(id('service_name'))} />
          <OperationField field={id('operation')} service={s.service} value={s.operation} onChange={(operation) => set({ operation })} />
          <Field id={domId(id('signal'))} label={t('alerts.editor.signal')}>
            {(control) => (
              <select
                {...control}
                value={s.signal}
                onChange={(e) => isSignalName(e.target.value) && edit(withSignal(form, e.target.value))}
              >
                {SIGNAL_NAMES.map((n) => (
                  <option key={n} value={n}>
                    {t('alerts.editor.signalWithUnit', { signal: t(`red.${n}`), unit: SIGNAL_UNIT[n] })}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
      ) : (
        <MetricFields field={id} value={s} onChange={set} problem={problem} />
      )}
    </>
  );
}

/**
 * A metric series (a threshold's, an absence's or an anomaly condition's):
 * the metric, picked from those seen in the time range or typed, an
 * aggregation its type allows, the quantile, label filters. `field(part)`
 * names each field as the service does.
 */
function MetricFields({
  field,
  value: m,
  onChange,
  problem,
}: {
  field: (part: string) => string;
  value: MetricForm;
  onChange: (patch: Partial<MetricForm>) => void;
  problem: FieldsProps['problem'];
}) {
  const { t } = useTranslation();
  const metrics = useMetricList();
  const metric = metricNamed(metrics, m.metric);
  const aggregations = metric ? validAggregations(metric.type, metric.monotonic) : [...AGGREGATION_NAMES];
  const nameId = domId(field('metric_name'));
  return (
    <div className="rule-row">
      <Field id={nameId} label={t('alerts.editor.metric')} error={problem(field('metric_name'))} className="grow">
        {(control) => (
          <>
            <input
              {...control}
              list={`${nameId}-list`}
              value={m.metric}
              onChange={(e) => {
                const name = e.target.value;
                const info = metricNamed(metrics, name);
                const valid = info ? validAggregations(info.type, info.monotonic) : null;
                // A metric of another type: its first aggregation that applies.
                onChange({ metric: name, aggregation: valid && !valid.includes(m.aggregation) ? (valid[0] ?? m.aggregation) : m.aggregation });
              }}
            />
            <datalist id={`${nameId}-list`}>
              {metrics.map((d) => (
                <option key={d.name} value={d.name} />
              ))}
            </datalist>
          </>
        )}
      </Field>
      <Field
        id={domId(field('aggregation'))}
        label={t('metrics.aggregation')}
        hint={metric?.unit ? t('alerts.editor.unit', { unit: resultUnit(metric.unit, m.aggregation) }) : undefined}
        error={problem(field('aggregation'))}
      >
        {(control) => (
          <select {...control} value={m.aggregation} onChange={(e) => onChange({ aggregation: e.target.value as MetricForm['aggregation'] })}>
            {withCurrent(aggregations, m.aggregation).map((a) => (
              <option key={a} value={a}>
                {t(`metrics.agg.${a}`)}
              </option>
            ))}
          </select>
        )}
      </Field>
      {m.aggregation === 'quantile' && (
        <Field id={domId(field('quantile'))} label={t('metrics.quantile')} error={problem(field('quantile'))} className="narrow">
          {(control) => <input {...control} inputMode="decimal" value={m.quantile} onChange={(e) => onChange({ quantile: e.target.value })} />}
        </Field>
      )}
      <AttrFilters idPrefix={domId(field('filters'))} label={t('metrics.labelFilters')} value={m.filters} onChange={(filters) => onChange({ filters })} />
      {problem(field('filters')) && <p className="field-error form-wide">{problem(field('filters'))}</p>}
    </div>
  );
}

/** At least k of the last n minutes. */
function KOfNFields({ form, edit, problem, kind }: FieldsProps & { kind: 'threshold' | 'anomaly' }) {
  const { t } = useTranslation();
  const field = FIELD.kOfN(kind);
  const error = problem(field);
  const errorId = `${domId(field)}-error`;
  const set = (patch: Partial<KOfNForm>) => edit({ ...form, kOfN: { ...form.kOfN, ...patch } });
  return (
    <div className="rule-row k-of-n">
      <Field id={domId(field)} label={t('alerts.editor.k')} invalid={!!error} describedBy={error ? errorId : undefined} className="narrow">
        {(control) => <input {...control} inputMode="numeric" value={form.kOfN.k} onChange={(e) => set({ k: e.target.value })} />}
      </Field>
      <Field id={`${domId(field)}-n`} label={t('alerts.editor.n')} invalid={!!error} describedBy={error ? errorId : undefined} className="narrow">
        {(control) => <input {...control} inputMode="numeric" value={form.kOfN.n} onChange={(e) => set({ n: e.target.value })} />}
      </Field>
      <span className="muted small">{t('alerts.editor.kOfNHint')}</span>
      {error && (
        <span id={errorId} className="field-error form-wide">
          {error}
        </span>
      )}
    </div>
  );
}

function ThresholdFields(p: FieldsProps) {
  const { t } = useTranslation();
  const { form, edit, problem } = p;
  const s = form.series;
  const metricUnit = useMetricUnit(s);
  const unit = s.source === 'red' ? SIGNAL_UNIT[s.signal] : metricUnit;
  return (
    <>
      <SeriesFields {...p} kind="threshold" />
      <div className="rule-row">
        <Field id={domId(FIELD.comparison)} label={t('alerts.editor.comparison')}>
          {(control) => (
            <select {...control} value={form.comparison} onChange={(e) => edit({ ...form, comparison: e.target.value === 'below' ? 'below' : 'above' })}>
              <option value="above">{t('alerts.comparison.above')}</option>
              <option value="below">{t('alerts.comparison.below')}</option>
            </select>
          )}
        </Field>
        <Field
          id={domId(FIELD.threshold)}
          label={unit ? t('alerts.editor.thresholdIn', { unit }) : t('alerts.editor.threshold')}
          hint={s.source === 'red' && s.signal === 'errorRate' ? t('alerts.editor.errorRateHint') : undefined}
          error={problem(FIELD.threshold)}
          className="narrow"
        >
          {(control) => <input {...control} inputMode="decimal" value={form.threshold} onChange={(e) => edit({ ...form, threshold: e.target.value })} />}
        </Field>
      </div>
      <KOfNFields {...p} kind="threshold" />
    </>
  );
}

function AnomalyFields(p: FieldsProps) {
  const { t } = useTranslation();
  const { form, edit, problem } = p;
  const a = form.anomaly;
  const set = (patch: Partial<AnomalyForm>) => edit({ ...form, anomaly: { ...a, ...patch } });
  const toggle = (s: SignalName, on: boolean) =>
    set({ signals: on ? SIGNAL_NAMES.filter((n) => n === s || a.signals.includes(n)) : a.signals.filter((n) => n !== s) });
  const minScore = (
    <Field id={domId(FIELD.minScore)} label={t('anomalies.minScore')} hint={t('alerts.editor.minScoreHint')} error={problem(FIELD.minScore)} className="narrow">
      {(control) => <input {...control} inputMode="decimal" value={a.minScore} onChange={(e) => set({ minScore: e.target.value })} />}
    </Field>
  );
  return (
    <>
      <Segmented
        name="rule-anomaly-target"
        legend={t('alerts.editor.source')}
        value={a.target}
        onChange={(target) => set({ target })}
        options={[
          { value: 'service', label: t('alerts.editor.sourceRed') },
          { value: 'metric', label: t('alerts.editor.sourceMetric') },
        ]}
      />
      {a.target === 'service' ? (
        <>
          <div className="rule-row">
            <ServiceField field={FIELD.anomalyService} value={a.service} onChange={(service) => set({ service, operation: '' })} problem={problem(FIELD.anomalyService)} />
            <OperationField field={FIELD.anomalyOperation} service={a.service} value={a.operation} onChange={(operation) => set({ operation })} />
            {minScore}
          </div>
          <fieldset className="signal-checks">
            <legend>{t('anomalies.signals')}</legend>
            {SIGNAL_NAMES.map((s) => (
              <label key={s} className="check">
                <input type="checkbox" checked={a.signals.includes(s)} onChange={(e) => toggle(s, e.target.checked)} />
                {t(`red.${s}`)}
              </label>
            ))}
            <span className="muted small">{t('alerts.editor.signalsHint')}</span>
          </fieldset>
        </>
      ) : (
        <>
          <MetricFields field={FIELD.anomalyMetric} value={a.metric} onChange={(patch) => set({ metric: { ...a.metric, ...patch } })} problem={problem} />
          <div className="rule-row">
            {minScore}
            <span className="muted small">{t('alerts.editor.metricWatchHint')}</span>
          </div>
        </>
      )}
      <KOfNFields {...p} kind="anomaly" />
    </>
  );
}

function AbsenceFields(p: FieldsProps) {
  const { t } = useTranslation();
  const { form, edit, problem } = p;
  return (
    <>
      <SeriesFields {...p} kind="absence" />
      <div className="rule-row">
        <Field
          id={domId(FIELD.absenceMinutes)}
          label={t('alerts.editor.absenceMinutes')}
          hint={t('alerts.editor.absenceHint')}
          error={problem(FIELD.absenceMinutes)}
          className="narrow"
        >
          {(control) => <input {...control} inputMode="numeric" value={form.absenceMinutes} onChange={(e) => edit({ ...form, absenceMinutes: e.target.value })} />}
        </Field>
      </div>
    </>
  );
}

function BurnRateFields({ form, edit, problem }: FieldsProps) {
  const { t } = useTranslation();
  const b = form.burnRate;
  const set = (patch: Partial<RuleForm['burnRate']>) => edit({ ...form, burnRate: { ...b, ...patch } });
  const setWindow = (i: number, patch: Partial<RuleForm['burnRate']['windows'][number]>) =>
    set({ windows: b.windows.map((w, j) => (j === i ? { ...w, ...patch } : w)) });
  const defaults = DEFAULT_BURN_WINDOWS.map((w) => ({ long: String(w.long), short: String(w.short), factor: String(w.factor) }));
  return (
    <>
      <div className="rule-row">
        <ServiceField field={FIELD.burnService} value={b.service} onChange={(service) => set({ service, operation: '' })} problem={problem(FIELD.burnService)} />
        <OperationField field={FIELD.burnOperation} service={b.service} value={b.operation} onChange={(operation) => set({ operation })} />
        <Field id={domId(FIELD.objective)} label={t('alerts.editor.objective')} hint={t('alerts.editor.objectiveHint')} error={problem(FIELD.objective)} className="narrow">
          {(control) => <input {...control} inputMode="decimal" value={b.objective} onChange={(e) => set({ objective: e.target.value })} />}
        </Field>
      </div>
      <fieldset className="rule-list">
        <legend>{t('alerts.editor.windows')}</legend>
        {b.windows.length === 0 ? (
          <div className="row">
            <span className="muted small">{t('alerts.editor.defaultWindows')}</span>
            <button type="button" className="btn btn-small" onClick={() => set({ windows: defaults })}>
              {t('alerts.editor.customWindows')}
            </button>
          </div>
        ) : (
          <>
            {b.windows.map((w, i) => (
              <div className="rule-row" key={i}>
                <Field id={domId(FIELD.window(i, 'long_minutes'))} label={t('alerts.editor.longWindow', { n: i + 1 })} error={problem(FIELD.window(i, 'long_minutes'))} className="narrow">
                  {(control) => <input {...control} inputMode="numeric" value={w.long} onChange={(e) => setWindow(i, { long: e.target.value })} />}
                </Field>
                <Field id={domId(FIELD.window(i, 'short_minutes'))} label={t('alerts.editor.shortWindow', { n: i + 1 })} error={problem(FIELD.window(i, 'short_minutes'))} className="narrow">
                  {(control) => <input {...control} inputMode="numeric" value={w.short} onChange={(e) => setWindow(i, { short: e.target.value })} />}
                </Field>
                <Field id={domId(FIELD.window(i, 'factor'))} label={t('alerts.editor.factor', { n: i + 1 })} error={problem(FIELD.window(i, 'factor'))} className="narrow">
                  {(control) => <input {...control} inputMode="decimal" value={w.factor} onChange={(e) => setWindow(i, { factor: e.target.value })} />}
                </Field>
                <button
                  type="button"
                  className="btn btn-small"
                  aria-label={t('alerts.editor.removeWindow', { n: i + 1 })}
                  onClick={() => set({ windows: b.windows.filter((_, j) => j !== i) })}
                >
                  ×
                </button>
              </div>
            ))}
            <div className="row">
              {b.windows.length < MAX_BURN_WINDOWS && (
                <button type="button" className="btn btn-small" onClick={() => set({ windows: [...b.windows, { long: '', short: '', factor: '' }] })}>
                  + {t('alerts.editor.addWindow')}
                </button>
              )}
              <button type="button" className="btn btn-small" onClick={() => set({ windows: [] })}>
                {t('alerts.editor.useDefaultWindows')}
              </button>
            </div>
          </>
        )}
        {problem(FIELD.windows) && <p className="field-error">{problem(FIELD.windows)}</p>}
      </fieldset>
    </>
  );
}

// === labels and annotations ===

/** An input of a list's row, named by aria-label, its problem under it. */
function RowInput({
  field,
  label,
  value,
  onChange,
  problem,
  className,
}: {
  field: string;
  label: string;
  value: string;
  onChange: (v: string) => void;
  problem?: string;
  className?: string;
}) {
  const id = domId(field);
  return (
    <span className={`row-input ${className ?? ''}`}>
      <input
        id={id}
        aria-label={label}
        value={value}
        aria-invalid={problem ? true : undefined}
        aria-describedby={problem ? `${id}-error` : undefined}
        onChange={(e) => onChange(e.target.value)}
      />
      {problem && (
        <span id={`${id}-error`} className="field-error">
          {problem}
        </span>
      )}
    </span>
  );
}

function ListProblem({ text }: { text: ReactNode }) {
  return text ? <p className="field-error">{text}</p> : null;
}

function LabelsEditor({ form, edit, problem }: FieldsProps) {
  const { t } = useTranslation();
  const set = (labels: RuleForm['labels']) => edit({ ...form, labels });
  return (
    <fieldset className="rule-section rule-list">
      <legend>{t('alerts.editor.labels')}</legend>
      <p className="muted small">{t('alerts.editor.labelsHint')}</p>
      {form.labels.map((l, i) => (
        <div className="row label-row" key={i}>
          <RowInput
            field={FIELD.label(i, 'name')}
            label={t('alerts.editor.labelName', { n: i + 1 })}
            value={l.name}
            problem={problem(FIELD.label(i, 'name'))}
            onChange={(name) => set(form.labels.map((x, j) => (j === i ? { ...x, name } : x)))}
          />
          <span aria-hidden="true">=</span>
          <RowInput
            field={FIELD.label(i, 'value')}
            label={t('alerts.editor.labelValue', { n: i + 1 })}
            value={l.value}
            problem={problem(FIELD.label(i, 'value'))}
            onChange={(value) => set(form.labels.map((x, j) => (j === i ? { ...x, value } : x)))}
            className="grow"
          />
          <button
            type="button"
            className="btn btn-small"
            aria-label={t('alerts.editor.removeLabel', { n: i + 1 })}
            onClick={() => set(form.labels.filter((_, j) => j !== i))}
          >
            ×
          </button>
        </div>
      ))}
      <ListProblem text={problem(FIELD.labels)} />
      {form.labels.length < MAX_LABELS && (
        <div className="row">
          <button type="button" className="btn btn-small" onClick={() => set([...form.labels, { name: '', value: '' }])}>
            + {t('alerts.editor.addLabel')}
          </button>
        </div>
      )}
    </fieldset>
  );
}

function AnnotationsEditor({ form, edit, problem }: FieldsProps) {
  const { t } = useTranslation();
  const set = (annotations: RuleForm['annotations']) => edit({ ...form, annotations });
  const change = (i: number, patch: Partial<RuleForm['annotations'][number]>) =>
    set(form.annotations.map((a, j) => (j === i ? { ...a, ...patch } : a)));
  return (
    <fieldset className="rule-section rule-list">
      <legend>{t('alerts.editor.annotations')}</legend>
      <p className="muted small">{t('alerts.editor.annotationsHint', { value: TEMPLATE_VALUE, label: TEMPLATE_LABEL })}</p>
      {form.annotations.map((a, i) => (
        <fieldset className="annotation" key={i}>
          <legend className="sr-only">{t('alerts.editor.annotationN', { n: i + 1 })}</legend>
          <div className="rule-row">
            <Field id={domId(FIELD.annotation(i, 'name'))} label={t('alerts.editor.annotationName')} error={problem(FIELD.annotation(i, 'name'))}>
              {(control) => <input {...control} className="mono" value={a.name} placeholder="summary" onChange={(e) => change(i, { name: e.target.value })} />}
            </Field>
            <div className="form-actions">
              <button
                type="button"
                className="btn btn-small"
                aria-label={t('alerts.editor.removeAnnotation', { n: i + 1 })}
                onClick={() => set(form.annotations.filter((_, j) => j !== i))}
              >
                × {t('alerts.editor.remove')}
              </button>
            </div>
          </div>
          <div className="annotation-texts">
            <Field id={domId(FIELD.annotation(i, 'en'))} label={t('alerts.editor.english')} error={problem(FIELD.annotation(i, 'en'))}>
              {(control) => <textarea {...control} lang="en" rows={2} value={a.en} onChange={(e) => change(i, { en: e.target.value })} />}
            </Field>
            <Field
              id={domId(FIELD.annotation(i, 'ko'))}
              label={t('alerts.editor.korean')}
              hint={t('alerts.editor.koreanHint')}
              error={problem(FIELD.annotation(i, 'ko'))}
            >
              {(control) => <textarea {...control} lang="ko" rows={2} value={a.ko} onChange={(e) => change(i, { ko: e.target.value })} />}
            </Field>
          </div>
        </fieldset>
      ))}
      <ListProblem text={problem(FIELD.annotations)} />
      {form.annotations.length < MAX_ANNOTATIONS && (
        <div className="row">
          <button type="button" className="btn btn-small" onClick={() => set([...form.annotations, { name: '', en: '', ko: '' }])}>
            + {t('alerts.editor.addAnnotation')}
          </button>
        </div>
      )}
    </fieldset>
  );
}

