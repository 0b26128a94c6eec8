// Anomaly detection and forecasts over a chart's series (AnomalyService):
// what to send, how far to forecast, and the answers aligned with the
// chart's x. ScoreSeries starts a fresh detector on every call and scores
// its first 100 points 0 (warm-up), so it is sent a longer look-back than
// the chart shows, and only the visible part of its answer is drawn.
import { AnomalyKind, type Anomaly, type ForecastResponse, type ScoredPoint, type ScoreSeriesResponse } from '../gen/airis/aiops/v1/anomaly_pb';
import { nanosToMs } from './time';

/** Series analysed per chart: each costs a ScoreSeries and a Forecast call. */
export const MAX_INSIGHT_SERIES = 5;

/** How far before the visible range the look-back reaches, at most. */
const LOOK_BACK_MS = 24 * 3_600_000;
/**
 * The query service refuses a window of more than
 * analytics.limits.max_points steps (2,000 by default) or
 * max_time_range_secs (31 days): the look-back stays under both.
 */
const MAX_HISTORY_POINTS = 1_900;
const MAX_HISTORY_SPAN_MS = 31 * 86_400_000;

export interface TimeWindow {
  startMs: number;
  endMs: number;
}

/**
 * The window to fetch for scoring and forecasting: the visible one plus up
 * to 24 hours before it, at the chart's step, within the query service's
 * limits; never shorter than the visible window.
 */
export function historyWindow(visible: TimeWindow, stepSeconds: number): TimeWindow {
  const stepMs = Math.max(1, stepSeconds) * 1000;
  const earliest = Math.max(
    visible.startMs - LOOK_BACK_MS,
    visible.endMs - MAX_HISTORY_POINTS * stepMs,
    visible.endMs - MAX_HISTORY_SPAN_MS,
  );
  // Buckets start at multiples of the step: starting on one keeps the first
  // bucket whole (a partial one reads as a dip); rounded up to stay within
  // the limits.
  const start = Math.ceil(earliest / stepMs) * stepMs;
  return { startMs: Math.min(visible.startMs, start), endMs: visible.endMs };
}

/** Steps to forecast: a quarter of the visible points, 10 to 1,440. */
export function forecastHorizon(visiblePoints: number): number {
  return Math.min(1440, Math.max(10, Math.ceil(visiblePoints / 4)));
}

/** A series' points, oldest first: epoch ms and values. */
export interface Points {
  timesMs: number[];
  values: number[];
}

/**
 * A series as the aiops hooks send it. `id` names it (what was queried and
 * the series' label), so that a refresh keeps its previous answer on screen
 * while the new one loads, and another series never shows it.
 */
export interface SeriesPoints extends Points {
  id: string;
}

/** A series to analyse and the index of the chart series it belongs to. */
export interface InsightInput extends SeriesPoints {
  series: number;
}

/** Points as the service takes them: gaps (null) and NaN or ±∞, which it refuses, left out. */
export function toPoints(points: readonly { timeUnixNano: bigint; value: number | null }[]): Points {
  const out: Points = { timesMs: [], values: [] };
  for (const p of points) {
    if (p.value === null || !Number.isFinite(p.value)) continue;
    out.timesMs.push(nanosToMs(p.timeUnixNano));
    out.values.push(p.value);
  }
  return out;
}

/**
 * The chart's first MAX_INSIGHT_SERIES series (by their labels, in chart
 * order), each with its look-back found by label; `context` names what was
 * queried. A series without look-back points is left out.
 */
export function insightInputs(labels: readonly string[], history: ReadonlyMap<string, Points>, context: string): InsightInput[] {
  return labels.slice(0, MAX_INSIGHT_SERIES).flatMap((label, series) => {
    const points = history.get(label);
    return points && points.timesMs.length > 0 ? [{ series, id: `${context}|${label}`, ...points }] : [];
  });
}

