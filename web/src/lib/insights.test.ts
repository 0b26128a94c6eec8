import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { AnomalyKind, AnomalySchema, ForecastResponseSchema, ScoreSeriesResponseSchema, Signal } from '../gen/airis/aiops/v1/anomaly_pb';
import en from '../i18n/en.json';
import ko from '../i18n/ko.json';
import {
  anomalyCounts,
  forecastHorizon,
  historyWindow,
  insightInputs,
  kindName,
  seasonalityName,
  toPoints,
  withInsights,
  withStoredAnomalies,
} from './insights';

const MIN = 60_000;
const HOUR = 60 * MIN;
const nanos = (seconds: number) => BigInt(seconds) * 1_000_000_000n;

/** A ScoreSeries answer: [epoch seconds, score, kind] per point, expected = 10, band 8–12. */
function scored(points: [number, number, AnomalyKind?][], threshold = 0.5) {
  return create(ScoreSeriesResponseSchema, {
    anomalyThreshold: threshold,
    points: points.map(([t, score, kind]) => ({
      timeUnixNano: nanos(t),
      value: 10,
      score,
      expected: 10,
      lower: 8,
      upper: 12,
      kind: kind ?? AnomalyKind.UNSPECIFIED,
    })),
  });
}

describe('the look-back', () => {
  const end = 1_764_547_200_000; // a whole day, so whole steps too

  it('reaches 24 hours back when the step allows it, from a whole bucket', () => {
    const visible = { startMs: end - 2 * 24 * HOUR, endMs: end };
    const w = historyWindow(visible, 2880);
    expect(w.endMs).toBe(end);
    expect(w.startMs).toBe(end - 3 * 24 * HOUR);
    expect(w.startMs % 2_880_000).toBe(0);
  });

  it('stays under the query service’s points per answer', () => {
    const visible = { startMs: end - 15 * MIN, endMs: end };
    const w = historyWindow(visible, 15);
    expect((w.endMs - w.startMs) / 15_000).toBeLessThanOrEqual(1_900);
    expect(w.startMs).toBeLessThan(visible.startMs);
    expect(w.startMs % 15_000).toBe(0);
  });

  it('is never shorter than the visible window', () => {
    const visible = { startMs: end - 3 * HOUR - 7_000, endMs: end };
    expect(historyWindow(visible, 5).startMs).toBe(visible.startMs);
  });

  it('stays within 31 days', () => {
    const visible = { startMs: end - 30.5 * 24 * HOUR, endMs: end };
    const w = historyWindow(visible, 3600);
    expect(w.endMs - w.startMs).toBeLessThanOrEqual(31 * 24 * HOUR);
    expect(w.startMs).toBeLessThan(visible.startMs);
  });
});

describe('the forecast horizon', () => {
  it('is a quarter of the visible points, from 10 to 1,440', () => {
    expect(forecastHorizon(60)).toBe(15);
    expect(forecastHorizon(61)).toBe(16);
    expect(forecastHorizon(8)).toBe(10);
    expect(forecastHorizon(0)).toBe(10);
    expect(forecastHorizon(10_000)).toBe(1440);
  });
});

describe('series to send', () => {
  it('leave out gaps and values the service refuses', () => {
    const p = toPoints([
      { timeUnixNano: nanos(60), value: 1 },
      { timeUnixNano: nanos(120), value: null },
      { timeUnixNano: nanos(180), value: Number.NaN },
      { timeUnixNano: nanos(240), value: Number.POSITIVE_INFINITY },
      { timeUnixNano: nanos(300), value: 2.5 },
    ]);
    expect(p).toEqual({ timesMs: [60_000, 300_000], values: [1, 2.5] });
  });

  it('are the chart’s first five series, found by label, named by the query', () => {
    const labels = ['a', 'b', 'c', 'd', 'e', 'f'];
    const history = new Map(labels.filter((l) => l !== 'c').map((l) => [l, { timesMs: [1000], values: [1] }]));
    const inputs = insightInputs(labels, history, 'q');
    expect(inputs.map((i) => [i.series, i.id])).toEqual([
      [0, 'q|a'],
      [1, 'q|b'],
      [3, 'q|d'],
      [4, 'q|e'],
    ]);
    expect(insightInputs(['a'], new Map([['a', { timesMs: [], values: [] }]]), 'q')).toEqual([]);
  });
});

