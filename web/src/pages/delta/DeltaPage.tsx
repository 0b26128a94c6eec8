// Canary analysis (DeltaService.Compare): two cohorts of spans (a service,
// a version, a time range each) picked in a form whose state is the URL, or
// from a change found in the telemetry (ListChanges: its comparison's
// cohorts, each with its own time range);
// the verdict with its reasons in the page's language, both cohorts'
// summaries, every operation compared, and the selected one's latency
// distributions side by side and error rates with their intervals; how the
// operations' spans divide among attribute values (status codes, routes,
// peers, error and exception types) in both cohorts; both cohorts' log
// templates. A reason about a template or an attribute scrolls to its row.
import type { TFunction } from 'i18next';
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { isFormError } from '../../api/errors';
import { severityOf } from '../../api/filters';
import { useCompare } from '../../api/deltaHooks';
import { useQueryMetrics, useServices } from '../../api/hooks';
import { useTimeRange } from '../../app/timeRange';
import { applyPatch, useDraft, useLinkTo, useUrlState } from '../../app/urlState';
import { Chart } from '../../components/Chart';
import { Field, FormSubmit, withCurrent } from '../../components/Field';
import { Icon } from '../../components/Icon';
import { SortHeader, useSortState } from '../../components/SortHeader';
import { Empty, FormError, Panel, QueryState, Skeleton } from '../../components/states';
import {
  ProportionTest,
  Signal,
  type AttributeDelta,
  type CohortSummary,
  type CompareResponse,
  type OperationDelta,
  type Rate,
  type Reason,
  type TemplateDelta,
  type Test,
} from '../../gen/airis/delta/v1/delta_pb';
import { PALETTE } from '../../lib/colors';
import { formatCount, formatDurationMs, formatDurationNanos, formatInterval, formatPercent, formatRangeEnds, formatRate } from '../../lib/format';
import {
  ATTRIBUTE_STATUS_GLYPH,
  attributeIndex,
  attributeKey,
  attributeRowId,
  attributeStatus,
  cohortRanges,
  compareParams,
  deltaPatch,
  formatChange,
  formatChiSquare,
  formatPoints,
  formatRate as formatErrorRate,
  formatShare,
  formPartOf,
  histogramColumns,
  isComplete,
  isErrorSeverity,
  isSortKey,
  orderAttributes,
  orderOperations,
  orderTemplates,
  otherAttribute,
  ownWindow,
  parseOptions,
  readDelta,
  ROW_OPERATION,
  ROW_SERVICE,
  rowKey,
  severityName,
  shareWidth,
  SIDES,
  TEMPLATE_CHANGE_GLYPH,
  templateChangeName,
  templateChangeTone,
  templateIndex,
  templateParts,
  templateRowId,
  valueName,
  VALUES_SHOWN,
  verdictName,
  versionsByService,
  type CohortInput,
  type DeltaInput,
  type FormPart,
  type OptionName,
  type Side,
  type Window,
} from './delta';
import type { ChangesParams, CohortPair } from './changes';
import { ChangesPanel } from './ChangesPanel';
import { VerdictBadge } from './VerdictBadge';
import '../pages.css';
import './delta.css';

const COLORS: Record<Side, string> = { baseline: PALETTE[0]!, candidate: PALETTE[2]! };
const FORM_ERROR_ID = 'delta-form-error';

