// Log search: words and "quoted phrases" (any script), severity, service and
// attribute filters, a volume histogram (brush to zoom) and the records.
import { useMemo, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { isFormError } from '../../api/errors';
import { SEVERITIES } from '../../api/filters';
import { useSearchLogs, useServices } from '../../api/hooks';
import { useTimeRange } from '../../app/timeRange';
import { useDraft, useUrlState } from '../../app/urlState';
import { AttrFilters } from '../../components/AttrFilters';
import { Chart } from '../../components/Chart';
import { Pager } from '../../components/Pager';
import { LogResults } from '../../components/LogRow';
import { Field, FormSubmit, NameField } from '../../components/Field';
import { ChartSkeleton, FormError, Panel, QueryState } from '../../components/states';
import { formatCount } from '../../lib/format';
import { nanosToMs } from '../../lib/time';
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
  const [draft, setDraft] = useDraft(applied);
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
  const formError = logs.isError && isFormError(logs.error);

  return (
    <div className="page">
      <div className="page-header">
        <h1>{t('logs.title')}</h1>
      </div>
      <Panel>
        <form className="search-form" onSubmit={submit} role="search" aria-label={t('logs.searchForm')}>
          <Field id="logs-q" label={t('logs.query')} className="grow">
            {(control) => (
              <input
                {...control}
                type="search"
                value={draft.q}
                placeholder={t('logs.queryPlaceholder')}
                onChange={(e) => setDraft({ ...draft, q: e.target.value })}
              />
            )}
          </Field>
          <NameField
            id="logs-service"
            label={t('filters.service')}
            anyLabel={t('filters.anyService')}
            names={services.data?.serviceNames ?? []}
            value={draft.service}
            onChange={(service) => setDraft({ ...draft, service })}
          />
          <Field id="logs-sev" label={t('logs.minSeverity')}>
            {(control) => (
              <select {...control} value={draft.severity} onChange={(e) => setDraft({ ...draft, severity: e.target.value })}>
                <option value="">{t('logs.anySeverity')}</option>
                {SEVERITIES.map((s) => (
                  <option key={s.id} value={s.id}>
                    {t(`severity.${s.id}`)}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field id="logs-trace" label={t('logs.traceId')}>
            {(control) => (
              <input {...control} className="mono" value={draft.traceId} onChange={(e) => setDraft({ ...draft, traceId: e.target.value })} />
            )}
          </Field>
          <AttrFilters idPrefix="logs-attr" value={draft.attrs} onChange={(attrs) => setDraft({ ...draft, attrs })} />
          <FormSubmit label={t('common.search')} />
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
        {/* A failure shows once, with the records below. */}
        <QueryState query={logs} skeleton={<ChartSkeleton height={110} />} hideError>
          {() => (
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
          )}
        </QueryState>
      </Panel>
      <Panel
        title={t('logs.records')}
        actions={<Pager next={logs.data?.page?.nextPageToken || undefined} />}
      >
        <LogResults query={logs} rows={10} hideError={formError} />
      </Panel>
    </div>
  );
}
