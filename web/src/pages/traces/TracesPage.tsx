// Trace search: every SpanFilter field, a duration scatter and the results.
import { useMemo, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router';
import { isFormError } from '../../api/errors';
import { KIND_NAMES, type KindFilter, type SpanFilterInput, type StatusFilter } from '../../api/filters';
import { useOperations, useSearchTraces, useServices, type OrderName } from '../../api/hooks';
import { useTimeRange } from '../../app/timeRange';
import { useDraft, useLinkTo, useUrlState } from '../../app/urlState';
import { AttrFilters } from '../../components/AttrFilters';
import { Chart } from '../../components/Chart';
import { Pager } from '../../components/Pager';
import { Field, FormSubmit, NameField } from '../../components/Field';
import { Empty, FormError, Panel, QueryState, Skeleton } from '../../components/states';
import { TableHead } from '../../components/TableHead';
import { colorFor, ERROR_COLOR, OK_COLOR } from '../../lib/colors';
import { formatCount, formatDateTime, formatDurationMs, formatDurationNanos } from '../../lib/format';
import type { TraceSummary } from '../../gen/airis/analytics/v1/query_pb';
import { nanosToMs } from '../../lib/time';
import '../pages.css';

const ORDERS: OrderName[] = ['newest', 'oldest', 'longest'];

export default function TracesPage() {
  const { t } = useTranslation();
  const range = useTimeRange();
  const [params, update] = useUrlState();
  const navigate = useNavigate();
  const linkTo = useLinkTo();

  const applied = {
    service: params.get('service') ?? '',
    caller: params.get('caller') ?? '',
    operation: params.get('operation') ?? '',
    status: (params.get('status') ?? '') as StatusFilter,
    kind: (KIND_NAMES as readonly string[]).includes(params.get('kind') ?? '') ? (params.get('kind') as KindFilter) : ('' as KindFilter),
    minMs: params.get('minMs') ?? '',
    maxMs: params.get('maxMs') ?? '',
    attrs: params.getAll('attr'),
    text: params.get('q') ?? '',
    order: (ORDERS.includes(params.get('order') as OrderName) ? params.get('order') : 'newest') as OrderName,
    page: params.get('page') ?? '',
  };
  // The form edits a draft; Search writes it to the URL.
  const [draft, setDraft, draftKey] = useDraft(applied);

  const filter: SpanFilterInput = useMemo(
    () => ({
      startMs: range.startMs,
      endMs: range.endMs,
      service: applied.service || undefined,
      caller: applied.caller || undefined,
      operation: applied.operation || undefined,
      status: applied.status || undefined,
      kind: applied.kind || undefined,
      minDurationMs: Number(applied.minMs) || undefined,
      maxDurationMs: Number(applied.maxMs) || undefined,
      attrs: applied.attrs.filter(Boolean).length ? applied.attrs.filter(Boolean) : undefined,
      text: applied.text || undefined,
    }),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [range.startMs, range.endMs, draftKey],
  );
  const traces = useSearchTraces(filter, applied.order, applied.page);
  const services = useServices(range);
  const operations = useOperations(range, draft.service);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    update({
      service: draft.service || null,
      caller: draft.caller || null,
      operation: draft.operation || null,
      status: draft.status || null,
      kind: draft.kind || null,
      minMs: draft.minMs || null,
      maxMs: draft.maxMs || null,
      attr: draft.attrs.filter((a) => a.trim()),
      q: draft.text || null,
      order: draft.order === 'newest' ? null : draft.order,
      page: null,
    });
  };

  const list = useMemo(() => traces.data?.traces ?? [], [traces.data]);
  const scatter = useMemo(() => {
    const sorted = [...list].sort((a, b) => (a.startTimeUnixNano < b.startTimeUnixNano ? -1 : 1));
    return {
      sorted,
      x: sorted.map((tr) => nanosToMs(tr.startTimeUnixNano) / 1000),
      ok: sorted.map((tr) => (tr.errorCount === 0 ? nanosToMs(tr.durationNano) : null)),
      err: sorted.map((tr) => (tr.errorCount > 0 ? nanosToMs(tr.durationNano) : null)),
    };
  }, [list]);

  const formError = traces.isError && isFormError(traces.error);

  return (
    <div className="page">
      <div className="page-header">
        <h1>{t('traces.title')}</h1>
      </div>
      <Panel>
        <form className="search-form" onSubmit={submit} aria-label={t('traces.searchForm')}>
          <NameField
            id="tr-service"
            label={t('filters.service')}
            anyLabel={t('filters.anyService')}
            names={services.data?.serviceNames ?? []}
            value={draft.service}
            onChange={(service) => setDraft({ ...draft, service, operation: '' })}
          />
          <NameField
            id="tr-caller"
            label={t('filters.caller')}
            anyLabel={t('filters.anyCaller')}
            names={services.data?.serviceNames ?? []}
            value={draft.caller}
            onChange={(caller) => setDraft({ ...draft, caller })}
          />
          <NameField
            id="tr-operation"
            label={t('filters.operation')}
            anyLabel={t('filters.anyOperation')}
            names={(operations.data?.operations ?? []).map((o) => o.name)}
            value={draft.operation}
            disabled={!draft.service}
            onChange={(operation) => setDraft({ ...draft, operation })}
          />
          <Field id="tr-status" label={t('filters.status')}>
            {(control) => (
              <select {...control} value={draft.status} onChange={(e) => setDraft({ ...draft, status: e.target.value as StatusFilter })}>
                <option value="">{t('filters.anyStatus')}</option>
                <option value="error">{t('status.error')}</option>
                <option value="ok">{t('status.ok')}</option>
                <option value="unset">{t('status.unset')}</option>
              </select>
            )}
          </Field>
          <Field id="tr-kind" label={t('filters.kind')}>
            {(control) => (
              <select {...control} value={draft.kind} onChange={(e) => setDraft({ ...draft, kind: e.target.value as KindFilter })}>
                <option value="">{t('filters.anyKind')}</option>
                {KIND_NAMES.map((k) => (
                  <option key={k} value={k}>
                    {t(`kind.${k}`)}
                  </option>
                ))}
              </select>
            )}
          </Field>
          {(['minMs', 'maxMs'] as const).map((bound) => (
            <Field
              key={bound}
              id={bound === 'minMs' ? 'tr-min' : 'tr-max'}
              label={t(bound === 'minMs' ? 'filters.minDuration' : 'filters.maxDuration')}
              className="narrow"
            >
              {(control) => (
                <input
                  {...control}
                  type="number"
                  min={0}
                  step="any"
                  inputMode="decimal"
                  value={draft[bound]}
                  onChange={(e) => setDraft({ ...draft, [bound]: e.target.value })}
                />
              )}
            </Field>
          ))}
          <Field id="tr-text" label={t('filters.text')} className="grow">
            {(control) => (
              <input {...control} value={draft.text} placeholder={t('filters.textPlaceholder')} onChange={(e) => setDraft({ ...draft, text: e.target.value })} />
            )}
          </Field>
          <Field id="tr-order" label={t('filters.order')}>
            {(control) => (
              <select {...control} value={draft.order} onChange={(e) => setDraft({ ...draft, order: e.target.value as OrderName })}>
                {ORDERS.map((o) => (
                  <option key={o} value={o}>
                    {t(`order.${o}`)}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <AttrFilters idPrefix="tr-attr" value={draft.attrs} onChange={(attrs) => setDraft({ ...draft, attrs })} />
          <FormSubmit label={t('common.search')} />
        </form>
        {formError && <FormError error={traces.error} />}
      </Panel>

      <Panel title={t('traces.durationOverTime')}>
        {/* A failure shows once, with the results below. */}
        <QueryState query={traces} skeleton={<Skeleton rows={3} />} hideError isEmpty={() => list.length === 0}>
          {() => (
            <Chart
              kind="scatter"
              height={200}
              ariaLabel={t('traces.scatterLabel')}
              x={scatter.x}
              ys={[scatter.ok, scatter.err]}
              series={[
                { label: t('traces.okTraces'), color: OK_COLOR },
                { label: t('traces.errorTraces'), color: ERROR_COLOR },
              ]}
              yFormat={formatDurationMs}
              xRange={[range.startMs / 1000, range.endMs / 1000]}
              legend
              onBrush={range.zoom}
              onPointClick={(_s, i) => {
                const tr = scatter.sorted[i];
                if (tr) navigate(linkTo(`/traces/${tr.traceId}`));
              }}
            />
          )}
        </QueryState>
      </Panel>

      <Panel
        title={t('traces.results')}
        actions={<Pager next={traces.data?.page?.nextPageToken || undefined} />}
      >
        <QueryState
          query={traces}
          skeleton={<Skeleton rows={8} />}
          hideError={formError}
          isEmpty={() => list.length === 0}
          empty={<Empty title={t('traces.emptyTitle')} hint={t('traces.emptyHint')} />}
        >
          {() => <TraceTable traces={list} />}
        </QueryState>
      </Panel>
    </div>
  );
}

function TraceTable({ traces }: { traces: readonly TraceSummary[] }) {
  const { t } = useTranslation();
  const linkTo = useLinkTo();
  return (
    <div className="table-wrap">
      <table className="data">
        <TableHead
          columns={[
            { label: t('traces.start') },
            { label: t('traces.root') },
            { label: t('traces.duration'), numeric: true },
            { label: t('traces.spans'), numeric: true },
            { label: t('traces.errors'), numeric: true },
            { label: t('traces.services') },
          ]}
        />
        <tbody>
          {traces.map((tr) => (
            <tr key={tr.traceId} data-testid="trace-row">
              <td className="nowrap">{formatDateTime(nanosToMs(tr.startTimeUnixNano))}</td>
              <td>
                <Link to={linkTo(`/traces/${tr.traceId}`)}>
                  <span className="svc-dot" style={{ background: colorFor(tr.rootServiceName) }} aria-hidden="true" />
                  {tr.rootServiceName}: {tr.rootOperation}
                </Link>
                <div className="muted mono small">{tr.traceId}</div>
              </td>
              <td className="num">{formatDurationNanos(tr.durationNano)}</td>
              <td className="num">{formatCount(tr.spanCount)}</td>
              <td className="num">
                {tr.errorCount > 0 ? <span className="badge badge-error">{formatCount(tr.errorCount)}</span> : '0'}
              </td>
              <td>
                <span className="badges">
                  {tr.serviceNames.map((s) => (
                    <span key={s} className="badge">
                      <span className="svc-dot" style={{ background: colorFor(s) }} aria-hidden="true" />
                      {s}
                    </span>
                  ))}
                </span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
