// Log search: words and "quoted phrases" (any script), severity, service and
// attribute filters, a volume histogram (brush to zoom) and the records.
import { ConnectError } from '@connectrpc/connect';
import { useMemo, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { errorKind } from '../../api/errors';
import { SEVERITIES } from '../../api/filters';
import { useSearchLogs, useServices } from '../../api/hooks';
import { useTimeRange } from '../../app/timeRange';
import { useUrlState } from '../../app/urlState';
import { AttrFilters } from '../../components/AttrFilters';
import { Chart } from '../../components/Chart';
import { Pager } from '../../components/Pager';
import { LogList } from '../../components/LogRow';
import { ChartSkeleton, Empty, ErrorPanel, FormError, Panel, Skeleton } from '../../components/states';
import { formatCount } from '../../lib/format';
import { nanosToMs } from '../../lib/time';
import { withCurrent } from '../traces/TracesPage';
import '../pages.css';

export default function LogsPage() {
  const { t } = useTranslation();
  const range = useTimeRange();
  const [params, update] = useUrlState();
  const applied = {
    q: params.get('q') ?? '',
    service: params.get('service') ?? '',
    severity: params.get('severity') ?? '',
    attrs: params.getAll('attr'),
    traceId: params.get('trace') ?? '',
    page: params.get('page') ?? '',
  };
  const appliedKey = JSON.stringify({ ...applied, page: '' });
  const [draft, setDraft] = useState(applied);
  const [lastKey, setLastKey] = useState(appliedKey);
  if (appliedKey !== lastKey) {
    setLastKey(appliedKey);
    setDraft(applied);
  }
  const sev = SEVERITIES.find((s) => s.id === applied.severity);
  const logs = useSearchLogs({
    startMs: range.startMs,
    endMs: range.endMs,
    query: applied.q || undefined,
    service: applied.service || undefined,
    // "at least": from the chosen level up to FATAL.
    minSeverity: sev?.min,
    attrs: applied.attrs.filter(Boolean).length ? applied.attrs.filter(Boolean) : undefined,
    traceId: applied.traceId || undefined,
    pageToken: applied.page || undefined,
  });
  const services = useServices(range);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    update({
      q: draft.q.trim() || null,
      service: draft.service || null,
      severity: draft.severity || null,
      attr: draft.attrs.filter((a) => a.trim()),
      trace: draft.traceId.trim() || null,
      page: null,
    });
  };

  const hist = useMemo(() => {
    const h = logs.data?.histogram ?? [];
    return { x: h.map((b) => nanosToMs(b.timeUnixNano) / 1000), y: h.map((b) => Number(b.count)) };
  }, [logs.data]);
  const formError = logs.isError && ['invalid', 'limit'].includes(errorKind(ConnectError.from(logs.error).code));

  return (
    <div className="page">
      <div className="page-header">
        <h1>{t('logs.title')}</h1>
      </div>
      <Panel>
        <form className="search-form" onSubmit={submit} role="search" aria-label={t('logs.searchForm')}>
          <div className="field grow">
            <label htmlFor="logs-q">{t('logs.query')}</label>
            <input
              id="logs-q"
              type="search"
              value={draft.q}
              placeholder={t('logs.queryPlaceholder')}
              onChange={(e) => setDraft({ ...draft, q: e.target.value })}
            />
          </div>
          <div className="field">
            <label htmlFor="logs-service">{t('filters.service')}</label>
            <select id="logs-service" value={draft.service} onChange={(e) => setDraft({ ...draft, service: e.target.value })}>
              <option value="">{t('filters.anyService')}</option>
              {withCurrent(services.data?.serviceNames ?? [], draft.service).map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="logs-sev">{t('logs.minSeverity')}</label>
            <select id="logs-sev" value={draft.severity} onChange={(e) => setDraft({ ...draft, severity: e.target.value })}>
              <option value="">{t('logs.anySeverity')}</option>
              {SEVERITIES.map((s) => (
                <option key={s.id} value={s.id}>
                  {t(`severity.${s.id}`)}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="logs-trace">{t('logs.traceId')}</label>
            <input id="logs-trace" className="mono" value={draft.traceId} onChange={(e) => setDraft({ ...draft, traceId: e.target.value })} />
          </div>
          <div className="form-wide">
            <AttrFilters idPrefix="logs-attr" value={draft.attrs} onChange={(attrs) => setDraft({ ...draft, attrs })} />
          </div>
          <div className="form-actions">
            <button type="submit" className="btn btn-primary">
              {t('common.search')}
            </button>
          </div>
        </form>
        {formError && <FormError error={logs.error} />}
      </Panel>
      <Panel
        title={
          logs.data
            ? t('logs.volumeCount', { count: Number(logs.data.totalCount), n: formatCount(logs.data.totalCount) })
            : t('logs.volume')
        }
        actions={<span className="muted small">{t('logs.brushHint')}</span>}
      >
        {logs.isPending ? (
          <ChartSkeleton height={110} />
        ) : logs.data ? (
          <Chart
            kind="bars"
            height={110}
            ariaLabel={t('logs.volume')}
            x={hist.x}
            ys={[hist.y]}
            series={[{ label: t('logs.records'), color: '#5794f2' }]}
            yFormat={(v) => formatCount(Math.round(v))}
            onBrush={range.zoom}
          />
        ) : null}
      </Panel>
      <Panel
        title={t('logs.records')}
        actions={
          <Pager
            current={applied.page || null}
            next={logs.data?.page?.nextPageToken || undefined}
            onPage={(token) => update({ page: token })}
          />
        }
      >
        {logs.isPending ? (
          <Skeleton rows={10} />
        ) : logs.isError && !formError ? (
          <ErrorPanel error={logs.error} onRetry={() => void logs.refetch()} />
        ) : (logs.data?.records.length ?? 0) === 0 ? (
          <Empty title={t('logs.emptyTitle')} hint={t('logs.emptyHint')} />
        ) : (
          <LogList records={logs.data!.records} />
        )}
      </Panel>
    </div>
  );
}
