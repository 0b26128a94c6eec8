// What the Anomalies page computes from the API's anomalies: their order,
// live ones merged with listed ones, the timeline's lanes and marks, values
// in their signal's unit, a metric series in words, and the service or
// metrics page's window around one.
import { labelFilterText } from '../../api/filters';
import type { AggregationName } from '../../api/hooks';
import type { Patch } from '../../app/urlState';
import { Signal, type Anomaly, type MetricSeriesSelector } from '../../gen/airis/aiops/v1/anomaly_pb';
import { Aggregation, MatchOperator } from '../../gen/airis/analytics/v1/query_pb';
import { ERROR_COLOR, HEALTH_COLOR, PALETTE } from '../../lib/colors';
import { formatCompact, formatDurationMs, formatPercent, formatRate } from '../../lib/format';
import { nanosToMs } from '../../lib/time';

/**
 * What names a series: service, operation ('' for the service as a whole)
 * and signal; for SIGNAL_METRIC, the metric series (no service or operation).
 */
type SeriesOf = Pick<Anomaly, 'serviceName' | 'operation' | 'signal' | 'metric'>;

/** A metric series' identity: its selector's fields (the service sorts the filters). */
function metricKey(m: MetricSeriesSelector | undefined): unknown {
  return m ? [m.metricName, m.filters.map((f) => [f.key, f.operator, f.value]), m.aggregation, m.quantile] : null;
}

/** The series an anomaly belongs to. */
export function seriesKey(a: SeriesOf): string {
  return JSON.stringify([a.serviceName, a.operation, a.signal, metricKey(a.metric)]);
}

const AGGREGATION_NAME: Partial<Record<Aggregation, AggregationName>> = {
  [Aggregation.SUM]: 'sum',
  [Aggregation.AVG]: 'avg',
  [Aggregation.MIN]: 'min',
  [Aggregation.MAX]: 'max',
  [Aggregation.RATE]: 'rate',
  [Aggregation.QUANTILE]: 'quantile',
};

/** Rid of binary noise from scaling: 0.999 × 100 is 99.89999999999999. */
const round12 = (v: number) => Number(v.toPrecision(12));

/** A label filter as in PromQL where it has one: `queue="c"`, `queue!="c"`; contains as `queue~"c"`, exists as the bare key. */
function filterText(key: string, operator: MatchOperator, value: string): string {
  const quoted = JSON.stringify(value);
  switch (operator) {
    case MatchOperator.EQUALS:
      return `${key}=${quoted}`;
    case MatchOperator.NOT_EQUALS:
      return `${key}!=${quoted}`;
    case MatchOperator.CONTAINS:
      return `${key}~${quoted}`;
    case MatchOperator.EXISTS:
      return key;
    default:
      return `${key}?${quoted}`;
  }
}

/**
 * A metric series in words, as a query would name it: the aggregation
 * around the metric and its label filters, `avg(queue.depth{queue="c"})`;
 * a quantile as `p90(…)`.
 */
export function metricSeriesText(m: MetricSeriesSelector): string {
  const filters = m.filters.length ? `{${m.filters.map((f) => filterText(f.key, f.operator, f.value)).join(', ')}}` : '';
  const name = AGGREGATION_NAME[m.aggregation];
  const agg = name === 'quantile' ? `p${round12(m.quantile * 100)}` : name;
  return agg ? `${agg}(${m.metricName}${filters})` : `${m.metricName}${filters}`;
}

/**
 * The Metrics page's parameters showing a metric series around an
 * anomaly's minute: the metric, its aggregation and filters, one-minute
 * steps (the series detection watches) and `margin` either side.
 */
export function metricsPageParams(m: MetricSeriesSelector, minuteMs: number, margin = SERVICE_WINDOW_MS): Patch {
  const agg = AGGREGATION_NAME[m.aggregation] ?? null;
  return {
    metric: m.metricName,
    type: null,
    agg,
    quantile: agg === 'quantile' ? String(m.quantile) : null,
    filter: m.filters.map(labelFilterText),
    group: null,
    step: '60',
    ...windowAround(minuteMs, margin),
  };
}

/** An anomaly's identity: a series has at most one per minute. */
export function anomalyKey(a: SeriesOf & Pick<Anomaly, 'timeUnixNano'>): string {
  return `${seriesKey(a)}@${a.timeUnixNano}`;
}

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const metricText = (m: MetricSeriesSelector | undefined) => (m ? metricSeriesText(m) : '');

/** The series' order: by service, operation (the service as a whole first), signal, metric series. */
export function compareSeries(a: SeriesOf, b: SeriesOf): number {
  return (
    compareText(a.serviceName, b.serviceName) ||
    compareText(a.operation, b.operation) ||
    a.signal - b.signal ||
    compareText(metricText(a.metric), metricText(b.metric))
  );
}

/** ListAnomalies' order: newest minute first; in a minute, by series. */
export function compareAnomalies(a: Anomaly, b: Anomaly): number {
  if (a.timeUnixNano !== b.timeUnixNano) return a.timeUnixNano > b.timeUnixNano ? -1 : 1;
  return compareSeries(a, b);
}

/**
 * Anomalies that arrived live with those listed: each series and minute
 * once (the live one, the latest stored), in ListAnomalies' order.
 */
export function mergeAnomalies(live: readonly Anomaly[], listed: readonly Anomaly[]): Anomaly[] {
  if (live.length === 0) return [...listed];
  const seen = new Set(live.map(anomalyKey));
  return [...live, ...listed.filter((a) => !seen.has(anomalyKey(a)))].sort(compareAnomalies);
}

