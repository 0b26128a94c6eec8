// Every service's RED numbers as the query service computes them, with the
// versions each runs (canary side by side).
import { ConnectError } from '@connectrpc/connect';
import { useMemo } from 'react';
import { errorKind } from '../../api/errors';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { useQueryMetrics, useServiceOverview } from '../../api/hooks';
import { useTimeRange } from '../../app/timeRange';
import { useLinkTo, useUrlState } from '../../app/urlState';
import { Chart } from '../../components/Chart';
import { SortHeader, sortRows, useSortState } from '../../components/SortHeader';
import { Empty, ErrorPanel, Panel, QueryState, Skeleton } from '../../components/states';
import { colorFor, healthOf } from '../../lib/colors';
import { formatCount, formatDurationNanos, formatPercent, formatRate } from '../../lib/format';
import { nanosToMs } from '../../lib/time';
import type { RedSeries, QueryMetricsResponse } from '../../gen/airis/analytics/v1/query_pb';
import { latestFullValue } from './versions';

export default function ServicesPage() {
  const { t } = useTranslation();
  const range = useTimeRange();
  const [params, update] = useUrlState();
  const entryOnly = params.get('spans') !== 'all';
  const overview = useServiceOverview({ startMs: range.startMs, endMs: range.endMs, entrySpansOnly: entryOnly });
  const versions = useQueryMetrics({
    startMs: range.startMs,
    endMs: range.endMs,
    metric: 'http.server.request.count',
    aggregation: 'rate',
    groupBy: ['service.name', 'service.version'],
  });
  const [sortKey, dir, setSort] = useSortState('rate');

  // NOT_FOUND: no service sends the metric in this range; nothing to show.
  const versionsFailed = versions.isError && errorKind(ConnectError.from(versions.error).code) !== 'notFound';
  const versionsByService = useMemo(() => groupVersions(versions.data, range.endMs), [versions.data, range.endMs]);

  const rows = useMemo(() => {
    const series = overview.data?.series ?? [];
    const get = (s: RedSeries): number | string => {
      switch (sortKey) {
        case 'name':
          return s.serviceName;
        case 'errors':
          return s.errorRate;
        case 'p95':
          return Number(s.latency?.p95Nano ?? 0n);
        case 'p99':
          return Number(s.latency?.p99Nano ?? 0n);
        case 'count':
          return Number(s.requestCount);
        default:
          return s.requestRate;
      }
    };
    return sortRows(series, get, dir);
  }, [overview.data, sortKey, dir]);

  return (
    <div className="page">
      <div className="page-header">
        <div>
          <h1>{t('services.title')}</h1>
          <div className="page-sub">{t('services.subtitle')}</div>
        </div>
        <div className="row">
          <label htmlFor="spans-mode">{t('services.countSpans')}</label>
          <select
            id="spans-mode"
            value={entryOnly ? 'entry' : 'all'}
            onChange={(e) => update({ spans: e.target.value === 'all' ? 'all' : null })}
          >
            <option value="entry">{t('services.entrySpans')}</option>
            <option value="all">{t('services.allSpans')}</option>
          </select>
        </div>
      </div>
      <Panel>
        <QueryState
          query={overview}
          skeleton={<Skeleton rows={6} height={22} />}
          isEmpty={() => rows.length === 0}
          empty={<Empty title={t('services.emptyTitle')} hint={t('services.emptyHint')} />}
        >
          {() => (
            <div className="table-wrap">
              <table className="data">
                <caption className="sr-only">{t('services.title')}</caption>
                <thead>
                  <tr>
                    <SortHeader k="name" current={sortKey} dir={dir} onSort={setSort}>
                      {t('services.service')}
                    </SortHeader>
                    <SortHeader k="rate" current={sortKey} dir={dir} onSort={setSort} numeric>
                      {t('red.rate')}
                    </SortHeader>
                    <SortHeader k="errors" current={sortKey} dir={dir} onSort={setSort} numeric>
                      {t('red.errorRate')}
                    </SortHeader>
                    <SortHeader k="p95" current={sortKey} dir={dir} onSort={setSort} numeric>
                      p95
                    </SortHeader>
                    <SortHeader k="p99" current={sortKey} dir={dir} onSort={setSort} numeric>
                      p99
                    </SortHeader>
                    <SortHeader k="count" current={sortKey} dir={dir} onSort={setSort} numeric>
                      {t('red.requests')}
                    </SortHeader>
                    <th scope="col">{t('services.trend')}</th>
                    <th scope="col">{t('services.versions')}</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((s) => (
                    <ServiceRow key={s.serviceName} s={s} versions={versionsFailed ? null : (versionsByService.get(s.serviceName) ?? [])} />
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </QueryState>
      </Panel>
      {versionsFailed && (
        <Panel title={t('services.versions')}>
          <ErrorPanel error={versions.error} onRetry={() => void versions.refetch()} compact />
        </Panel>
      )}
    </div>
  );
}

/** One service's RED numbers, its requests over time and its versions (null: they failed to load). */
function ServiceRow({ s, versions }: { s: RedSeries; versions: VersionRate[] | null }) {
  const { t } = useTranslation();
  const linkTo = useLinkTo();
  const health = healthOf(s.errorRate);
  return (
    <tr data-testid="service-row">
      <td>
        <span className="svc-dot" style={{ background: colorFor(s.serviceName) }} aria-hidden="true" />
        <Link to={linkTo(`/services/${encodeURIComponent(s.serviceName)}`)}>{s.serviceName}</Link>
      </td>
      <td className="num">{formatRate(s.requestRate)}</td>
      <td className={`num text-${health === 'bad' ? 'error' : health === 'warn' ? 'warn' : 'ok'}`}>
        {formatPercent(s.errorRate)}
      </td>
      <td className="num">{formatDurationNanos(s.latency?.p95Nano ?? 0n)}</td>
      <td className="num">{formatDurationNanos(s.latency?.p99Nano ?? 0n)}</td>
      <td className="num">{formatCount(s.requestCount)}</td>
      <td>
        <Chart
          kind="line"
          sparkline
          height={28}
          ariaLabel={t('services.sparkLabel', { service: s.serviceName })}
          x={s.points.map((p) => nanosToMs(p.timeUnixNano) / 1000)}
          ys={[s.points.map((p) => Number(p.requestCount))]}
          series={[{ label: t('red.requests'), color: colorFor(s.serviceName) }]}
        />
      </td>
      <td>
        {versions === null ? (
          <span className="muted">–</span>
        ) : (
          <span className="row" style={{ gap: 4 }}>
            {versions.map((v) => (
              <Link
                key={v.version}
                className="badge badge-link"
                title={t('services.versionRate')}
                to={linkTo('/metrics', {
                  metric: 'http.server.request.count',
                  type: 'sum',
                  agg: 'rate',
                  group: ['service.version'],
                  filter: [`service.name=${s.serviceName}`],
                })}
              >
                {v.version || t('services.noVersion')} · {v.rate === null ? '–' : formatRate(v.rate)}
              </Link>
            ))}
          </span>
        )}
      </td>
    </tr>
  );
}

interface VersionRate {
  version: string;
  rate: number | null;
}

function groupVersions(data: QueryMetricsResponse | undefined, endMs: number): Map<string, VersionRate[]> {
  const out = new Map<string, VersionRate[]>();
  if (!data) return out;
  for (const s of data.series) {
    const svc = s.labels['service.name'] ?? '';
    const list = out.get(svc) ?? [];
    list.push({ version: s.labels['service.version'] ?? '', rate: latestFullValue(s.points, data.stepSeconds, endMs) });
    out.set(svc, list);
  }
  for (const list of out.values()) list.sort((a, b) => a.version.localeCompare(b.version));
  return out;
}
