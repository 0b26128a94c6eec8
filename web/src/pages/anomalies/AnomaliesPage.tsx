// Anomalies that continuous detection found (AnomalyService.ListAnomalies):
// filters in the URL, a timeline with one lane per series, the table, and
// live updates (WatchAnomalies) while the range ends now.
import type { TFunction } from 'i18next';
import { useCallback, useMemo, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { describeError, isFormError } from '../../api/errors';
import {
  ANOMALY_SIGNAL_NAMES,
  anomalySignalName,
  isAnomalySignalName,
  parseMinScore,
  type AnomalyFilterInput,
  type AnomalySignalName,
} from '../../api/filters';
import { useListAnomalies, useOperations, useServices, useWatchAnomalies } from '../../api/hooks';
import { useTimeRange } from '../../app/timeRange';
import { useDraft, useLinkTo, useUrlState } from '../../app/urlState';
import { Chart } from '../../components/Chart';
import { Field, FormSubmit, NameField } from '../../components/Field';
import { Pager } from '../../components/Pager';
import { ChartSkeleton, Empty, FormError, Panel, QueryState, Skeleton } from '../../components/states';
import { TableHead } from '../../components/TableHead';
import type { Anomaly } from '../../gen/airis/aiops/v1/anomaly_pb';
import { formatCount, formatScore, formatShortDateTime, formatTime } from '../../lib/format';
import { kindName } from '../../lib/insights';
import { nanosToMs } from '../../lib/time';
import {
  addLive,
  anomalyKey,
  buildLanes,
  formatSignalValue,
  laneColumns,
  markStyle,
  mergeAnomalies,
  metricSeriesText,
  metricsPageParams,
  SCORE_COLORS,
  windowAround,
  type Lane,
} from './anomalies';
import '../pages.css';
import './anomalies.css';

/** Rows per page of the table. */
const PAGE_SIZE = 100;
/** Anomalies the timeline asks for: the most ListAnomalies gives in one page. */
const TIMELINE_SIZE = 1000;

interface LiveState {
  /** The filter the stream had (a JSON key): anomalies of another filter are not shown. */
  key: string;
  anomalies: Anomaly[];
  /** The last batch that brought new ones: how many, when. */
  arrived: { n: number; atMs: number } | null;
}

const NO_LIVE: LiveState = { key: '', anomalies: [], arrived: null };

export default function AnomaliesPage() {
  const { t } = useTranslation();
  const range = useTimeRange();
  const [params, update] = useUrlState();

  const applied = {
    service: params.get('service') ?? '',
    operation: params.get('operation') ?? '',
    signals: params.getAll('signal').filter(isAnomalySignalName),
    minScore: params.get('minScore') ?? '',
    page: params.get('page') ?? '',
  };
  // The form edits a draft; Search writes it to the URL.
  const [draft, setDraft] = useDraft(applied);
  const draftScoreInvalid = draft.minScore.trim() !== '' && parseMinScore(draft.minScore) === null;

  // A minimum score the URL gives that is not one is ignored.
  const minScore = parseMinScore(applied.minScore);
  const filter: AnomalyFilterInput = {
    service: applied.service || undefined,
    operation: applied.operation || undefined,
    signals: applied.signals.length ? applied.signals : undefined,
    minScore: minScore ?? undefined,
  };
  const filtered = !!(filter.service || filter.operation || filter.signals || filter.minScore);
  const filterKey = JSON.stringify(filter);

  const within = { startMs: range.startMs, endMs: range.endMs };
  const list = useListAnomalies({ ...within, ...filter, pageToken: applied.page || undefined, pageSize: PAGE_SIZE });
  const timeline = useListAnomalies({ ...within, ...filter, pageSize: TIMELINE_SIZE });
  const services = useServices(range);
  const operations = useOperations(range, draft.service);

  // Live: on by default while the range ends now (`live=off` turns it off).
  const canLive = range.to === 'now';
  const liveOn = canLive && params.get('live') !== 'off';
  const [liveState, setLiveState] = useState<LiveState>(NO_LIVE);
  const onAnomalies = useCallback(
    (batch: Anomaly[]) =>
      setLiveState((prev) => {
        const before = prev.key === filterKey ? prev : { ...NO_LIVE, key: filterKey };
        const { anomalies, added } = addLive(before.anomalies, batch);
        return { key: filterKey, anomalies, arrived: added > 0 ? { n: added, atMs: Date.now() } : before.arrived };
      }),
    [filterKey],
  );
  // Anomalies stored while no stream was open: listed again, up to now.
  const watch = useWatchAnomalies(filter, liveOn, { anomalies: onAnomalies, reconnected: range.reload });
  const live = useMemo(
    () =>
      liveOn && liveState.key === filterKey ? liveState.anomalies.filter((a) => nanosToMs(a.timeUnixNano) >= range.startMs) : [],
    [liveOn, liveState, filterKey, range.startMs],
  );
  const setLive = (on: boolean) => {
    setLiveState(NO_LIVE);
    update({ live: on ? null : 'off' }, { replace: true });
  };

  const firstPage = !applied.page;
  const listed = list.data?.anomalies;
  const rows = useMemo(() => mergeAnomalies(firstPage ? live : [], listed ?? []), [firstPage, live, listed]);
  const fresh = useMemo(() => new Set(live.map(anomalyKey)), [live]);
  const plotted = useMemo(() => mergeAnomalies(live, timeline.data?.anomalies ?? []), [live, timeline.data]);
  const threshold = timeline.data?.anomalyThreshold ?? list.data?.anomalyThreshold ?? 0;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (draftScoreInvalid) return;
    const score = parseMinScore(draft.minScore);
    update({
      service: draft.service || null,
      operation: draft.operation.trim() || null,
      signal: draft.signals,
      minScore: score ? String(score) : null,
      page: null,
    });
  };

  const formError = list.isError && isFormError(list.error);

  return (
    <div className="page">
      <div className="page-header">
        <div>
          <h1>{t('anomalies.title')}</h1>
          <div className="page-sub">{t('anomalies.subtitle')}</div>
        </div>
        <div className="live-controls">
          <label className="live-toggle">
            <input
              type="checkbox"
              checked={liveOn}
              disabled={!canLive}
              aria-describedby={canLive ? undefined : 'anomalies-live-hint'}
              onChange={(e) => setLive(e.target.checked)}
            />
            {t('anomalies.live')}
          </label>
          {!canLive && (
            <span id="anomalies-live-hint" className="muted small">
              {t('anomalies.liveNeedsNow')}
            </span>
          )}
          {/* Present from the start, so that what it says later is announced. */}
          <p className={`live-status ${watch.error ? 'live-status-error' : ''}`} role="status">
            {liveOn && <LiveStatus error={watch.error} stopped={watch.stopped} arrived={liveState.key === filterKey ? liveState.arrived : null} />}
          </p>
        </div>
      </div>

      <Panel>
        <form className="search-form" onSubmit={submit} aria-label={t('anomalies.filterForm')}>
          <NameField
            id="an-service"
            label={t('filters.service')}
            anyLabel={t('filters.anyService')}
            names={services.data?.serviceNames ?? []}
            value={draft.service}
            onChange={(service) => setDraft({ ...draft, service, operation: '' })}
          />
          <Field id="an-operation" label={t('filters.operation')} hint={draft.service ? undefined : t('anomalies.operationHint')}>
            {(control) => (
              <>
                <input
                  {...control}
                  list="an-operations"
                  value={draft.operation}
                  placeholder={t('filters.anyOperation')}
                  onChange={(e) => setDraft({ ...draft, operation: e.target.value })}
                />
                <datalist id="an-operations">
                  {(draft.service ? (operations.data?.operations ?? []) : []).map((o) => (
                    <option key={o.name} value={o.name} />
                  ))}
                </datalist>
              </>
            )}
          </Field>
          <fieldset className="signal-filters">
            <legend>{t('anomalies.signals')}</legend>
            {ANOMALY_SIGNAL_NAMES.map((s) => (
              <label key={s} className="check">
                <input
                  type="checkbox"
                  checked={draft.signals.includes(s)}
                  onChange={(e) =>
                    setDraft({
                      ...draft,
                      signals: e.target.checked
                        ? ANOMALY_SIGNAL_NAMES.filter((n) => n === s || draft.signals.includes(n))
                        : draft.signals.filter((n) => n !== s),
                    })
                  }
                />
                {signalLabel(t, s)}
              </label>
            ))}
          </fieldset>
          <Field
            id="an-min-score"
            label={t('anomalies.minScore')}
            hint={t('anomalies.minScoreHint')}
            error={draftScoreInvalid ? t('anomalies.minScoreInvalid') : undefined}
            className="narrow"
          >
            {(control) => (
              <input
                {...control}
                type="number"
                min={0}
                max={1}
                step="any"
                inputMode="decimal"
                value={draft.minScore}
                onChange={(e) => setDraft({ ...draft, minScore: e.target.value })}
              />
            )}
          </Field>
          <FormSubmit label={t('common.search')} />
        </form>
        {formError && <FormError error={list.error} />}
      </Panel>

      <Panel title={t('anomalies.timeline')}>
        {/* A failure of both lists shows once, with the table. */}
        <QueryState
          query={timeline}
          skeleton={<ChartSkeleton height={140} />}
          hideError={list.isError}
          compact
          isEmpty={() => plotted.length === 0}
          empty={<p className="muted small">{t('anomalies.timelineEmpty')}</p>}
        >
          {(d) => (
            <Timeline
              anomalies={plotted}
              threshold={threshold}
              startMs={range.startMs}
              endMs={range.endMs}
              onBrush={range.zoom}
              truncated={!!d.page?.nextPageToken}
            />
          )}
        </QueryState>
      </Panel>

      <Panel title={t('anomalies.results')} actions={<Pager next={list.data?.page?.nextPageToken || undefined} />}>
        <QueryState
          query={list}
          skeleton={<Skeleton rows={8} />}
          hideError={formError}
          isEmpty={() => rows.length === 0}
          empty={
            <Empty title={t('anomalies.emptyTitle')} hint={t('anomalies.emptyHint')}>
              {filtered && <div className="empty-hint">{t('anomalies.emptyFiltered')}</div>}
            </Empty>
          }
        >
          {() => <AnomalyTable anomalies={rows} fresh={fresh} threshold={threshold} />}
        </QueryState>
      </Panel>
    </div>
  );
}

