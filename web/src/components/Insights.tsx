// Anomaly detection and forecasts for a page's line charts: the switch,
// the calls for the chart's first series, and what they found, said under
// the chart. The pure parts are in lib/insights.
import type { TFunction } from 'i18next';
import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { isTooFewPoints } from '../api/errors';
import { useForecast, useScoreSeries } from '../api/hooks';
import type { ForecastResponse, ScoreSeriesResponse } from '../gen/airis/aiops/v1/anomaly_pb';
import { formatCount, formatInterval, formatScore } from '../lib/format';
import {
  anomalyCounts,
  forecastHorizon,
  insightInputs,
  MAX_INSIGHT_SERIES,
  seasonalityName,
  withInsights,
  type ChartColumns,
  type Points,
} from '../lib/insights';
import { Empty, QueryState, Skeleton, type QueryLike } from './states';
import './Insights.css';

/** The "Anomalies and forecast" switch; pages keep it in the URL (`ai=1`). */
export function InsightToggle({ checked, onChange }: { checked: boolean; onChange: (on: boolean) => void }) {
  const { t } = useTranslation();
  return (
    <label className="insight-toggle">
      <input type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} />
      {t('aiops.title')}
    </label>
  );
}

/** A line chart's columns and its series' labels, in chart order. */
export interface LabelledColumns extends ChartColumns {
  labels: string[];
}

/**
 * Scores and forecasts of the chart's first series, sent with their
 * look-back (`history`, by series label: undefined while it loads or when
 * switched off), and the chart's columns with the answers drawn in.
 * `context` names what was queried (see SeriesPoints).
 */
export function useChartInsights(chart: LabelledColumns, history: ReadonlyMap<string, Points> | undefined, context: string) {
  const { t } = useTranslation();
  const inputs = useMemo(() => (history ? insightInputs(chart.labels, history, context) : []), [chart.labels, history, context]);
  const scores = useScoreSeries(inputs);
  const forecasts = useForecast(inputs, forecastHorizon(chart.x.length));
  const drawn = useMemo(
    () =>
      withInsights(
        chart,
        inputs.map((input, i) => ({ series: input.series, score: scores[i]?.data, forecast: forecasts[i]?.data })),
        (kind) => t(`aiops.kind.${kind}`),
      ),
    [chart, inputs, scores, forecasts, t],
  );
  return { ...drawn, inputs, scores, forecasts };
}

export type ChartInsights = ReturnType<typeof useChartInsights>;

/**
 * What the detector and the forecaster found, per analysed series: the
 * anomalies among the visible points by kind, the forecast's method and
 * patterns. `history` is the look-back query (its loading and failure are
 * shown here); `colors` are the series' chart colours.
 */
export function InsightSummary({
  history,
  chart,
  insights,
  colors,
}: {
  history: QueryLike<unknown>;
  chart: LabelledColumns;
  insights: ChartInsights;
  colors: readonly string[];
}) {
  const { t } = useTranslation();
  const { labels } = chart;
  return (
    <section className="insight-summary" aria-label={t('aiops.title')}>
      {labels.length > MAX_INSIGHT_SERIES && <p className="muted">{t('aiops.firstSeries', { max: MAX_INSIGHT_SERIES, total: labels.length })}</p>}
      <QueryState
        query={history}
        skeleton={<Skeleton rows={2} />}
        compact
        isEmpty={() => insights.inputs.length === 0}
        empty={<Empty title={t('aiops.noPoints')} hint={t('aiops.widen')} />}
      >
        {() => (
          <ul className="insight-list">
            {insights.inputs.map((input, i) => (
              <li key={input.id}>
                <div className="insight-series">
                  <span className="swatch" style={{ background: colors[input.series] }} aria-hidden="true" />
                  {labels[input.series]}
                </div>
                <QueryState query={insights.scores[i]!} skeleton={<Skeleton rows={1} />} compact>
                  {(score) => <AnomalyLine score={score} visibleX={chart.x} />}
                </QueryState>
                <ForecastLine query={insights.forecasts[i]!} />
              </li>
            ))}
          </ul>
        )}
      </QueryState>
    </section>
  );
}

function AnomalyLine({ score, visibleX }: { score: ScoreSeriesResponse; visibleX: readonly number[] }) {
  const { t } = useTranslation();
  const counts = anomalyCounts(score, visibleX);
  const total = counts.reduce((n, c) => n + c.count, 0);
  if (total === 0) return <p className="insight-line">{t('aiops.noAnomalies')}</p>;
  const kinds = counts.map((c) => t('aiops.kindCount', { kind: t(`aiops.kind.${c.kind}`), n: formatCount(c.count) })).join(', ');
  return <p className="insight-line">{t('aiops.anomalies', { count: total, n: formatCount(total), kinds })}</p>;
}

/** The forecast's span, method and patterns; a history too short to forecast says how to get one. */
function ForecastLine({ query }: { query: QueryLike<ForecastResponse> }) {
  const { t } = useTranslation();
  if (query.isError && isTooFewPoints(query.error)) return <p className="insight-line muted">{t('aiops.tooFewPoints')}</p>;
  return (
    <QueryState query={query} skeleton={<Skeleton rows={1} />} compact>
      {(f) => (
        <p className="insight-line">
          {t('aiops.forecast', {
            span: formatInterval(Number(f.stepSeconds) * f.points.length * 1000),
            method: f.method,
            patterns: patterns(f, t),
          })}
        </p>
      )}
    </QueryState>
  );
}

/** "daily pattern (strength 0.73)", or that there is none. */
function patterns(f: ForecastResponse, t: TFunction): string {
  if (f.seasonality.length === 0) return t('aiops.noPattern');
  return f.seasonality
    .map((s) => {
      const strength = formatScore(s.strength);
      switch (seasonalityName(s.periodSeconds)) {
        case 'daily':
          return t('aiops.daily', { strength });
        case 'weekly':
          return t('aiops.weekly', { strength });
        default:
          return t('aiops.pattern', { period: formatInterval(Number(s.periodSeconds) * 1000), strength });
      }
    })
    .join(', ');
}