describe('kinds and patterns', () => {
  it('name every kind, and a newer one as other', () => {
    expect(kindName(AnomalyKind.SPIKE)).toBe('spike');
    expect(kindName(AnomalyKind.DIP)).toBe('dip');
    expect(kindName(AnomalyKind.LEVEL_SHIFT)).toBe('levelShift');
    expect(kindName(AnomalyKind.TREND_CHANGE)).toBe('trendChange');
    expect(kindName(AnomalyKind.VARIANCE_CHANGE)).toBe('varianceChange');
    expect(kindName(AnomalyKind.MISSING_DATA)).toBe('missingData');
    expect(kindName(AnomalyKind.UNSPECIFIED)).toBe('other');
    expect(kindName(99 as AnomalyKind)).toBe('other');
  });

  it('have words in both languages (aiops.kind.<name>)', () => {
    const kinds = Object.values(AnomalyKind).filter((v): v is AnomalyKind => typeof v === 'number');
    for (const k of kinds) {
      const name = kindName(k);
      expect(en.aiops.kind[name], name).toBeTruthy();
      expect(ko.aiops.kind[name], name).toBeTruthy();
    }
    expect(ko.aiops.kind.levelShift).toBe('수준 변화');
  });

  it('name the daily and weekly periods', () => {
    expect(seasonalityName(86_400n)).toBe('daily');
    expect(seasonalityName(604_800n)).toBe('weekly');
    expect(seasonalityName(3_600n)).toBeNull();
  });

  it('count the visible anomalies by kind, from the threshold on', () => {
    const score = scored([
      [60, 0.9, AnomalyKind.SPIKE], // before the visible range
      [120, 0.5, AnomalyKind.DIP],
      [180, 0.49, AnomalyKind.SPIKE],
      [240, 0.7, AnomalyKind.LEVEL_SHIFT],
      [300, 0.8, AnomalyKind.LEVEL_SHIFT],
    ]);
    expect(anomalyCounts(score, [120, 180, 240, 300])).toEqual([
      { kind: 'levelShift', count: 2 },
      { kind: 'dip', count: 1 },
    ]);
    expect(anomalyCounts(score, [180])).toEqual([]);
  });
});

describe('answers drawn on a chart', () => {
  const chart = { x: [120, 180, 240], ys: [[1, 2, 3], [4, null, 6]] };
  const label = (k: string) => `<${k}>`;

  it('leave the chart as it is without answers', () => {
    const out = withInsights(chart, [], label);
    expect(out.x).toBe(chart.x);
    expect(out.ys).toBe(chart.ys);
    expect(out.insights).toEqual([]);
  });

  it('keep the visible part of the scores, with kinds where anomalous', () => {
    const score = scored([
      [60, 0.9, AnomalyKind.SPIKE],
      [120, 0.1],
      [180, 0.6, AnomalyKind.DIP],
      [240, 0],
    ]);
    const out = withInsights(chart, [{ series: 1, score }], label);
    expect(out.x).toBe(chart.x);
    const [ins] = out.insights;
    expect(ins?.series).toBe(1);
    expect(ins?.score).toEqual([0.1, 0.6, 0]);
    expect(ins?.expected).toEqual([10, 10, 10]);
    expect(ins?.lower).toEqual([8, 8, 8]);
    expect(ins?.upper).toEqual([12, 12, 12]);
    expect(ins?.anomaly).toEqual([null, '<dip>', null]);
    expect(ins?.forecast).toEqual([null, null, null]);
  });

  it('extend x with the forecast, the series’ columns with gaps', () => {
    const forecast = create(ForecastResponseSchema, {
      stepSeconds: 60n,
      method: 'damped-holt',
      points: [300, 360].map((t, i) => ({
        timeUnixNano: nanos(t),
        value: 7 + i,
        lower80: 6,
        upper80: 9,
        lower95: 5,
        upper95: 10,
      })),
    });
    const out = withInsights(chart, [{ series: 0, forecast }], label);
    expect(out.x).toEqual([120, 180, 240, 300, 360]);
    expect(out.ys).toEqual([
      [1, 2, 3, null, null],
      [4, null, 6, null, null],
    ]);
    const [ins] = out.insights;
    expect(ins?.forecast).toEqual([null, null, null, 7, 8]);
    expect(ins?.lower80).toEqual([null, null, null, 6, 6]);
    expect(ins?.upper95).toEqual([null, null, null, 10, 10]);
    expect(ins?.score).toEqual([null, null, null, null, null]);
  });
});