export default function DeltaPage() {
  const { t } = useTranslation();
  const range = useTimeRange();
  const [params, update] = useUrlState();

  const applied = readDelta(params);
  // The form edits a draft; Compare writes it to the URL.
  const [draft, setDraft] = useDraft({ ...applied, page: '' });
  const [submitted, setSubmitted] = useState(false);
  const draftOptions = parseOptions(draft);

  const appliedKey = JSON.stringify(applied);
  const request = useMemo(
    () => compareParams(JSON.parse(appliedKey) as DeltaInput, { startMs: range.startMs, endMs: range.endMs }),
    [appliedKey, range.startMs, range.endMs],
  );
  const compare = useCompare(request);
  const services = useServices(range);
  // The versions each service runs, as the Services page lists them.
  const versionMetrics = useQueryMetrics({
    startMs: range.startMs,
    endMs: range.endMs,
    metric: 'http.server.request.count',
    aggregation: 'rate',
    groupBy: ['service.name', 'service.version'],
  });
  const versions = useMemo(() => versionsByService(versionMetrics.data), [versionMetrics.data]);
  const windows = cohortRanges(range, draft);

  // The changes over the page's time range, compared with the options applied (the service's defaults while one is out of range).
  const appliedOptions = parseOptions(applied);
  const changesParams: ChangesParams = {
    startMs: range.startMs,
    endMs: range.endMs,
    latencyIncrease: appliedOptions.latencyIncrease,
    errorRateIncrease: appliedOptions.errorRateIncrease,
    minSamples: appliedOptions.minSamples,
    alpha: appliedOptions.alpha,
  };
  // A change chosen: its comparison's cohorts become the page's (the options kept); once compared, the verdict is scrolled to.
  const [chosen, setChosen] = useState<string | null>(null);
  const choose = (cohorts: CohortPair) => {
    const patch = deltaPatch({ ...applied, ...cohorts, previous: false });
    setSubmitted(false);
    setChosen(JSON.stringify(readDelta(applyPatch(params, patch))));
    update(patch);
  };
  const answered = chosen !== null && chosen === appliedKey && !compare.isFetching;
  useEffect(() => {
    if (!answered) return;
    if (compare.isSuccess) document.getElementById('delta-result')?.scrollIntoView({ block: 'start' });
    setChosen(null);
  }, [answered, compare.isSuccess]);

  const formError = compare.isError && isFormError(compare.error);
  const refused: FormPart | null = formError ? formPartOf(errorMessage(compare.error)) : null;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSubmitted(true);
    if (!isComplete(draft) || draftOptions.invalid.length) return;
    // Compare again with the URL unchanged: a relative range moves to now, an absolute one is asked again.
    if (JSON.stringify(deltaPatch(draft)) === JSON.stringify(deltaPatch(applied))) {
      if (range.relative) range.reload();
      else void compare.refetch();
    }
    update(deltaPatch(draft));
  };

  const optionError = (name: OptionName) => (draftOptions.invalid.includes(name) ? t(`delta.invalid.${name}`) : undefined);
  const setCohort = (side: Side, c: CohortInput) => setDraft({ ...draft, [side]: c });

  return (
    <div className="page">
      <div className="page-header">
        <div>
          <h1>{t('delta.title')}</h1>
          <div className="page-sub">{t('delta.subtitle')}</div>
        </div>
      </div>

      <ChangesPanel params={changesParams} shown={applied} onChoose={choose} />

      <Panel>
        <form className="delta-form" onSubmit={submit} aria-label={t('delta.form')} noValidate>
          <div className="delta-cohorts">
            {SIDES.map((side) => (
              <CohortFields
                key={side}
                side={side}
                value={draft[side]}
                onChange={(c) => setCohort(side, c)}
                services={services.data?.serviceNames ?? []}
                versions={otherAttribute(draft[side]) ? [] : (versions.get(draft[side].service) ?? [])}
                window={windows[side]}
                missing={submitted && !draft[side].service.trim()}
                refused={refused === side ? 'service' : refused === `${side}.label` ? 'label' : null}
              />
            ))}
          </div>
          <div className="search-form delta-options">
            <Field id="delta-window" label={t('delta.baselineWindow')} hint={t('delta.baselineWindowHint')} className="grow">
              {(control) => (
                <select
                  {...control}
                  value={draft.previous ? 'previous' : 'same'}
                  onChange={(e) => setDraft({ ...draft, previous: e.target.value === 'previous' })}
                >
                  <option value="same">{t('delta.windowSame')}</option>
                  <option value="previous">{t('delta.windowPrevious')}</option>
                </select>
              )}
            </Field>
            <OptionField name="latency" draft={draft} setDraft={setDraft} error={optionError('latency')} refused={refused === 'latency'} />
            <OptionField name="errors" draft={draft} setDraft={setDraft} error={optionError('errors')} refused={refused === 'errors'} />
            <OptionField name="minSamples" draft={draft} setDraft={setDraft} error={optionError('minSamples')} refused={refused === 'minSamples'} />
            <details className="delta-advanced" open={!!applied.alpha || refused === 'alpha' || !!optionError('alpha') || undefined}>
              <summary>{t('delta.advanced')}</summary>
              <OptionField name="alpha" draft={draft} setDraft={setDraft} error={optionError('alpha')} refused={refused === 'alpha'} />
            </details>
            <FormSubmit label={t('delta.compare')} />
          </div>
        </form>
        {formError && (
          <div id={FORM_ERROR_ID}>
            <FormError error={compare.error} />
          </div>
        )}
      </Panel>

      {request === null ? (
        <Panel>
          {isComplete(applied) ? (
            <Empty title={t('delta.fixOptionsTitle')} hint={t('delta.fixOptionsHint')} />
          ) : (
            <Empty title={t('delta.startTitle')} hint={t('delta.startHint')} />
          )}
        </Panel>
      ) : (
        <QueryState query={compare} skeleton={<Panel><Skeleton rows={8} /></Panel>} hideError={formError}>
          {(answer) => <Result answer={answer} cohorts={applied} windows={cohortRanges(range, applied)} />}
        </QueryState>
      )}
    </div>
  );
}

/** The server's own message of a failed call (it names the field). */
function errorMessage(error: unknown): string {
  return error && typeof error === 'object' && 'rawMessage' in error ? String((error as { rawMessage: unknown }).rawMessage) : '';
}