export type KindName = 'spike' | 'dip' | 'levelShift' | 'trendChange' | 'varianceChange' | 'missingData' | 'other';

const KIND_NAMES: Record<AnomalyKind, KindName> = {
  [AnomalyKind.UNSPECIFIED]: 'other',
  [AnomalyKind.SPIKE]: 'spike',
  [AnomalyKind.DIP]: 'dip',
  [AnomalyKind.LEVEL_SHIFT]: 'levelShift',
  [AnomalyKind.TREND_CHANGE]: 'trendChange',
  [AnomalyKind.VARIANCE_CHANGE]: 'varianceChange',
  [AnomalyKind.MISSING_DATA]: 'missingData',
};

/** The translation key suffix of a kind (`aiops.kind.<name>`); a kind newer than this UI is "other". */
export function kindName(kind: AnomalyKind): KindName {
  return KIND_NAMES[kind] ?? 'other';
}

/** "daily" / "weekly" for the periods the forecaster looks for; null for any other. */
export function seasonalityName(periodSeconds: bigint): 'daily' | 'weekly' | null {
  if (periodSeconds === 86_400n) return 'daily';
  if (periodSeconds === 604_800n) return 'weekly';
  return null;
}

const seconds = (nanos: bigint) => nanosToMs(nanos) / 1000;

/** What the platform reports as an anomaly: a score at the answer's threshold or above. */
const isAnomaly = (p: ScoredPoint, threshold: number) => p.score >= threshold;

/** Anomalies among the points the chart shows (x in epoch seconds) by kind, the most frequent first. */
export function anomalyCounts(score: ScoreSeriesResponse, visibleX: readonly number[]): { kind: KindName; count: number }[] {
  const visible = new Set(visibleX);
  const counts = new Map<KindName, number>();
  for (const p of score.points) {
    if (!isAnomaly(p, score.anomalyThreshold) || !visible.has(seconds(p.timeUnixNano))) continue;
    const k = kindName(p.kind);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([kind, count]) => ({ kind, count })).sort((a, b) => b.count - a.count);
}

/** What the detector and the forecaster add to one chart series, aligned with the chart's x; null where they say nothing. */
export interface ChartInsight {
  /** Index of the series in the chart. */
  series: number;
  expected: (number | null)[];
  lower: (number | null)[];
  upper: (number | null)[];
  score: (number | null)[];
  /** The anomaly's kind, in words, where a point is anomalous. */
  anomaly: (string | null)[];
  forecast: (number | null)[];
  lower80: (number | null)[];
  upper80: (number | null)[];
  lower95: (number | null)[];
  upper95: (number | null)[];
}

/** The answers for one chart series (either may still be missing). */
export interface InsightAnswer {
  series: number;
  score?: ScoreSeriesResponse;
  forecast?: ForecastResponse;
}

export interface ChartColumns {
  /** Epoch seconds, ascending. */
  x: number[];
  ys: (number | null)[][];
}

/**
 * The chart's columns with the answers drawn in: x gains the forecasts'
 * times (the series' columns get gaps there), scores are kept for the
 * visible x only (the look-back before them is not shown). Without
 * forecasts, x and ys are the ones given.
 */