/** What the live stream is doing, in words: watching, what arrived last, or why it is interrupted. */
function LiveStatus({ error, stopped, arrived }: { error: unknown; stopped: boolean; arrived: LiveState['arrived'] }) {
  const { t } = useTranslation();
  if (error) {
    const reason = describeError(error, t).title;
    return <>{stopped ? t('anomalies.liveStopped', { reason }) : t('anomalies.liveInterrupted', { reason })}</>;
  }
  if (arrived) return <>{t('anomalies.arrived', { count: arrived.n, n: formatCount(arrived.n), time: formatTime(arrived.atMs) })}</>;
  return <>{t('anomalies.liveWatching')}</>;
}

/** "service · operation · signal", the operation '' being the service as a whole; a metric series as `avg(name{…})`. */
function useSeriesLabel() {
  const { t } = useTranslation();
  return useCallback(
    (s: Pick<Lane, 'serviceName' | 'operation' | 'signal' | 'metric'>) =>
      s.metric
        ? metricSeriesText(s.metric)
        : [s.serviceName, s.operation || t('anomalies.wholeService'), signalLabel(t, anomalySignalName(s.signal))].join(' · '),
    [t],
  );
}

function signalLabel(t: TFunction, name: AnomalySignalName | null): string {
  if (!name) return t('anomalies.unknownSignal');
  return name === 'metric' ? t('anomalies.metricSignal') : t(`red.${name}`);
}