/** One cohort's service, version and label, with the time range it covers. */
function CohortFields({
  side,
  value,
  onChange,
  services,
  versions,
  window,
  missing,
  refused,
}: {
  side: Side;
  value: CohortInput;
  onChange: (c: CohortInput) => void;
  services: readonly string[];
  versions: readonly string[];
  window: Window;
  missing: boolean;
  /** The field a refusal names (the cohort's selector shows on its service). */
  refused: 'service' | 'label' | null;
}) {
  const { t } = useTranslation();
  const id = `delta-${side}`;
  const [from, to] = formatRangeEnds(window.startMs, window.endMs);
  // A change's comparison may select by another resource attribute than service.version.
  const attribute = otherAttribute(value);
  return (
    <fieldset className={`delta-cohort delta-cohort-${side}`}>
      <legend>
        <span className="swatch" style={{ background: COLORS[side] }} aria-hidden="true" />
        {t(`delta.${side}`)}
      </legend>
      <Field
        id={`${id}-service`}
        label={t('filters.service')}
        error={missing ? t('delta.serviceRequired') : undefined}
        invalid={refused === 'service'}
        describedBy={refused === 'service' ? FORM_ERROR_ID : undefined}
      >
        {(control) => (
          <select {...control} value={value.service} onChange={(e) => onChange({ ...value, service: e.target.value })}>
            <option value="">{t('delta.chooseService')}</option>
            {withCurrent(services, value.service).map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field
        id={`${id}-version`}
        label={attribute ? t('delta.attributeValue', { key: attribute }) : t('delta.version')}
        hint={attribute ? t('delta.attributeValueHint') : t('delta.versionHint')}
      >
        {(control) => (
          <>
            <input
              {...control}
              list={`${id}-versions`}
              value={value.version}
              placeholder={t('delta.anyVersion')}
              onChange={(e) => onChange({ ...value, version: e.target.value })}
            />
            <datalist id={`${id}-versions`}>
              {versions.map((v) => (
                <option key={v} value={v} />
              ))}
            </datalist>
          </>
        )}
      </Field>
      <Field
        id={`${id}-label`}
        label={t('delta.label')}
        hint={t('delta.labelHint')}
        invalid={refused === 'label'}
        describedBy={refused === 'label' ? FORM_ERROR_ID : undefined}
      >
        {(control) => (
          <input {...control} value={value.label} maxLength={64} placeholder={t(`delta.${side}`)} onChange={(e) => onChange({ ...value, label: e.target.value })} />
        )}
      </Field>
      {ownWindow(value) ? (
        <p className="delta-window muted small">
          {t('delta.coversOwn', { from, to })}{' '}
          <button type="button" className="btn-link" onClick={() => onChange({ ...value, from: '', to: '' })}>
            {t('delta.usePageRange')}
          </button>
        </p>
      ) : (
        <p className="delta-window muted small">{t('delta.covers', { from, to })}</p>
      )}
    </fieldset>
  );
}

/** A numeric option as typed; empty: the service's default (named in the placeholder). */
function OptionField({
  name,
  draft,
  setDraft,
  error,
  refused,
}: {
  name: OptionName;
  draft: DeltaInput & { page: string };
  setDraft: (d: DeltaInput & { page: string }) => void;
  error?: string;
  refused: boolean;
}) {
  const { t } = useTranslation();
  return (
    <Field
      id={`delta-${name}`}
      label={t(`delta.option.${name}`)}
      hint={t(`delta.optionHint.${name}`)}
      error={error}
      invalid={refused}
      describedBy={refused ? FORM_ERROR_ID : undefined}
      className="delta-option"
    >
      {(control) => (
        <input
          {...control}
          type="text"
          inputMode="decimal"
          value={draft[name]}
          placeholder={t(`delta.optionDefault.${name}`)}
          onChange={(e) => setDraft({ ...draft, [name]: e.target.value })}
        />
      )}
    </Field>
  );
}

function signalLabel(t: TFunction, s: Signal): string | null {
  switch (s) {
    case Signal.LATENCY:
      return t('delta.signal.latency');
    case Signal.ERRORS:
      return t('delta.signal.errors');
    case Signal.THROUGHPUT:
      return t('delta.signal.throughput');
    case Signal.LOGS:
      return t('delta.signal.logs');
    case Signal.ATTRIBUTES:
      return t('delta.signal.attributes');
    case Signal.UNSPECIFIED:
      // About the cohorts as a whole.
      return null;
    default:
      return t('delta.signal.other');
  }
}

function Result({ answer, cohorts, windows }: { answer: CompareResponse; cohorts: Record<Side, CohortInput>; windows: Record<Side, Window> }) {
  const { t, i18n } = useTranslation();
  const ko = i18n.language.startsWith('ko');
  const verdict = verdictName(answer.verdict);
  // The label given, else the side's name in the page's language (the service's default is English).
  const label = (side: Side) => cohorts[side].label.trim() || t(`delta.${side}`);
  const o = answer.options;
  const templates = useMemo(() => orderTemplates(answer.templates), [answer.templates]);
  // A reason's template asked for: its row scrolled to, opened and highlighted (seq: asked again).
  const [focus, setFocus] = useState<TemplateFocus | null>(null);
  const showTemplate = (template: string) => setFocus((f) => ({ template, seq: (f?.seq ?? 0) + 1 }));
  const attributes = useMemo(() => orderAttributes(answer.attributes), [answer.attributes]);
  // Likewise a reason's attribute row.
  const [attributeFocus, setAttributeFocus] = useState<AttributeFocus | null>(null);
  const showAttribute = (reason: Reason) =>
    setAttributeFocus((f) => ({ index: attributeIndex(attributes, reason), seq: (f?.seq ?? 0) + 1 }));
  return (
    <>
      <Panel title={t('delta.result')} id="delta-result">
        <div className="delta-verdict-row">
          <VerdictBadge verdict={verdict} large />
          <div className="delta-verdict-text">
            <p className="delta-verdict-meaning">{t(`delta.verdictMeaning.${verdict}`)}</p>
            {verdict === 'inconclusive' && <p className="delta-todo">{t('delta.inconclusiveTodo')}</p>}
            <p className="muted small">
              {t('delta.score', { score: formatCount(Math.round(answer.score)) })} · {t('delta.tests', { count: answer.tests, n: formatCount(answer.tests) })}
              {o &&
                ` · ${t('delta.applied', {
                  latency: formatPercent(o.latencyIncrease),
                  errors: formatPoints(o.errorRateIncrease),
                  min: formatCount(o.minSamples),
                  alpha: o.alpha,
                })}`}
            </p>
          </div>
        </div>
        <h3 className="delta-subhead">{t('delta.reasons')}</h3>
        {answer.reasons.length === 0 ? (
          <p className="muted">{t('delta.noReasons')}</p>
        ) : (
          <ul className="delta-reasons">
            {answer.reasons.map((r, i) => (
              <ReasonItem
                key={i}
                reason={r}
                ko={ko}
                onShowTemplate={templateIndex(templates, r.template) >= 0 ? () => showTemplate(r.template) : undefined}
                onShowAttribute={attributeIndex(attributes, r) >= 0 ? () => showAttribute(r) : undefined}
              />
            ))}
          </ul>
        )}
      </Panel>

      <div className="grid-2">
        {SIDES.map((side) => (
          <CohortCard key={side} side={side} summary={answer[side]} cohort={cohorts[side]} window={windows[side]} />
        ))}
      </div>

      <Operations answer={answer} label={label} />

      <Attributes attributes={attributes} label={label} focus={attributeFocus} />

      <Templates templates={templates} label={label} focus={focus} />
    </>
  );
}

function ReasonItem({
  reason,
  ko,
  onShowTemplate,
  onShowAttribute,
}: {
  reason: Reason;
  ko: boolean;
  onShowTemplate?: () => void;
  onShowAttribute?: () => void;
}) {
  const { t } = useTranslation();
  const severity = severityName(reason.severity);
  const badge = severity === 'fail' ? 'badge-error' : severity === 'inconclusive' ? 'badge-warn' : '';
  const signal = signalLabel(t, reason.signal);
  return (
    <li data-testid="reason">
      <span className={`badge ${badge}`}>{t(`delta.severity.${severity}`)}</span>
      {signal && <span className="badge">{signal}</span>}
      <span className="delta-reason-text">
        {(ko ? reason.ko : reason.en) || reason.en || reason.ko}
        {onShowTemplate && (
          <>
            {' '}
            <button type="button" className="btn-link delta-reason-link" onClick={onShowTemplate}>
              {t('delta.showTemplate')}
            </button>
          </>
        )}
        {onShowAttribute && (
          <>
            {' '}
            <button type="button" className="btn-link delta-reason-link" onClick={onShowAttribute}>
              {t('delta.showAttribute')}
            </button>
          </>
        )}
      </span>
    </li>
  );
}

function CohortCard({ side, summary, cohort, window }: { side: Side; summary: CohortSummary | undefined; cohort: CohortInput; window: Window }) {
  const { t } = useTranslation();
  const [from, to] = formatRangeEnds(window.startMs, window.endMs);
  const spans = summary?.spans ?? 0n;
  const errors = summary?.errors ?? 0n;
  const seconds = summary?.seconds ?? 0;
  return (
    <section className="panel delta-cohort-card" aria-labelledby={`delta-card-${side}`} data-testid={`cohort-${side}`}>
      <header className="panel-header">
        <h2 className="panel-title" id={`delta-card-${side}`}>
          <span className="swatch" style={{ background: COLORS[side] }} aria-hidden="true" />
          {t(`delta.${side}`)}
          {cohort.label.trim() && `: ${cohort.label.trim()}`}
        </h2>
      </header>
      <div className="panel-body">
        <dl className="kv delta-kv">
          <dt>{t('filters.service')}</dt>
          <dd>{cohort.service}</dd>
          <dt>{(cohort.version.trim() && otherAttribute(cohort)) || t('delta.version')}</dt>
          <dd>{cohort.version.trim() || t('delta.anyVersion')}</dd>
          <dt>{t('delta.timeRange')}</dt>
          <dd>
            {from} – {to}
          </dd>
          <dt>{t('delta.spans')}</dt>
          <dd>{formatCount(spans)}</dd>
          <dt>{t('delta.errors')}</dt>
          <dd>
            {formatCount(errors)}
            {spans > 0n && ` (${formatPercent(Number(errors) / Number(spans))})`}
          </dd>
          <dt>{t('delta.seconds')}</dt>
          <dd>
            {formatInterval(seconds * 1000)}
            {seconds > 0 && ` (${formatRate(Number(spans) / seconds)})`}
          </dd>
          <dt>{t('delta.logRecords')}</dt>
          <dd data-testid={`cohort-${side}-logs`}>{formatCount(summary?.logs ?? 0n)}</dd>
        </dl>
      </div>
    </section>
  );
}

/** An operation's name: the service as a whole when it has none. */
function OperationName({ op }: { op: Pick<OperationDelta, 'operation'> }) {
  const { t } = useTranslation();
  return op.operation ? <>{op.operation}</> : <em className="muted">{t('delta.wholeService')}</em>;
}

function significance(t: TFunction, op: OperationDelta): string {
  const found: string[] = [];
  const mark = (test: Test | undefined, what: string) => {
    if (test?.significant) found.push(what);
  };
  mark(op.latency?.mannWhitney, t('delta.signal.latency'));
  mark(op.latency?.kolmogorovSmirnov, t('delta.shape'));
  mark(op.errors?.test, t('delta.signal.errors'));
  return found.join(', ');
}

function Operations({ answer, label }: { answer: CompareResponse; label: (s: Side) => string }) {
  const { t } = useTranslation();
  const [params, update] = useUrlState();
  const [sortParam, dir, setSort] = useSortState('verdict');
  const sortKey = isSortKey(sortParam) ? sortParam : 'verdict';
  const rows = useMemo(() => orderOperations(answer.operations, sortKey, dir), [answer.operations, sortKey, dir]);
  const selectedService = params.get(ROW_SERVICE);
  const selectedKey = selectedService === null ? null : rowKey({ serviceName: selectedService, operation: params.get(ROW_OPERATION) ?? '' });
  const selected = answer.operations.find((op) => rowKey(op) === selectedKey);
  const sortProps = { current: sortKey, dir, onSort: setSort };
  return (
    <>
      <Panel title={t('delta.operations')} id="delta-operations">
        {answer.operations.length === 0 ? (
          <Empty title={t('delta.noOperationsTitle')} hint={t('delta.noOperationsHint')} />
        ) : (
          <>
            <p className="muted small">{t('delta.operationsHint')}</p>
            <div className="table-wrap">
              <table className="data delta-table">
                <caption className="sr-only">{t('delta.operations')}</caption>
                <thead>
                  <tr>
                    <SortHeader k="name" {...sortProps}>
                      {t('delta.serviceOperation')}
                    </SortHeader>
                    <SortHeader k="verdict" {...sortProps}>
                      {t('delta.verdictColumn')}
                    </SortHeader>
                    <th scope="col" className="num">
                      {t('delta.quantiles')}
                    </th>
                    <SortHeader k="shift" numeric {...sortProps}>
                      {t('delta.typicalChange')}
                    </SortHeader>
                    <SortHeader k="p99" numeric {...sortProps}>
                      {t('delta.p99Change')}
                    </SortHeader>
                    <SortHeader k="errors" numeric {...sortProps}>
                      {t('delta.errorRates')}
                    </SortHeader>
                    <th scope="col">{t('delta.significant')}</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((op) => (
                    <OperationRow
                      key={rowKey(op)}
                      op={op}
                      selected={rowKey(op) === selectedKey}
                      onSelect={(on) =>
                        update({ [ROW_SERVICE]: on ? op.serviceName : null, [ROW_OPERATION]: on ? op.operation || null : null }, { replace: true })
                      }
                    />
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )}
      </Panel>
      {selected && <OperationDetail op={selected} label={label} />}
    </>
  );
}

/** "12.3 ms → 14.1 ms": baseline then candidate. */
function Pair({ b, c }: { b: string; c: string }) {
  const { t } = useTranslation();
  return (
    <span className="delta-pair">
      {b}
      <span aria-hidden="true"> → </span>
      <span className="sr-only"> {t('delta.then')} </span>
      {c}
    </span>
  );
}

function ChangeCell({ change }: { change: ReturnType<typeof formatChange> }) {
  if (!change) return <span className="muted">–</span>;
  return (
    <>
      <div>{change.estimate}</div>
      <div className="muted small">{change.interval}</div>
    </>
  );
}

function OperationRow({ op, selected, onSelect }: { op: OperationDelta; selected: boolean; onSelect: (on: boolean) => void }) {
  const { t } = useTranslation();
  const l = op.latency;
  const e = op.errors;
  const dur = (v: bigint | undefined) => (v === undefined ? '–' : formatDurationNanos(v));
  const eb = formatErrorRate(e?.baseline);
  const ec = formatErrorRate(e?.candidate);
  const sig = significance(t, op);
  return (
    <tr data-testid="operation-row" className={selected ? 'selected' : undefined}>
      <td>
        <button
          type="button"
          className="btn-link delta-op"
          aria-pressed={selected}
          onClick={() => onSelect(!selected)}
          aria-label={t('delta.showOperation', { service: op.serviceName, operation: op.operation || t('delta.wholeService') })}
        >
          <span className="delta-op-service">{op.serviceName}</span>
          <span className="sr-only"> </span>
          <span className="delta-op-name">
            <OperationName op={op} />
          </span>
        </button>
      </td>
      <td>
        <VerdictBadge verdict={verdictName(op.verdict)} />
      </td>
      <td className="num">
        {l?.baseline && l.candidate ? (
          <>
            <div>
              <span className="muted small">p50</span> <Pair b={dur(l.baseline.p50Nano)} c={dur(l.candidate.p50Nano)} />
            </div>
            <div>
              <span className="muted small">p99</span> <Pair b={dur(l.baseline.p99Nano)} c={dur(l.candidate.p99Nano)} />
            </div>
          </>
        ) : (
          '–'
        )}
      </td>
      <td className="num">
        <ChangeCell change={formatChange(l?.shift)} />
      </td>
      <td className="num">
        <ChangeCell change={formatChange(l?.p99)} />
      </td>
      <td className="num">
        {eb && ec ? (
          <>
            <Pair b={eb.rate} c={ec.rate} />
            <div className="muted small">{eb.interval}</div>
            <div className="muted small">{ec.interval}</div>
          </>
        ) : (
          '–'
        )}
      </td>
      <td>{sig || <span className="muted">{t('delta.none')}</span>}</td>
    </tr>
  );
}

function qValue(test: Test | undefined): string {
  return test ? test.qValue.toPrecision(2) : '–';
}

/** The selected operation: its latency distributions on the shared buckets, and its error rates with their intervals. */
function OperationDetail({ op, label }: { op: OperationDelta; label: (s: Side) => string }) {
  const { t } = useTranslation();
  const linkTo = useLinkTo();
  const name = `${op.serviceName} · ${op.operation || t('delta.wholeService')}`;
  const columns = useMemo(() => histogramColumns(op.latency?.histogram), [op.latency?.histogram]);
  const l = op.latency;
  const e = op.errors;
  const dur = (v: bigint | undefined) => (v === undefined ? '–' : formatDurationNanos(v));
  const shift = formatChange(l?.shift);
  const p99 = formatChange(l?.p99);
  return (
    <Panel
      title={t('delta.detail', { name })}
      id="delta-detail"
      actions={
        <Link to={linkTo('/traces', { service: op.serviceName, operation: op.operation || null })} className="btn btn-small">
          {t('delta.traces')}
        </Link>
      }
    >
      <div className="grid-2">
        <div>
          <h3 className="delta-subhead">{t('delta.latency')}</h3>
          {columns ? (
            <Chart
              kind="steps"
              height={200}
              ariaLabel={t('delta.histogramLabel', { name })}
              x={columns.x}
              ys={[columns.baseline, columns.candidate]}
              series={[
                { label: label('baseline'), color: COLORS.baseline },
                { label: label('candidate'), color: COLORS.candidate },
              ]}
              yFormat={formatPercent}
              xAxis={{ label: t('delta.duration'), format: formatDurationMs, log: columns.log }}
              legend
            />
          ) : (
            <p className="muted">{t('delta.noHistogram')}</p>
          )}
          {l && (
            <dl className="kv delta-kv">
              <dt>p50</dt>
              <dd>
                <Pair b={dur(l.baseline?.p50Nano)} c={dur(l.candidate?.p50Nano)} />
              </dd>
              <dt>p95</dt>
              <dd>
                <Pair b={dur(l.baseline?.p95Nano)} c={dur(l.candidate?.p95Nano)} />
              </dd>
              <dt>p99</dt>
              <dd>
                <Pair b={dur(l.baseline?.p99Nano)} c={dur(l.candidate?.p99Nano)} />
              </dd>
              <dt>{t('delta.typicalChange')}</dt>
              <dd>{shift ? `${shift.estimate} (${t('delta.ci')} ${shift.interval})` : '–'}</dd>
              <dt>{t('delta.p99Change')}</dt>
              <dd>{p99 ? `${p99.estimate} (${t('delta.ci')} ${p99.interval})` : '–'}</dd>
              <dt>{t('delta.mannWhitney')}</dt>
              <dd>
                q = {qValue(l.mannWhitney)} {l.mannWhitney?.significant ? `(${t('delta.isSignificant')})` : ''}
              </dd>
              <dt>{t('delta.kolmogorovSmirnov')}</dt>
              <dd>
                q = {qValue(l.kolmogorovSmirnov)} {l.kolmogorovSmirnov?.significant ? `(${t('delta.isSignificant')})` : ''}
              </dd>
            </dl>
          )}
        </div>
        <div>
          <h3 className="delta-subhead">{t('delta.errorRate')}</h3>
          {e ? (
            <>
              <RateBars rates={[
                { side: 'baseline', name: label('baseline'), rate: e.baseline },
                { side: 'candidate', name: label('candidate'), rate: e.candidate },
              ]} />
              <dl className="kv delta-kv">
                <dt>{t('delta.difference')}</dt>
                <dd>{e.method === ProportionTest.UNSPECIFIED ? '–' : t('delta.points', { n: formatPoints(e.difference) })}</dd>
                <dt>{t('delta.test')}</dt>
                <dd>
                  {t(`delta.method.${e.method === ProportionTest.FISHER_EXACT ? 'fisher' : e.method === ProportionTest.TWO_PROPORTION_Z ? 'z' : 'none'}`)}, q = {qValue(e.test)}{' '}
                  {e.test?.significant ? `(${t('delta.isSignificant')})` : ''}
                </dd>
              </dl>
            </>
          ) : (
            <p className="muted">{t('delta.noErrors')}</p>
          )}
        </div>
      </div>
    </Panel>
  );
}

/** Each cohort's error rate as text, with its interval drawn on a shared scale (the text carries it all). */
function RateBars({ rates }: { rates: { side: Side; name: string; rate: Rate | undefined }[] }) {
  const { t } = useTranslation();
  const max = Math.max(0.0001, ...rates.map((r) => r.rate?.upper ?? 0)) * 1.1;
  const pct = (v: number) => `${Math.min(100, (v / max) * 100)}%`;
  return (
    <ul className="delta-rates">
      {rates.map(({ side, name, rate }) => {
        const f = formatErrorRate(rate);
        return (
          <li key={side}>
            <div className="delta-rate-text">
              <span className="swatch" style={{ background: COLORS[side] }} aria-hidden="true" />
              <strong>{name}</strong>{' '}
              {f && rate
                ? t('delta.rateWithInterval', { rate: f.rate, interval: f.interval, count: formatCount(rate.count), total: formatCount(rate.total) })
                : t('delta.noSpans')}
            </div>
            {f && rate && (
              <div className="delta-rate-track" aria-hidden="true">
                <div className="delta-rate-interval" style={{ left: pct(rate.lower), width: `calc(${pct(rate.upper)} - ${pct(rate.lower)})`, background: COLORS[side] + '55', borderColor: COLORS[side] }} />
                <div className="delta-rate-point" style={{ left: pct(rate.rate), background: COLORS[side] }} />
              </div>
            )}
          </li>
        );
      })}
    </ul>
  );
}

/** The template a reason asked for; `seq` tells a second click from the first. */
interface TemplateFocus {
  template: string;
  seq: number;
}

/** The template's text in monospace, each `<*>` (the words that vary) marked. */
function TemplateText({ template }: { template: string }) {
  return (
    <code className="delta-template">
      {templateParts(template).map((p, i) =>
        p.wildcard ? (
          <mark key={i} className="delta-wild">
            {p.text}
          </mark>
        ) : (
          <span key={i}>{p.text}</span>
        ),
      )}
    </code>
  );
}

/** A template's records in one cohort: "12 · 0.4%", the share's interval below. */
function ShareCell({ rate }: { rate: Rate | undefined }) {
  const { t } = useTranslation();
  const f = formatShare(rate);
  if (!f) return <span className="muted">–</span>;
  return (
    <>
      <div>{t('delta.recordsShare', { count: f.count, share: f.share })}</div>
      <div className="muted small">{f.interval}</div>
    </>
  );
}

/** Every template both cohorts' log records were mined into, changed ones first; a row opens both examples. */
function Templates({
  templates,
  label,
  focus,
}: {
  templates: readonly TemplateDelta[];
  label: (s: Side) => string;
  focus: TemplateFocus | null;
}) {
  const { t } = useTranslation();
  // The rows opened, by their template (an answer compared again keeps them).
  const [open, setOpen] = useState<ReadonlySet<string>>(() => new Set());
  const tbody = useRef<HTMLTableSectionElement>(null);
  const toggle = (template: string, on: boolean) =>
    setOpen((s) => {
      const next = new Set(s);
      if (on) next.add(template);
      else next.delete(template);
      return next;
    });
  const focusIndex = focus ? templateIndex(templates, focus.template) : -1;
  useEffect(() => {
    if (!focus || focusIndex < 0) return;
    toggle(focus.template, true);
    const row = tbody.current?.querySelector<HTMLElement>(`#${templateRowId(focusIndex)}`);
    row?.scrollIntoView({ block: 'center' });
    row?.querySelector<HTMLElement>('button')?.focus({ preventScroll: true });
    // Once per click: a new seq.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [focus]);
  return (
    <Panel title={t('delta.templates')} id="delta-templates">
      {templates.length === 0 ? (
        <Empty title={t('delta.noTemplatesTitle')} hint={t('delta.noTemplatesHint')} />
      ) : (
        <>
          <p className="muted small">{t('delta.templatesHint')}</p>
          <div className="table-wrap">
            <table className="data delta-table delta-templates">
              <caption className="sr-only">{t('delta.templates')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('delta.change')}</th>
                  <th scope="col">{t('delta.logSeverity')}</th>
                  <th scope="col">{t('delta.template')}</th>
                  <th scope="col" className="num">
                    {label('baseline')}
                  </th>
                  <th scope="col" className="num">
                    {label('candidate')}
                  </th>
                  <th scope="col">{t('delta.examples')}</th>
                </tr>
              </thead>
              <tbody ref={tbody}>
                {templates.map((tpl, i) => (
                  <TemplateRow
                    key={i}
                    index={i}
                    tpl={tpl}
                    label={label}
                    open={open.has(tpl.template)}
                    highlighted={focusIndex === i}
                    onToggle={(on) => toggle(tpl.template, on)}
                  />
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </Panel>
  );
}

function TemplateRow({
  index,
  tpl,
  label,
  open,
  highlighted,
  onToggle,
}: {
  index: number;
  tpl: TemplateDelta;
  label: (s: Side) => string;
  open: boolean;
  highlighted: boolean;
  onToggle: (on: boolean) => void;
}) {
  const { t } = useTranslation();
  const change = templateChangeName(tpl.change);
  const error = isErrorSeverity(tpl.severityNumber);
  const id = templateRowId(index);
  const example = (text: string) => (text ? <pre className="delta-example mono">{text}</pre> : <p className="muted">{t('delta.noExample')}</p>);
  return (
    <>
      <tr id={id} data-testid="template-row" className={highlighted ? 'selected' : undefined}>
        <td>
          <span className={`badge delta-change ${templateChangeTone(change, error)}`} data-testid="template-change">
            <span aria-hidden="true">{TEMPLATE_CHANGE_GLYPH[change]}</span> {t(`delta.templateChange.${change}`)}
          </span>
        </td>
        <td>
          {error ? (
            <span className="badge badge-error">{t('delta.errorSeverity')}</span>
          ) : (
            <span className="muted">{t(`severity.${severityOf(tpl.severityNumber)}`)}</span>
          )}
        </td>
        <td className="delta-template-cell">
          <TemplateText template={tpl.template} />
          {tpl.serviceNames.length > 0 && <div className="muted small">{tpl.serviceNames.join(', ')}</div>}
        </td>
        <td className="num">
          <ShareCell rate={tpl.baseline} />
        </td>
        <td className="num">
          <ShareCell rate={tpl.candidate} />
        </td>
        <td>
          <button type="button" className="btn-link delta-examples-toggle" aria-expanded={open} aria-controls={`${id}-examples`} onClick={() => onToggle(!open)}>
            <Icon name={open ? 'chevronDown' : 'chevronRight'} size={14} />
            {t('delta.examples')}
          </button>
        </td>
      </tr>
      {open && (
        <tr id={`${id}-examples`} className={`delta-examples-row ${highlighted ? 'selected' : ''}`} data-testid="template-examples">
          <td colSpan={6}>
            <div className="grid-2">
              <div>
                <h3 className="delta-subhead">{t('delta.exampleOf', { cohort: label('baseline') })}</h3>
                {example(tpl.baselineExample)}
              </div>
              <div>
                <h3 className="delta-subhead">{t('delta.exampleOf', { cohort: label('candidate') })}</h3>
                {example(tpl.candidateExample)}
              </div>
            </div>
            <p className="muted small">
              {t('delta.severityNumber', { n: tpl.severityNumber })} · {t('delta.test')}: q = {qValue(tpl.test)}
              {tpl.test?.significant ? ` (${t('delta.isSignificant')})` : ''}
            </p>
          </td>
        </tr>
      )}
    </>
  );
}

/** The attribute row a reason asked for, by its index in the table; `seq` tells a second click from the first. */
interface AttributeFocus {
  index: number;
  seq: number;
}

/** Every attribute compared, changed ones first: per operation and key, each value's share of both cohorts. */
function Attributes({ attributes, label, focus }: { attributes: readonly AttributeDelta[]; label: (s: Side) => string; focus: AttributeFocus | null }) {
  const { t } = useTranslation();
  // Rows showing all their values, by service, operation and key (an answer compared again keeps them).
  const [open, setOpen] = useState<ReadonlySet<string>>(() => new Set());
  const tbody = useRef<HTMLTableSectionElement>(null);
  const toggle = (key: string, on: boolean) =>
    setOpen((s) => {
      const next = new Set(s);
      if (on) next.add(key);
      else next.delete(key);
      return next;
    });
  useEffect(() => {
    if (!focus || focus.index < 0) return;
    const row = tbody.current?.querySelector<HTMLElement>(`#${attributeRowId(focus.index)}`);
    row?.scrollIntoView({ block: 'center' });
    row?.focus({ preventScroll: true });
  }, [focus]);
  return (
    <Panel title={t('delta.attributes')} id="delta-attributes">
      {attributes.length === 0 ? (
        <Empty title={t('delta.noAttributesTitle')} hint={t('delta.noAttributesHint')} />
      ) : (
        <>
          <p className="muted small">{t('delta.attributesHint')}</p>
          {/* Reachable by keyboard to scroll sideways: its rows may hold no control (every value shown). */}
          <div className="table-wrap" tabIndex={0} role="region" aria-labelledby="delta-attributes-title">
            <table className="data delta-table delta-attributes">
              <caption className="sr-only">{t('delta.attributes')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('delta.change')}</th>
                  <th scope="col">{t('delta.serviceOperation')}</th>
                  <th scope="col">{t('delta.attribute')}</th>
                  <th scope="col">{t('delta.values')}</th>
                  <th scope="col">{t('delta.test')}</th>
                </tr>
              </thead>
              <tbody ref={tbody}>
                {attributes.map((a, i) => {
                  const key = attributeKey(a);
                  return (
                    <AttributeRow
                      key={key}
                      index={i}
                      row={a}
                      label={label}
                      open={open.has(key)}
                      highlighted={focus?.index === i}
                      onToggle={(on) => toggle(key, on)}
                    />
                  );
                })}
              </tbody>
            </table>
          </div>
        </>
      )}
    </Panel>
  );
}

function AttributeRow({
  index,
  row,
  label,
  open,
  highlighted,
  onToggle,
}: {
  index: number;
  row: AttributeDelta;
  label: (s: Side) => string;
  open: boolean;
  highlighted: boolean;
  onToggle: (on: boolean) => void;
}) {
  const { t } = useTranslation();
  const status = attributeStatus(row);
  const chi = formatChiSquare(row);
  const id = attributeRowId(index);
  const values = open ? row.values : row.values.slice(0, VALUES_SHOWN);
  const more = row.values.length > VALUES_SHOWN;
  return (
    <tr id={id} tabIndex={-1} data-testid="attribute-row" className={highlighted ? 'selected' : undefined}>
      <td>
        <span className={`badge delta-change ${status === 'changed' ? 'badge-warn' : ''}`} data-testid="attribute-change">
          <span aria-hidden="true">{ATTRIBUTE_STATUS_GLYPH[status]}</span> {t(`delta.attributeStatus.${status}`)}
        </span>
      </td>
      <td>
        <span className="delta-op-service">{row.serviceName}</span>
        <span className="delta-op-name">{row.operation}</span>
      </td>
      <td>
        <code className="delta-attribute-key">{row.key}</code>
      </td>
      <td className="delta-values-cell">
        <ul className="delta-values" id={`${id}-values`}>
          {values.map((v, i) => {
            const name = valueName(v);
            return (
              <li key={i} data-testid="attribute-value">
                <div className="delta-value-name">
                  {name.kind === 'value' ? <code>{name.text}</code> : <em className="muted">{t(`delta.valueName.${name.kind}`)}</em>}
                </div>
                {SIDES.map((side) => (
                  <ShareBar key={side} side={side} name={label(side)} rate={v[side]} />
                ))}
              </li>
            );
          })}
        </ul>
        {more && (
          <button type="button" className="btn-link delta-examples-toggle" aria-expanded={open} aria-controls={`${id}-values`} onClick={() => onToggle(!open)}>
            <Icon name={open ? 'chevronDown' : 'chevronRight'} size={14} />
            {open ? t('delta.fewerValues') : t('delta.allValues', { n: row.values.length })}
          </button>
        )}
      </td>
      <td className="delta-attribute-test">
        {chi ? (
          <>
            <div>{t('delta.chiSquare', chi)}</div>
            {row.test?.significant && <div className="muted small">{t('delta.isSignificant')}</div>}
          </>
        ) : (
          <span className="muted small">{t('delta.untested')}</span>
        )}
      </td>
    </tr>
  );
}

/** One cohort's share of a value: the text carries it all (share, interval, spans); the bar draws it with its interval. */
function ShareBar({ side, name, rate }: { side: Side; name: string; rate: Rate | undefined }) {
  const { t } = useTranslation();
  const f = formatShare(rate);
  return (
    <div className="delta-share">
      <span className="delta-share-text small">
        <span className="swatch" style={{ background: COLORS[side] }} aria-hidden="true" />
        <span className="sr-only">{name}: </span>
        {f && rate ? t('delta.valueShare', { share: f.share, interval: f.interval, count: f.count, total: formatCount(rate.total) }) : t('delta.noSpans')}
      </span>
      {f && rate && (
        <span className="delta-rate-track delta-share-track" aria-hidden="true">
          <span
            className="delta-rate-interval"
            style={{ left: shareWidth(rate.lower), width: `calc(${shareWidth(rate.upper)} - ${shareWidth(rate.lower)})`, background: COLORS[side] + '55', borderColor: COLORS[side] }}
          />
          <span className="delta-rate-point" style={{ left: shareWidth(rate.rate), background: COLORS[side] }} />
        </span>
      )}
    </div>
  );
}
