// Metric explorer: pick a metric, filter and group by labels, aggregate as
// its type allows, chart the series, with anomalies and forecasts on request
// and the anomalies continuous detection stored for a watched series.
import { useCallback, useMemo, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { describeError, isFormError } from '../../api/errors';
import type { MetricSeriesInput } from '../../api/filters';
import {
  AGGREGATION,
  useListMetrics,
  useMetricHistory,
  useQueryMetrics,
  useSeriesAnomalies,
  type AggregationName,
  type MetricParams,
} from '../../api/hooks';
import { useTimeRange } from '../../app/timeRange';
import { useLinkTo, useUrlState } from '../../app/urlState';
import { AttrFilters } from '../../components/AttrFilters';
import { Chart } from '../../components/Chart';
import { Field, FormSubmit, withCurrent } from '../../components/Field';
import { InsightSummary, InsightToggle, useChartInsights } from '../../components/Insights';
import { ChartSkeleton, Empty, FormError, Panel, QueryState, Skeleton } from '../../components/states';
import { MetricType, type MetricDescriptor, type MetricSeries, type QueryMetricsResponse } from '../../gen/airis/analytics/v1/query_pb';
import { PALETTE } from '../../lib/colors';
import { formatCompact, formatCount, formatInterval, formatWithUnit } from '../../lib/format';
import { historyWindow, toPoints, withStoredAnomalies, type KindName } from '../../lib/insights';
import { nanosToMs } from '../../lib/time';
import { defaultAggregation, resultUnit, validAggregations } from './aggregations';
import '../pages.css';
import './metrics.css';

const TYPE_NAME: Record<number, string> = {
  [MetricType.GAUGE]: 'gauge',
  [MetricType.SUM]: 'sum',
  [MetricType.HISTOGRAM]: 'histogram',
  [MetricType.EXPONENTIAL_HISTOGRAM]: 'expHistogram',
  [MetricType.SUMMARY]: 'summary',
};

const COMMON_LABELS = ['service.name', 'service.version', 'host.name', 'http.route', 'http.request.method', 'http.response.status_code'];
const QUANTILES = ['0.5', '0.9', '0.95', '0.99', '0.999'];
/** Stored anomalies asked for: the most ListAnomalies gives in one page. */
const STORED_ANOMALIES = 1000;

export default function MetricsPage() {
  const { t } = useTranslation();
  const range = useTimeRange();
  const [params, update] = useUrlState();
  const linkTo = useLinkTo();
  const [search, setSearch] = useState('');
  const list = useListMetrics(range, '');
  const metrics = useMemo(() => list.data?.pages.flatMap((p) => p.metrics) ?? [], [list.data]);
  const selectedName = params.get('metric') ?? '';
  const selectedType = params.get('type');
  const desc: MetricDescriptor | undefined = metrics.find(
    (m) => m.name === selectedName && (selectedType === null || TYPE_NAME[m.type] === selectedType),
  );
  const valid = desc ? validAggregations(desc.type, desc.monotonic) : [];
  const aggParam = params.get('agg') as AggregationName | null;
  const agg: AggregationName | null =
    aggParam && (valid.length === 0 || valid.includes(aggParam)) ? aggParam : desc ? defaultAggregation(desc.type, desc.monotonic) : aggParam;
  const quantile = Number(params.get('quantile') ?? '0.95');
  const groupBy = params.getAll('group');
  const filters = params.getAll('filter');
  const step = Number(params.get('step') ?? '0') || 0;
  const ai = params.get('ai') === '1';

  const query: MetricParams = {
    startMs: range.startMs,
    endMs: range.endMs,
    metric: selectedName,
    aggregation: agg ?? 'sum',
    quantile,
    groupBy,
    filters: filters.filter(Boolean),
    stepSeconds: step,
  };
  const result = useQueryMetrics(query, !!selectedName && !!agg);
  // The look-back for anomaly detection and forecasts, at the chart's step
  // (the one the query service chose when the step is automatic), asked
  // once the chart shows this query's answer: scores drawn over another
  // metric's lines would be wrong.
  const historyStep = step || result.data?.stepSeconds || 0;
  const history = useMetricHistory(
    { ...query, ...historyWindow(range, historyStep), stepSeconds: historyStep },
    ai && !!agg && historyStep > 0 && !result.isPlaceholderData,
  );

  // The series the chart shows when it shows one (no group-by), and the
  // anomalies continuous detection stored of it: none unless an alert rule
  // has it watched.
  const single = !!selectedName && !!agg && groupBy.length === 0;
  const series: MetricSeriesInput = {
    metric: selectedName,
    aggregation: AGGREGATION[agg ?? 'sum'],
    quantile: agg === 'quantile' ? quantile : 0,
    filters: query.filters ?? [],
  };
  const stored = useSeriesAnomalies({ startMs: range.startMs, endMs: range.endMs, metric: series, pageSize: STORED_ANOMALIES }, single);
  // Marked once the chart shows this series' answer, not the previous query's kept while it loads.
  const chartKey = JSON.stringify([series, groupBy]);
  const [drawnKey, setDrawnKey] = useState('');
  if (result.data && !result.isPlaceholderData && drawnKey !== chartKey) setDrawnKey(chartKey);
  const storedAnomalies = single && drawnKey === chartKey ? stored.data?.anomalies : undefined;

  const [draftFilters, setDraftFilters] = useState(filters);
  const [draftGroup, setDraftGroup] = useState(groupBy.join(', '));
  const [draftStep, setDraftStep] = useState(step ? String(step) : '');
  const applyForm = (e: FormEvent) => {
    e.preventDefault();
    update({
      filter: draftFilters.filter((f) => f.trim()),
      group: draftGroup
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      step: draftStep || null,
    });
  };

  const shown = metrics.filter((m) => !search || m.name.toLowerCase().includes(search.toLowerCase()));
  const unit = result.data ? resultUnit(result.data.unit, agg ?? 'sum') : '';

  const chart = useMemo(() => {
    const series = result.data?.series ?? [];
    const xs = new Set<number>();
    for (const s of series) for (const p of s.points) xs.add(nanosToMs(p.timeUnixNano) / 1000);
    const x = [...xs].sort((a, b) => a - b);
    const index = new Map(x.map((v, i) => [v, i]));
    const ys = series.map((s) => {
      const col: (number | null)[] = new Array(x.length).fill(null);
      for (const p of s.points) col[index.get(nanosToMs(p.timeUnixNano) / 1000)!] = p.value;
      return col;
    });
    return { x, ys, labels: series.map((s) => seriesLabel(s, selectedName)) };
  }, [result.data, selectedName]);
  const colors = chart.labels.map((_, i) => PALETTE[i % PALETTE.length]!);
  const historyPoints = useMemo(() => (ai ? byLabel(history.data, selectedName) : undefined), [ai, history.data, selectedName]);
  const insights = useChartInsights(chart, historyPoints, JSON.stringify([selectedName, agg, quantile, groupBy, filters, historyStep]));
  const kindLabel = useCallback((k: KindName) => t(`aiops.kind.${k}`), [t]);
  const drawnStep = result.data?.stepSeconds ?? 0;
  const { x: insightX, insights: drawnInsights } = insights;
  const marked = useMemo(
    () => (storedAnomalies ? withStoredAnomalies({ x: insightX, insights: drawnInsights }, 0, storedAnomalies, drawnStep, kindLabel) : drawnInsights),
    [storedAnomalies, insightX, drawnInsights, drawnStep, kindLabel],
  );

  const formError = result.isError && isFormError(result.error);

  return (
    <div className="page">
      <div className="page-header">
        <h1>{t('metrics.title')}</h1>
      </div>
      <div className="metrics-layout">
        <Panel title={t('metrics.picker')} className="metric-picker">
          <label htmlFor="metric-search" className="sr-only">
            {t('metrics.search')}
          </label>
          <input
            id="metric-search"
            type="search"
            placeholder={t('metrics.search')}
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            className="metric-search"
          />
          <QueryState
            query={list}
            skeleton={<Skeleton rows={8} />}
            compact
            isEmpty={() => shown.length === 0}
            empty={<Empty title={t('metrics.none')} hint={t('metrics.noneHint')} />}
          >
            {() => (
              <MetricList
                metrics={shown}
                isActive={(m) => m.name === selectedName && (!selectedType || TYPE_NAME[m.type] === selectedType)}
                onPick={(m) => update({ metric: m.name, type: TYPE_NAME[m.type] ?? null, agg: defaultAggregation(m.type, m.monotonic) })}
              />
            )}
          </QueryState>
          {list.hasNextPage && (
            <button type="button" className="btn btn-small" onClick={() => void list.fetchNextPage()} disabled={list.isFetchingNextPage}>
              {t('paging.more')}
            </button>
          )}
        </Panel>
        <div className="metrics-main">
          {!selectedName ? (
            <Panel>
              <Empty title={t('metrics.pick')} hint={t('metrics.pickHint')} />
            </Panel>
          ) : (
            <>
              <Panel title={selectedName} actions={desc?.description ? <span className="muted small">{desc.description}</span> : undefined}>
                <form className="search-form" onSubmit={applyForm}>
                  <Field id="m-agg" label={t('metrics.aggregation')}>
                    {(control) => (
                      <select {...control} value={agg ?? ''} onChange={(e) => update({ agg: e.target.value })}>
                        {(valid.length ? valid : agg ? [agg] : []).map((a) => (
                          <option key={a} value={a}>
                            {t(`metrics.agg.${a}`)}
                          </option>
                        ))}
                      </select>
                    )}
                  </Field>
                  {agg === 'quantile' && (
                    <Field id="m-q" label={t('metrics.quantile')} className="narrow">
                      {(control) => (
                        <select {...control} value={String(quantile)} onChange={(e) => update({ quantile: e.target.value })}>
                          {withCurrent(QUANTILES, String(quantile)).map((q) => (
                            <option key={q} value={q}>
                              p{Number(q) * 100}
                            </option>
                          ))}
                        </select>
                      )}
                    </Field>
                  )}
                  <Field id="m-group" label={t('metrics.groupBy')} className="grow">
                    {(control) => (
                      <>
                        <input
                          {...control}
                          list="m-labels"
                          value={draftGroup}
                          placeholder="service.name, service.version"
                          onChange={(e) => setDraftGroup(e.target.value)}
                        />
                        <datalist id="m-labels">
                          {COMMON_LABELS.map((l) => (
                            <option key={l} value={l} />
                          ))}
                        </datalist>
                      </>
                    )}
                  </Field>
                  <Field id="m-step" label={t('metrics.step')} className="narrow">
                    {(control) => (
                      <input {...control} type="number" min={0} value={draftStep} placeholder={t('metrics.auto')} onChange={(e) => setDraftStep(e.target.value)} />
                    )}
                  </Field>
                  <AttrFilters idPrefix="m-filter" label={t('metrics.labelFilters')} value={draftFilters} onChange={setDraftFilters} />
                  <FormSubmit label={t('common.apply')} />
                </form>
                {formError && <FormError error={result.error} />}
                {desc && valid.length === 0 && <p className="form-error">{t('metrics.notQueryable')}</p>}
              </Panel>
              <Panel
                title={t('metrics.chart')}
                actions={
                  <>
                    {result.data && (
                      <span className="muted small">
                        {t('metrics.unitAndStep', { unit: unit || '1', step: formatInterval(result.data.stepSeconds * 1000) })}
                      </span>
                    )}
                    <InsightToggle checked={ai} onChange={(on) => update({ ai: on ? '1' : null })} />
                  </>
                }
              >
                <QueryState
                  query={result}
                  skeleton={<ChartSkeleton height={300} />}
                  hideError={formError}
                  isEmpty={(d) => d.series.length === 0}
                  empty={<Empty title={t('metrics.noData')} hint={t('metrics.noDataHint')} />}
                >
                  {() => (
                    <>
                      <Chart
                        kind="line"
                        height={300}
                        ariaLabel={t('metrics.chartLabel', { metric: selectedName })}
                        x={insights.x}
                        ys={insights.ys}
                        series={chart.labels.map((l, i) => ({ label: l, color: colors[i]! }))}
                        yFormat={(v) => formatWithUnit(v, unit)}
                        yAxisFormat={(v) => (['ms', 's', 'us', 'ns', 'By'].includes(unit) ? formatWithUnit(v, unit) : formatCompact(v))}
                        legend
                        onBrush={range.zoom}
                        insights={marked}
                      />
                      {single && stored.isError && (
                        <p className="muted small">{t('metrics.storedFailed', { reason: describeError(stored.error, t).title })}</p>
                      )}
                      {!!storedAnomalies?.length && (
                        <p className="muted small" data-testid="stored-anomalies">
                          {t('metrics.stored', { count: storedAnomalies.length, n: formatCount(storedAnomalies.length) })}{' '}
                          <Link to={linkTo('/anomalies', { signal: 'metric' })}>{t('metrics.storedLink')}</Link>
                        </p>
                      )}
                      {ai && <InsightSummary history={history} chart={chart} insights={insights} colors={colors} />}
                    </>
                  )}
                </QueryState>
              </Panel>
            </>
          )}
        </div>
      </div>
    </div>
  );
}

/** A series' name on the chart: its group-by labels, or the metric's name when it has none. */
function seriesLabel(s: MetricSeries, metric: string): string {
  const entries = Object.entries(s.labels).sort((a, b) => a[0].localeCompare(b[0]));
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(', ') : metric;
}

/** The look-back's points of each series, by the label the chart shows it under. */
function byLabel(data: QueryMetricsResponse | undefined, metric: string) {
  return data && new Map(data.series.map((s) => [seriesLabel(s, metric), toPoints(s.points)]));
}

function MetricList({
  metrics,
  isActive,
  onPick,
}: {
  metrics: readonly MetricDescriptor[];
  isActive: (m: MetricDescriptor) => boolean;
  onPick: (m: MetricDescriptor) => void;
}) {
  const { t } = useTranslation();
  return (
    <ul className="metric-list">
      {metrics.map((m) => {
        const active = isActive(m);
        return (
          <li key={`${m.name}|${m.type}`}>
            <button type="button" className={`metric-item ${active ? 'active' : ''}`} aria-current={active ? 'true' : undefined} onClick={() => onPick(m)}>
              <span className="metric-name">{m.name}</span>
              <span className="metric-meta">
                {t(`metrics.types.${TYPE_NAME[m.type] ?? 'unknown'}`)}
                {m.type === MetricType.SUM && (m.monotonic ? ` · ${t('metrics.counter')}` : ` · ${t('metrics.upDown')}`)}
                {m.unit ? ` · ${m.unit}` : ''}
              </span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}