/** The anomalies on a time axis, one lane per series, marks sized and coloured by score. */
function Timeline({
  anomalies,
  threshold,
  startMs,
  endMs,
  onBrush,
  truncated,
}: {
  anomalies: readonly Anomaly[];
  threshold: number;
  startMs: number;
  endMs: number;
  onBrush: (startMs: number, endMs: number) => void;
  truncated: boolean;
}) {
  const { t } = useTranslation();
  const label = useSeriesLabel();
  const { lanes, total } = useMemo(() => buildLanes(anomalies), [anomalies]);
  const columns = useMemo(() => laneColumns(lanes, (a) => t(`aiops.kind.${kindName(a.kind)}`)), [lanes, t]);
  // Live anomalies may be newer than the range's end.
  const lastMs = columns.x.length ? columns.x[columns.x.length - 1]! * 1000 + 60_000 : endMs;
  return (
    <>
      <Chart
        kind="lanes"
        height={Math.max(110, 40 + lanes.length * 26)}
        ariaLabel={t('anomalies.timelineLabel')}
        x={columns.x}
        ys={columns.ys}
        series={lanes.map((l) => ({ label: label(l), color: markStyle(l.maxScore, threshold).color }))}
        yFormat={formatScore}
        xRange={[startMs / 1000, Math.max(endMs, lastMs) / 1000]}
        onBrush={onBrush}
        marks={{ style: (v) => markStyle(v, threshold), noteLabel: t('chart.anomaly'), notes: columns.notes }}
      />
      <ul className="chart-key" aria-hidden="true">
        <li>
          {SCORE_COLORS.map((c, i) => (
            <span key={c} className="score-mark" style={{ background: c, width: 8 + 4 * i, height: 8 + 4 * i }} />
          ))}
          {t('anomalies.timelineKey')}
        </li>
      </ul>
      {total > lanes.length && <p className="muted small">{t('anomalies.moreLanes', { shown: lanes.length, total })}</p>}
      {truncated && <p className="muted small">{t('anomalies.moreAnomalies', { n: formatCount(TIMELINE_SIZE) })}</p>}
    </>
  );
}