export function withInsights(
  chart: ChartColumns,
  answers: readonly InsightAnswer[],
  kindLabel: (kind: KindName) => string,
): ChartColumns & { insights: ChartInsight[] } {
  const future = answers.flatMap((a) => a.forecast?.points.map((p) => seconds(p.timeUnixNano)) ?? []);
  const x = future.length ? [...new Set([...chart.x, ...future])].sort((a, b) => a - b) : chart.x;
  const at = new Map(x.map((v, i) => [v, i]));
  const empty = () => new Array<number | null>(x.length).fill(null);
  const realign = (col: (number | null)[]) => {
    const out = empty();
    chart.x.forEach((v, i) => (out[at.get(v)!] = col[i] ?? null));
    return out;
  };
  const visible = new Set(chart.x);
  const insights = answers.map((a) => {
    const ins: ChartInsight = {
      series: a.series,
      expected: empty(),
      lower: empty(),
      upper: empty(),
      score: empty(),
      anomaly: new Array<string | null>(x.length).fill(null),
      forecast: empty(),
      lower80: empty(),
      upper80: empty(),
      lower95: empty(),
      upper95: empty(),
    };
    const threshold = a.score?.anomalyThreshold ?? 0;
    for (const p of a.score?.points ?? []) {
      const t = seconds(p.timeUnixNano);
      if (!visible.has(t)) continue;
      const i = at.get(t)!;
      ins.expected[i] = p.expected;
      ins.lower[i] = p.lower;
      ins.upper[i] = p.upper;
      ins.score[i] = p.score;
      if (isAnomaly(p, threshold)) ins.anomaly[i] = kindLabel(kindName(p.kind));
    }
    for (const p of a.forecast?.points ?? []) {
      const i = at.get(seconds(p.timeUnixNano))!;
      ins.forecast[i] = p.value;
      ins.lower80[i] = p.lower80;
      ins.upper80[i] = p.upper80;
      ins.lower95[i] = p.lower95;
      ins.upper95[i] = p.upper95;
    }
    return ins;
  });
  return { x, ys: x === chart.x ? chart.ys : chart.ys.map(realign), insights };
}

/** An insight of chart series `series` with nothing in it yet, `length` points long. */
function emptyInsight(series: number, length: number): ChartInsight {
  const empty = () => new Array<number | null>(length).fill(null);
  return {
    series,
    expected: empty(),
    lower: empty(),
    upper: empty(),
    score: empty(),
    anomaly: new Array<string | null>(length).fill(null),
    forecast: empty(),
    lower80: empty(),
    upper80: empty(),
    lower95: empty(),
    upper95: empty(),
  };
}

/**
 * The chart's insights with the anomalies continuous detection stored
 * (ListAnomalies, one-minute points) marked on chart series `series`: each
 * at the chart's point whose step holds its minute (the highest score when
 * several share one), with its score and kind, and its expected value and
 * band when the chart's points are minutes (`stepSeconds` 60: a wider
 * step's value is not the minute's). Added to the series' own insight when
 * it has one (the chart's scoring and forecast); the same array when none
 * falls on a point of the chart.
 */
export function withStoredAnomalies(
  drawn: { x: readonly number[]; insights: ChartInsight[] },
  series: number,
  anomalies: readonly Anomaly[],
  stepSeconds: number,
  kindLabel: (kind: KindName) => string,
): ChartInsight[] {
  const step = Math.max(1, Math.round(stepSeconds) || 60);
  const at = new Map(drawn.x.map((v, i) => [v, i]));
  const best = new Map<number, Anomaly>();
  for (const a of anomalies) {
    const minute = seconds(a.timeUnixNano);
    const i = at.get(Math.floor(minute / step) * step);
    if (i === undefined) continue;
    const held = best.get(i);
    if (!held || a.score > held.score) best.set(i, a);
  }
  if (best.size === 0) return drawn.insights;
  const own = drawn.insights.findIndex((ins) => ins.series === series);
  const base = own >= 0 ? drawn.insights[own]! : emptyInsight(series, drawn.x.length);
  const ins: ChartInsight = {
    ...base,
    expected: [...base.expected],
    lower: [...base.lower],
    upper: [...base.upper],
    score: [...base.score],
    anomaly: [...base.anomaly],
  };
  for (const [i, a] of best) {
    ins.score[i] = a.score;
    ins.anomaly[i] = kindLabel(kindName(a.kind));
    if (step === 60) {
      ins.expected[i] = a.expected;
      ins.lower[i] = a.lower;
      ins.upper[i] = a.upper;
    }
  }
  return own >= 0 ? drawn.insights.map((x, j) => (j === own ? ins : x)) : [...drawn.insights, ins];
}
