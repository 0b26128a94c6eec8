// One service: RED over time per operation (anomalies and forecasts of the
// rate and p95 on request), slowest and failing operations, recent errors,
// logs and neighbours on the service map.
import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { useSearchLogs, useSearchSpans, useServiceMap, useServiceOverview, useServiceOverviewHistory } from '../../api/hooks';
import { useTimeRange } from '../../app/timeRange';
import { useLinkTo, useUrlState } from '../../app/urlState';
import { Chart } from '../../components/Chart';
import { InsightSummary, InsightToggle, useChartInsights, type ChartInsights, type LabelledColumns } from '../../components/Insights';
import { LogResults } from '../../components/LogRow';
import { ChartSkeleton, Empty, ErrorPanel, Panel, QueryState, Skeleton, type QueryLike } from '../../components/states';
import { TableHead } from '../../components/TableHead';
import type { RedSeries, ServiceEdge, ServiceOverviewResponse, Span } from '../../gen/airis/analytics/v1/query_pb';
import { healthTextClass, PALETTE } from '../../lib/colors';
import {
  formatCompact,
  formatCount,
  formatDateTime,
  formatDurationMs,
  formatDurationNanos,
  formatInterval,
  formatPercent,
  formatRate,
} from '../../lib/format';
import { historyWindow, toPoints } from '../../lib/insights';
import { nanosToMs } from '../../lib/time';
import './service.css';

