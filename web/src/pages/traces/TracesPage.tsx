// Trace search: every SpanFilter field, a duration scatter and the results.
import { useMemo, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router';
import { KIND_NAMES, type KindFilter, type SpanFilterInput, type StatusFilter } from '../../api/filters';
import { useOperations, useSearchTraces, useServices, type OrderName } from '../../api/hooks';
import { useTimeRange } from '../../app/timeRange';
import { useLinkTo, useUrlState } from '../../app/urlState';
import { AttrFilters } from '../../components/AttrFilters';
import { Chart } from '../../components/Chart';
import { Pager } from '../../components/Pager';
import { Empty, ErrorPanel, FormError, Panel, Skeleton } from '../../components/states';
import { colorFor, ERROR_COLOR, OK_COLOR } from '../../lib/colors';
import { formatCount, formatDateTime, formatDurationMs, formatDurationNanos } from '../../lib/format';
import { nanosToMs } from '../../lib/time';
import { errorKind } from '../../api/errors';
import { ConnectError } from '@connectrpc/connect';
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
  const [draft, setDraft] = useState(applied);
  const draftKey = JSON.stringify({ ...applied, page: '' });
  const [lastKey, setLastKey] = useState(draftKey);
  if (draftKey !== lastKey) {
    // The URL changed from outside (back button, pasted link): follow it.
    setLastKey(draftKey);
    setDraft(applied);
  }

  const filter: SpanFilterInput = useMemo(
    () => ({
      startMs: range.startMs,
      endMs: range.endMs,
      service: applied.service || undefined,
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

  const formError = traces.isError && ['invalid', 'limit'].includes(errorKind(ConnectError.from(traces.error).code));

  return (
    <div className="page">
      <div className="page-header">
        <h1>{t('traces.title')}</h1>
      </div>
      <Panel>
        <form className="search-form" onSubmit={submit} aria-label={t('traces.searchForm')}>
          <div className="field">
            <label htmlFor="tr-service">{t('filters.service')}</label>
            <select
              id="tr-service"
              value={draft.service}
              onChange={(e) => setDraft({ ...draft, service: e.target.value, operation: '' })}
            >
              <option value="">{t('filters.anyService')}</option>
              {withCurrent(services.data?.serviceNames ?? [], draft.service).map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="tr-operation">{t('filters.operation')}</label>
            <select
              id="tr-operation"
              value={draft.operation}
              disabled={!draft.service}
              onChange={(e) => setDraft({ ...draft, operation: e.target.value })}
            >
              <option value="">{t('filters.anyOperation')}</option>
              {withCurrent((operations.data?.operations ?? []).map((o) => o.name), draft.operation).map((o) => (
                <option key={o} value={o}>
                  {o}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="tr-status">{t('filters.status')}</label>
            <select id="tr-status" value={draft.status} onChange={(e) => setDraft({ ...draft, status: e.target.value as StatusFilter })}>
              <option value="">{t('filters.anyStatus')}</option>
              <option value="error">{t('status.error')}</option>
              <option value="ok">{t('status.ok')}</option>
              <option value="unset">{t('status.unset')}</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor="tr-kind">{t('filters.kind')}</label>
            <select id="tr-kind" value={draft.kind} onChange={(e) => setDraft({ ...draft, kind: e.target.value as KindFilter })}>
              <option value="">{t('filters.anyKind')}</option>
              {KIND_NAMES.map((k) => (
                <option key={k} value={k}>
                  {t(`kind.${k}`)}
                </option>
              ))}
            </select>
          </div>
          <div className="field narrow">
            <label htmlFor="tr-min">{t('filters.minDuration')}</label>
            <input id="tr-min" type="number" min={0} step="any" inputMode="decimal" value={draft.minMs} onChange={(e) => setDraft({ ...draft, minMs: e.target.value })} />
          </div>
          <div className="field narrow">
            <label htmlFor="tr-max">{t('filters.maxDuration')}</label>
            <input id="tr-max" type="number" min={0} step="any" inputMode="decimal" value={draft.maxMs} onChange={(e) => setDraft({ ...draft, maxMs: e.target.value })} />
          </div>
          <div className="field grow">
            <label htmlFor="tr-text">{t('filters.text')}</label>
            <input id="tr-text" value={draft.text} placeholder={t('filters.textPlaceholder')} onChange={(e) => setDraft({ ...draft, text: e.target.value })} />
          </div>
          <div className="field">
            <label htmlFor="tr-order">{t('filters.order')}</label>
            <select id="tr-order" value={draft.order} onChange={(e) => setDraft({ ...draft, order: e.target.value as OrderName })}>
              {ORDERS.map((o) => (
                <option key={o} value={o}>
                  {t(`order.${o}`)}
                </option>
              ))}
            </select>
          </div>
          <div className="form-wide">
            <AttrFilters idPrefix="tr-attr" value={draft.attrs} onChange={(attrs) => setDraft({ ...draft, attrs })} />
          </div>
          <div className="form-actions">
            <button type="submit" className="btn btn-primary">
              {t('common.search')}
            </button>
          </div>
        </form>
        {formError && <FormError error={traces.error} />}
      </Panel>

      <Panel title={t('traces.durationOverTime')}>
        {traces.isPending ? (
          <Skeleton rows={3} />
        ) : list.length > 0 ? (
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
        ) : null}
      </Panel>

      <Panel
        title={t('traces.results')}
        actions={
          <Pager
            current={applied.page || null}
            next={traces.data?.page?.nextPageToken || undefined}
            onPage={(token) => update({ page: token })}
          />
        }
      >
        {traces.isPending ? (
          <Skeleton rows={8} />
        ) : traces.isError && !formError ? (
          <ErrorPanel error={traces.error} onRetry={() => void traces.refetch()} />
        ) : list.length === 0 ? (
          <Empty title={t('traces.emptyTitle')} hint={t('traces.emptyHint')} />
        ) : (
          <div className="table-wrap">
            <table className="data">
              <thead>
                <tr>
                  <th scope="col">{t('traces.start')}</th>
                  <th scope="col">{t('traces.root')}</th>
                  <th scope="col" className="num">
                    {t('traces.duration')}
                  </th>
                  <th scope="col" className="num">
                    {t('traces.spans')}
                  </th>
                  <th scope="col" className="num">
                    {t('traces.errors')}
                  </th>
                  <th scope="col">{t('traces.services')}</th>
                </tr>
              </thead>
              <tbody>
                {list.map((tr) => (
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
        )}
      </Panel>
    </div>
  );
}

/** Keeps a value chosen by URL visible in a select even when not listed. */
export function withCurrent(options: readonly string[], current: string): string[] {
  return current && !options.includes(current) ? [current, ...options] : [...options];
}