/** At most this many live anomalies are kept; the oldest go first. */
export const MAX_LIVE = 1000;

/**
 * A live batch added to the anomalies that arrived before it, newest
 * first: those already there (same series and minute) are replaced, not
 * counted. `added` is how many are new.
 */
export function addLive(
  before: readonly Anomaly[],
  batch: readonly Anomaly[],
  max = MAX_LIVE,
): { anomalies: Anomaly[]; added: number } {
  const known = new Set(before.map(anomalyKey));
  const fresh = new Map<string, Anomaly>();
  for (const a of batch) fresh.set(anomalyKey(a), a);
  let added = 0;
  for (const k of fresh.keys()) if (!known.has(k)) added++;
  const kept = before.filter((a) => !fresh.has(anomalyKey(a)));
  return { anomalies: [...fresh.values(), ...kept].sort(compareAnomalies).slice(0, max), added };
}

/** One lane of the timeline: a series and its anomalies. */
export interface Lane extends SeriesOf {
  key: string;
  anomalies: Anomaly[];
  maxScore: number;
}

/** Lanes drawn at most; the rest are counted. */
export const MAX_LANES = 30;

/**
 * One lane per series, in series order; at most `max`, those with the
 * highest scores. `total` is how many series there were.
 */
export function buildLanes(anomalies: readonly Anomaly[], max = MAX_LANES): { lanes: Lane[]; total: number } {
  const byKey = new Map<string, Lane>();
  for (const a of anomalies) {
    const key = seriesKey(a);
    let lane = byKey.get(key);
    if (!lane) {
      lane = { key, serviceName: a.serviceName, operation: a.operation, signal: a.signal, metric: a.metric, anomalies: [], maxScore: 0 };
      byKey.set(key, lane);
    }
    lane.anomalies.push(a);
    lane.maxScore = Math.max(lane.maxScore, a.score);
  }
  const all = [...byKey.values()];
  const shown = all.length > max ? [...all].sort((a, b) => b.maxScore - a.maxScore || compareSeries(a, b)).slice(0, max) : all;
  return { lanes: shown.sort(compareSeries), total: all.length };
}

/**
 * The lanes as a 'lanes' chart's columns: x the minutes that have an
 * anomaly (epoch seconds, ascending), per lane its score at each (null
 * where it has none) and the anomaly's kind in words.
 */
export function laneColumns(
  lanes: readonly Lane[],
  kindLabel: (a: Anomaly) => string,
): { x: number[]; ys: (number | null)[][]; notes: (string | null)[][] } {
  const minutes = new Set<number>();
  for (const lane of lanes) for (const a of lane.anomalies) minutes.add(nanosToMs(a.timeUnixNano) / 1000);
  const x = [...minutes].sort((a, b) => a - b);
  const at = new Map(x.map((v, i) => [v, i]));
  const ys = lanes.map(() => new Array<number | null>(x.length).fill(null));
  const notes = lanes.map(() => new Array<string | null>(x.length).fill(null));
  lanes.forEach((lane, i) => {
    for (const a of lane.anomalies) {
      const j = at.get(nanosToMs(a.timeUnixNano) / 1000)!;
      // Two of a series in one minute cannot be; if they were, the higher score shows.
      if ((ys[i]![j] ?? -1) < a.score) {
        ys[i]![j] = a.score;
        notes[i]![j] = kindLabel(a);
      }
    }
  });
  return { x, ys, notes };
}

/** Mark colours from just above the threshold to a score of 1. */
export const SCORE_COLORS = [HEALTH_COLOR.warn, PALETTE[2]!, ERROR_COLOR] as const;

/**
 * How far a score lies between the threshold (0) and 1 (1); a threshold
 * outside [0, 1) counts as 0.
 */
export function scoreShare(score: number, threshold: number): number {
  const from = threshold >= 0 && threshold < 1 ? threshold : 0;
  return Math.min(1, Math.max(0, (score - from) / (1 - from)));
}

/** A timeline mark: the higher the score, the larger (4 to 9 px) and redder. */
export function markStyle(score: number, threshold: number): { radius: number; color: string } {
  const share = scoreShare(score, threshold);
  const color = SCORE_COLORS[Math.min(SCORE_COLORS.length - 1, Math.floor(share * SCORE_COLORS.length))]!;
  return { radius: 4 + 5 * share, color };
}

/** A value in its signal's unit: "12.4/s", "1.23%", "850 ms". */
export function formatSignalValue(signal: Signal, value: number): string {
  if (!Number.isFinite(value)) return '–';
  switch (signal) {
    case Signal.REQUEST_RATE:
      return formatRate(value);
    case Signal.ERROR_RATE:
      return formatPercent(value);
    case Signal.LATENCY_P50:
    case Signal.LATENCY_P95:
    case Signal.LATENCY_P99:
      return formatDurationMs(value);
    default:
      return formatCompact(value);
  }
}

/** How far before and after an anomaly's minute its service page shows. */
export const SERVICE_WINDOW_MS = 15 * 60_000;

/**
 * The time range (`from`/`to`, epoch ms as the UI writes them) of the
 * service page for an anomaly: its minute with `margin` either side.
 */
export function windowAround(minuteMs: number, margin = SERVICE_WINDOW_MS): { from: string; to: string } {
  return { from: String(minuteMs - margin), to: String(minuteMs + 60_000 + margin) };
}