export default function ServicePage() {
  const { t } = useTranslation();
  const { name = '' } = useParams();
  const range = useTimeRange();
  const [params, update] = useUrlState();
  const linkTo = useLinkTo();
  const entryOnly = params.get('spans') !== 'all';
  const perOp = useServiceOverview({ startMs: range.startMs, endMs: range.endMs, service: name, entrySpansOnly: entryOnly });
  const all = useServiceOverview({ startMs: range.startMs, endMs: range.endMs, entrySpansOnly: entryOnly });
  const total = all.data?.series.find((s) => s.serviceName === name);
  const errors = useSearchSpans({ startMs: range.startMs, endMs: range.endMs, service: name, status: 'error' }, 'newest', '', 20);
  const logs = useSearchLogs({ startMs: range.startMs, endMs: range.endMs, service: name, pageSize: 50 });
  const map = useServiceMap(range);

  const charts = useMemo(() => buildCharts(perOp.data), [perOp.data]);
  const colors = charts.rate.labels.map((_, i) => PALETTE[i % PALETTE.length]!);

  // Anomalies and forecasts of the rate and p95: their look-back at the
  // charts' step, asked once the charts show this service's answer.
  const ai = params.get('ai') === '1';
  const step = perOp.data?.stepSeconds ?? 0;
  const history = useServiceOverviewHistory(
    { ...historyWindow(range, step), service: name, entrySpansOnly: entryOnly, stepSeconds: step },
    ai && step > 0 && !perOp.isPlaceholderData,
  );
  const context = JSON.stringify([name, entryOnly, step]);
  const rateHistory = useMemo(() => (ai ? historyOf(history.data, 'rate') : undefined), [ai, history.data]);
  const p95History = useMemo(() => (ai ? historyOf(history.data, 'p95') : undefined), [ai, history.data]);
  const rateInsights = useChartInsights(charts.rate, rateHistory, `${context}|rate`);
  const p95Insights = useChartInsights(charts.p95, p95History, `${context}|p95`);
  const insights: Partial<Record<ChartKey, ChartInsights>> = { rate: rateInsights, p95: p95Insights };
  const ops = perOp.data?.series ?? [];
  const slowest = [...ops].sort((a, b) => Number((b.latency?.p99Nano ?? 0n) - (a.latency?.p99Nano ?? 0n))).slice(0, 10);
  const failing = ops.filter((s) => s.errorCount > 0n).sort((a, b) => b.errorRate - a.errorRate).slice(0, 10);
  const neighbours = (map.data?.edges ?? []).filter((e) => e.caller === name || e.callee === name);

  const stepLabel = perOp.data ? t('service.perStep', { step: formatInterval(perOp.data.stepSeconds * 1000) }) : '';

  return (
    <div className="page">
      <div className="page-header">
        <div>
          <div className="page-sub">
            <Link to={linkTo('/services')}>{t('services.title')}</Link> /
          </div>
          <h1>{name}</h1>
        </div>
        <div className="row">
          <label htmlFor="svc-spans">{t('services.countSpans')}</label>
          <select id="svc-spans" value={entryOnly ? 'entry' : 'all'} onChange={(e) => update({ spans: e.target.value === 'all' ? 'all' : null })}>
            <option value="entry">{t('services.entrySpans')}</option>
            <option value="all">{t('services.allSpans')}</option>
          </select>
          <InsightToggle checked={ai} onChange={(on) => update({ ai: on ? '1' : null })} />
          <Link className="btn" to={linkTo('/traces', { service: name })}>
            {t('service.traces')}
          </Link>
          <Link className="btn" to={linkTo('/logs', { service: name })}>
            {t('service.logs')}
          </Link>
          <Link className="btn" to={linkTo('/anomalies', { service: name })}>
            {t('service.anomalies')}
          </Link>
        </div>
      </div>

      <div className="stat-tiles" aria-live="polite">
        <Stat label={t('red.rate')} value={total ? formatRate(total.requestRate) : '–'} />
        <Stat
          label={t('red.errorRate')}
          value={total ? formatPercent(total.errorRate) : '–'}
          className={total ? healthTextClass(total.errorRate) : undefined}
        />
        <Stat label="p50" value={total ? formatDurationNanos(total.latency?.p50Nano ?? 0n) : '–'} />
        <Stat label="p95" value={total ? formatDurationNanos(total.latency?.p95Nano ?? 0n) : '–'} />
        <Stat label="p99" value={total ? formatDurationNanos(total.latency?.p99Nano ?? 0n) : '–'} />
        <Stat label={t('red.requests')} value={total ? formatCount(total.requestCount) : '–'} />
      </div>

      {perOp.isError ? (
        <ErrorPanel error={perOp.error} onRetry={() => void perOp.refetch()} />
      ) : (
        <div className="grid-2">
          {CHARTS.map((k) => {
            const insight = insights[k];
            const drawn = insight ?? charts[k];
            return (
              <Panel key={k} title={`${t(`service.chart.${k}`)}${k === 'errors' ? ` (${stepLabel})` : ''}`}>
                <QueryState
                  query={perOp}
                  skeleton={<ChartSkeleton />}
                  hideError
                  isEmpty={() => ops.length === 0}
                  empty={<Empty title={t('service.noRequests')} hint={t('services.emptyHint')} />}
                >
                  {() => (
                    <>
                      <Chart
                        kind="line"
                        height={180}
                        ariaLabel={t(`service.chart.${k}`)}
                        x={drawn.x}
                        ys={drawn.ys}
                        series={charts[k].labels.map((l, i) => ({ label: l, color: colors[i]! }))}
                        yFormat={k === 'rate' ? (v) => formatRate(v) : k === 'errors' ? formatCompact : formatDurationMs}
                        legend
                        onBrush={range.zoom}
                        insights={insight?.insights}
                      />
                      {ai && insight && <InsightSummary history={history} chart={charts[k]} insights={insight} colors={colors} />}
                    </>
                  )}
                </QueryState>
              </Panel>
            );
          })}
        </div>
      )}

      <div className="grid-2">
        {/* Their failure shows once, above the charts. */}
        <OpPanel title={t('service.slowest')} query={perOp} rows={slowest} service={name} empty={t('service.noRequests')} />
        <OpPanel title={t('service.failing')} query={perOp} rows={failing} service={name} empty={t('service.noFailing')} />
      </div>

      <div className="grid-2">
        <Panel title={t('service.recentErrors')}>
          <QueryState
            query={errors}
            skeleton={<Skeleton rows={4} />}
            compact
            isEmpty={(d) => d.spans.length === 0}
            empty={<Empty title={t('service.noErrors')} />}
          >
            {(d) => <ErrorSpanTable spans={d.spans} />}
          </QueryState>
        </Panel>
        <Panel title={t('service.neighbours')}>
          <QueryState
            query={map}
            skeleton={<Skeleton rows={4} />}
            compact
            isEmpty={() => neighbours.length === 0}
            empty={<Empty title={t('service.noNeighbours')} />}
          >
            {() => <NeighbourTable edges={neighbours} service={name} />}
          </QueryState>
        </Panel>
      </div>

      <Panel title={t('service.logs')} actions={<Link to={linkTo('/logs', { service: name })}>{t('service.allLogs')}</Link>}>
        <LogResults query={logs} rows={5} compact />
      </Panel>
    </div>
  );
}