/** Anomalies newest first; those that arrived live are marked new. */
function AnomalyTable({ anomalies, fresh, threshold }: { anomalies: readonly Anomaly[]; fresh: ReadonlySet<string>; threshold: number }) {
  const { t } = useTranslation();
  const linkTo = useLinkTo();
  return (
    <div className="table-wrap">
      <table className="data">
        <TableHead
          columns={[
            { label: t('chart.time') },
            { label: t('filters.service') },
            { label: t('filters.operation') },
            { label: t('anomalies.signal') },
            { label: t('anomalies.value'), numeric: true },
            { label: t('chart.expected'), numeric: true },
            { label: t('chart.band'), numeric: true },
            { label: t('chart.score'), numeric: true },
            { label: t('chart.anomaly') },
          ]}
        />
        <tbody>
          {anomalies.map((a) => {
            const key = anomalyKey(a);
            const minuteMs = nanosToMs(a.timeUnixNano);
            const time = formatShortDateTime(minuteMs);
            const value = (v: number) => formatSignalValue(a.signal, v);
            return (
              <tr key={key} data-testid="anomaly-row">
                <td className="nowrap">
                  {time}
                  {fresh.has(key) && <span className="badge badge-warn anomaly-new">{t('anomalies.new')}</span>}
                </td>
                {a.metric ? (
                  // A metric series: no service or operation; its chart on the Metrics page.
                  <td colSpan={2}>
                    <Link
                      className="mono"
                      to={linkTo('/metrics', { ...metricsPageParams(a.metric, minuteMs), refresh: null })}
                      aria-label={t('anomalies.metricAround', { series: metricSeriesText(a.metric), time })}
                    >
                      {metricSeriesText(a.metric)}
                    </Link>
                  </td>
                ) : (
                  <>
                    <td>
                      <Link
                        to={linkTo(`/services/${encodeURIComponent(a.serviceName)}`, { ...windowAround(minuteMs), refresh: null })}
                        aria-label={t('anomalies.serviceAround', { service: a.serviceName, time })}
                      >
                        {a.serviceName}
                      </Link>
                    </td>
                    <td>{a.operation || <span className="muted">{t('anomalies.wholeService')}</span>}</td>
                  </>
                )}
                <td>{signalLabel(t, anomalySignalName(a.signal))}</td>
                <td className="num">{value(a.value)}</td>
                <td className="num">{value(a.expected)}</td>
                <td className="num">
                  {value(a.lower)} – {value(a.upper)}
                </td>
                <td className="num">
                  <span className="score-mark" style={{ background: markStyle(a.score, threshold).color }} aria-hidden="true" />
                  {formatScore(a.score)}
                </td>
                <td>{t(`aiops.kind.${kindName(a.kind)}`)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