describe('anomalies continuous detection stored, marked on a chart', () => {
  const label = (k: string) => `<${k}>`;
  /** A stored anomaly of the minute starting at epoch second `t`. */
  const stored = (t: number, score: number, kind = AnomalyKind.SPIKE) =>
    create(AnomalySchema, { signal: Signal.METRIC, timeUnixNano: nanos(t), value: 30, expected: 10, lower: 8, upper: 12, score, kind });

  it('mark their minutes on a chart of minutes, with the expected value and band', () => {
    const drawn = { x: [120, 180, 240], insights: [] };
    const [ins, ...rest] = withStoredAnomalies(drawn, 0, [stored(180, 0.9), stored(600, 0.99)], 60, label);
    expect(rest).toEqual([]);
    expect(ins?.series).toBe(0);
    expect(ins?.anomaly).toEqual([null, '<spike>', null]);
    expect(ins?.score).toEqual([null, 0.9, null]);
    expect(ins?.expected).toEqual([null, 10, null]);
    expect([ins?.lower[1], ins?.upper[1]]).toEqual([8, 12]);
    expect(ins?.forecast).toEqual([null, null, null]);
  });

  it('mark the point whose step holds the minute on a wider step, the highest score, without the minute’s band', () => {
    const drawn = { x: [0, 300, 600], insights: [] };
    const [ins] = withStoredAnomalies(drawn, 0, [stored(360, 0.7), stored(480, 0.95, AnomalyKind.DIP), stored(660, 0.8)], 300, label);
    expect(ins?.anomaly).toEqual([null, '<dip>', '<spike>']);
    expect(ins?.score).toEqual([null, 0.95, 0.8]);
    expect(ins?.expected).toEqual([null, null, null]);
  });

  it("join the series' own insight, and leave the chart's alone when none falls on it", () => {
    const chart = { x: [120, 180, 240], ys: [[1, 2, 3]] };
    const own = withInsights(chart, [{ series: 0, score: scored([[120, 0.1], [180, 0.2], [240, 0.9, AnomalyKind.DIP]]) }], label);
    const out = withStoredAnomalies(own, 0, [stored(120, 0.8)], 60, label);
    expect(out).toHaveLength(1);
    expect(out[0]?.anomaly).toEqual(['<spike>', null, '<dip>']);
    expect(out[0]?.score).toEqual([0.8, 0.2, 0.9]);
    expect(out[0]?.expected).toEqual([10, 10, 10]);
    // The answer drawn before is not changed.
    expect(own.insights[0]?.anomaly).toEqual([null, null, '<dip>']);
    expect(withStoredAnomalies(own, 0, [stored(3600, 0.8)], 60, label)).toBe(own.insights);
    expect(withStoredAnomalies(own, 0, [], 60, label)).toBe(own.insights);
  });
});