/** The service's latest error spans, each linking to its place in its trace. */
function ErrorSpanTable({ spans }: { spans: readonly Span[] }) {
  const { t } = useTranslation();
  const linkTo = useLinkTo();
  return (
    <table className="data">
      <TableHead
        columns={[
          { label: t('traces.start') },
          { label: t('trace.operation') },
          { label: t('service.message') },
          { label: t('traces.duration'), numeric: true },
        ]}
      />
      <tbody>
        {spans.map((s) => (
          <tr key={s.spanId}>
            <td className="nowrap">{formatDateTime(nanosToMs(s.startTimeUnixNano))}</td>
            <td>
              <Link to={linkTo(`/traces/${s.traceId}`, { span: s.spanId })}>{s.name}</Link>
            </td>
            <td className="text-error small">{s.statusMessage}</td>
            <td className="num">{formatDurationNanos(s.durationNano)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The service's callers and callees on the service map. */
function NeighbourTable({ edges, service }: { edges: readonly ServiceEdge[]; service: string }) {
  const { t } = useTranslation();
  const linkTo = useLinkTo();
  return (
    <table className="data">
      <TableHead
        columns={[
          { label: t('service.direction') },
          { label: t('services.service') },
          { label: t('red.requests'), numeric: true },
          { label: t('red.errorRate'), numeric: true },
          { label: 'p95', numeric: true },
        ]}
      />
      <tbody>
        {edges.map((e) => {
          const other = e.caller === service ? e.callee : e.caller;
          return (
            <tr key={`${e.caller}→${e.callee}`}>
              <td>{e.caller === service ? t('service.calls') : t('service.calledBy')}</td>
              <td>
                <Link to={linkTo(`/services/${encodeURIComponent(other)}`)}>{other}</Link>
              </td>
              <td className="num">{formatCount(e.requestCount)}</td>
              <td className={`num ${healthTextClass(e.errorRate)}`}>
                {formatPercent(e.errorRate)}
              </td>
              <td className="num">{formatDurationNanos(e.latency?.p95Nano ?? 0n)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function Stat({ label, value, className }: { label: string; value: string; className?: string }) {
  return (
    <div className="stat">
      <div className="stat-label">{label}</div>
      <div className={`stat-value ${className ?? ''}`}>
        {value}
      </div>
    </div>
  );
}

/** Operations of the service (slowest, failing) from the per-operation overview. */
function OpPanel({
  title,
  query,
  rows,
  service,
  empty,
}: {
  title: string;
  query: QueryLike<ServiceOverviewResponse>;
  rows: RedSeries[];
  service: string;
  empty: string;
}) {
  return (
    <Panel title={title}>
      <QueryState query={query} skeleton={<Skeleton rows={4} />} hideError isEmpty={() => rows.length === 0} empty={<Empty title={empty} />}>
        {() => <OpTable rows={rows} service={service} />}
      </QueryState>
    </Panel>
  );
}

function OpTable({ rows, service }: { rows: RedSeries[]; service: string }) {
  const { t } = useTranslation();
  const linkTo = useLinkTo();
  return (
    <table className="data">
      <TableHead
        columns={[
          { label: t('trace.operation') },
          { label: t('red.rate'), numeric: true },
          { label: t('red.errorRate'), numeric: true },
          { label: 'p95', numeric: true },
          { label: 'p99', numeric: true },
        ]}
      />
      <tbody>
        {rows.map((s) => (
          <tr key={s.operation}>
            <td>
              <Link to={linkTo('/traces', { service, operation: s.operation, order: 'longest' })}>{s.operation}</Link>
            </td>
            <td className="num">{formatRate(s.requestRate)}</td>
            <td className={`num ${healthTextClass(s.errorRate)}`}>
              {formatPercent(s.errorRate)}
            </td>
            <td className="num">{formatDurationNanos(s.latency?.p95Nano ?? 0n)}</td>
            <td className="num">{formatDurationNanos(s.latency?.p99Nano ?? 0n)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const CHARTS = ['rate', 'errors', 'p95', 'p99'] as const;
type ChartKey = (typeof CHARTS)[number];
type Bucket = RedSeries['points'][number];

/** Each chart's value of a bucket. Rates are requests per bucket / step; a bucket without requests has no latency: a gap, not zero. */
const VALUE: Record<ChartKey, (p: Bucket, step: number) => number | null> = {
  rate: (p, step) => Number(p.requestCount) / step,
  errors: (p) => Number(p.errorCount),
  p95: (p) => (p.requestCount > 0n ? nanosToMs(p.latency?.p95Nano ?? 0n) : null),
  p99: (p) => (p.requestCount > 0n ? nanosToMs(p.latency?.p99Nano ?? 0n) : null),
};

const seriesLabel = (s: RedSeries) => s.operation || s.serviceName;

/** Every chart with every operation's points aligned on one time axis. */
function buildCharts(data: ServiceOverviewResponse | undefined): Record<ChartKey, LabelledColumns> {
  const series = data?.series ?? [];
  const step = data?.stepSeconds || 60;
  const xs = new Set<number>();
  for (const s of series) for (const p of s.points) xs.add(nanosToMs(p.timeUnixNano) / 1000);
  const x = [...xs].sort((a, b) => a - b);
  const idx = new Map(x.map((v, i) => [v, i]));
  const labels = series.map(seriesLabel);
  const chart = (k: ChartKey): LabelledColumns => ({
    x,
    labels,
    ys: series.map((s) => {
      const out: (number | null)[] = new Array(x.length).fill(null);
      for (const p of s.points) out[idx.get(nanosToMs(p.timeUnixNano) / 1000)!] = VALUE[k](p, step);
      return out;
    }),
  });
  return { rate: chart('rate'), errors: chart('errors'), p95: chart('p95'), p99: chart('p99') };
}

/** The look-back's points of one chart's series, by operation. */
function historyOf(data: ServiceOverviewResponse | undefined, k: ChartKey) {
  const step = data?.stepSeconds || 60;
  return (
    data &&
    new Map(data.series.map((s) => [seriesLabel(s), toPoints(s.points.map((p) => ({ timeUnixNano: p.timeUnixNano, value: VALUE[k](p, step) })))]))
  );
}
