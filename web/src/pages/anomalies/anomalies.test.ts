import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { AnomalyKind, AnomalySchema, MetricSeriesSelectorSchema, Signal, type Anomaly, type MetricSeriesSelector } from '../../gen/airis/aiops/v1/anomaly_pb';
import { Aggregation, MatchOperator } from '../../gen/airis/analytics/v1/query_pb';
import { setFormatLocale } from '../../lib/format';
import {
  addLive,
  anomalyKey,
  buildLanes,
  compareAnomalies,
  formatSignalValue,
  laneColumns,
  markStyle,
  mergeAnomalies,
  metricSeriesText,
  metricsPageParams,
  SCORE_COLORS,
  scoreShare,
  seriesKey,
  windowAround,
} from './anomalies';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 31, 10, 0);

function anomaly(p: { service?: string; operation?: string; signal?: Signal; minute?: number; score?: number; kind?: AnomalyKind; value?: number }): Anomaly {
  return create(AnomalySchema, {
    serviceName: p.service ?? 'checkout',
    operation: p.operation ?? '',
    signal: p.signal ?? Signal.LATENCY_P95,
    timeUnixNano: BigInt(T0 + (p.minute ?? 0) * MINUTE) * 1_000_000n,
    value: p.value ?? 1,
    score: p.score ?? 0.9,
    kind: p.kind ?? AnomalyKind.SPIKE,
  });
}

const keys = (list: readonly Anomaly[]) => list.map(anomalyKey);

type Filter = [string, MatchOperator, string];
function selector(name: string, aggregation: Aggregation, filters: Filter[] = [], quantile = 0): MetricSeriesSelector {
  return create(MetricSeriesSelectorSchema, {
    metricName: name,
    aggregation,
    quantile,
    filters: filters.map(([key, operator, value]) => ({ key, operator, value })),
  });
}

/** An anomaly of a metric series: no service or operation. */
function metricAnomaly(metric: MetricSeriesSelector, minute = 0, score = 0.9): Anomaly {
  return create(AnomalySchema, { signal: Signal.METRIC, metric, timeUnixNano: BigInt(T0 + minute * MINUTE) * 1_000_000n, score, value: 1 });
}

const QUEUE_C = selector('queue.depth', Aggregation.AVG, [['queue', MatchOperator.EQUALS, 'c']]);

describe('anomaly identity and order', () => {
  it('names a series by service, operation and signal', () => {
    expect(seriesKey(anomaly({}))).toBe(seriesKey(anomaly({ minute: 3, score: 0.5 })));
    expect(seriesKey(anomaly({ operation: 'POST /pay' }))).not.toBe(seriesKey(anomaly({})));
    expect(seriesKey(anomaly({ signal: Signal.ERROR_RATE }))).not.toBe(seriesKey(anomaly({})));
    // No separator trick makes two series one.
    expect(seriesKey(anomaly({ service: 'a b', operation: 'c' }))).not.toBe(seriesKey(anomaly({ service: 'a', operation: 'b c' })));
    expect(anomalyKey(anomaly({ minute: 1 }))).not.toBe(anomalyKey(anomaly({ minute: 2 })));
  });
  it("sorts as ListAnomalies does: newest minute first, then service, operation, signal", () => {
    const list = [
      anomaly({ minute: 1, service: 'b' }),
      anomaly({ minute: 2, service: 'z' }),
      anomaly({ minute: 1, service: 'a', operation: 'x' }),
      anomaly({ minute: 1, service: 'a', operation: '' , signal: Signal.LATENCY_P99 }),
      anomaly({ minute: 1, service: 'a', operation: '', signal: Signal.REQUEST_RATE }),
    ];
    const sorted = [...list].sort(compareAnomalies);
    expect(sorted.map((a) => [a.serviceName, a.operation, a.signal])).toEqual([
      ['z', '', Signal.LATENCY_P95],
      ['a', '', Signal.REQUEST_RATE],
      ['a', '', Signal.LATENCY_P99],
      ['a', 'x', Signal.LATENCY_P95],
      ['b', '', Signal.LATENCY_P95],
    ]);
  });
});

describe('metric series', () => {
  it('are named as a query would name them', () => {
    expect(metricSeriesText(QUEUE_C)).toBe('avg(queue.depth{queue="c"})');
    expect(metricSeriesText(selector('latency', Aggregation.QUANTILE, [], 0.9))).toBe('p90(latency)');
    expect(metricSeriesText(selector('latency', Aggregation.QUANTILE, [], 0.999))).toBe('p99.9(latency)');
    expect(
      metricSeriesText(
        selector('http.server.request.count', Aggregation.RATE, [
          ['host', MatchOperator.CONTAINS, 'web'],
          ['region', MatchOperator.NOT_EQUALS, 'eu'],
          ['zone', MatchOperator.EXISTS, ''],
          ['path', MatchOperator.EQUALS, 'say "hi"'],
        ]),
      ),
    ).toBe('rate(http.server.request.count{host~"web", region!="eu", zone, path="say \\"hi\\""})');
    expect([Aggregation.SUM, Aggregation.MIN, Aggregation.MAX].map((a) => metricSeriesText(selector('up', a)))).toEqual([
      'sum(up)',
      'min(up)',
      'max(up)',
    ]);
    // An aggregation newer than this UI: the metric and its filters alone.
    expect(metricSeriesText(selector('up', 42 as Aggregation, [['a', MatchOperator.EQUALS, 'b']]))).toBe('up{a="b"}');
  });
  it('are series of their own, apart from RED series and from each other', () => {
    const other = selector('queue.depth', Aggregation.AVG, [['queue', MatchOperator.EQUALS, 'd']]);
    expect(seriesKey(metricAnomaly(QUEUE_C))).toBe(seriesKey(metricAnomaly(QUEUE_C, 3)));
    expect(seriesKey(metricAnomaly(QUEUE_C))).not.toBe(seriesKey(metricAnomaly(other)));
    expect(seriesKey(metricAnomaly(QUEUE_C))).not.toBe(seriesKey(metricAnomaly(selector('queue.depth', Aggregation.MAX, [['queue', MatchOperator.EQUALS, 'c']]))));
    const { lanes, total } = buildLanes([metricAnomaly(other, 1), metricAnomaly(QUEUE_C, 1), metricAnomaly(QUEUE_C, 2), anomaly({ minute: 1 })]);
    expect(total).toBe(3);
    // Without a service, metric series sort first; among them, by their description.
    expect(lanes.map((l) => (l.metric ? metricSeriesText(l.metric) : l.serviceName))).toEqual([
      'avg(queue.depth{queue="c"})',
      'avg(queue.depth{queue="d"})',
      'checkout',
    ]);
    expect(lanes[0]!.anomalies).toHaveLength(2);
  });
  it("open the Metrics page on the series, in one-minute steps, 15 minutes either side of the anomaly's minute", () => {
    expect(metricsPageParams(QUEUE_C, T0)).toEqual({
      metric: 'queue.depth',
      type: null,
      agg: 'avg',
      quantile: null,
      filter: ['queue=c'],
      group: null,
      step: '60',
      from: String(T0 - 15 * MINUTE),
      to: String(T0 + 16 * MINUTE),
    });
    const p90 = metricsPageParams(
      selector('latency', Aggregation.QUANTILE, [
        ['host', MatchOperator.CONTAINS, 'web'],
        ['zone', MatchOperator.EXISTS, ''],
        ['region', MatchOperator.NOT_EQUALS, 'eu'],
      ], 0.9),
      T0,
      0,
    );
    expect(p90).toMatchObject({ agg: 'quantile', quantile: '0.9', filter: ['host~web', 'zone', 'region!=eu'], from: String(T0), to: String(T0 + MINUTE) });
  });
});

describe('live anomalies', () => {
  it('adds a batch newest first and counts only the new ones', () => {
    const first = addLive([], [anomaly({ minute: 1 }), anomaly({ minute: 2 })]);
    expect(first.added).toBe(2);
    expect(keys(first.anomalies)).toEqual(keys([anomaly({ minute: 2 }), anomaly({ minute: 1 })]));
    // The same series and minute again (sent twice, or rescored) replaces it.
    const again = addLive(first.anomalies, [anomaly({ minute: 2, score: 0.99 }), anomaly({ minute: 3, service: 'payment' })]);
    expect(again.added).toBe(1);
    expect(again.anomalies).toHaveLength(3);
    expect(again.anomalies.find((a) => anomalyKey(a) === anomalyKey(anomaly({ minute: 2 })))?.score).toBe(0.99);
    // A batch repeating itself counts once.
    expect(addLive([], [anomaly({ minute: 5 }), anomaly({ minute: 5 })]).added).toBe(1);
  });
  it('keeps the newest when there are too many', () => {
    const batch = Array.from({ length: 5 }, (_, i) => anomaly({ minute: i }));
    const kept = addLive([], batch, 3).anomalies;
    expect(kept.map((a) => a.timeUnixNano)).toEqual([4, 3, 2].map((m) => BigInt(T0 + m * MINUTE) * 1_000_000n));
  });
  it('merges with the listed ones: each series and minute once, the live one winning', () => {
    const listed = [anomaly({ minute: 2, score: 0.8 }), anomaly({ minute: 1 })];
    const live = [anomaly({ minute: 3 }), anomaly({ minute: 2, score: 0.95 })];
    const merged = mergeAnomalies(live, listed);
    expect(merged.map((a) => [Number((a.timeUnixNano / 1_000_000n - BigInt(T0)) / BigInt(MINUTE)), a.score])).toEqual([
      [3, 0.9],
      [2, 0.95],
      [1, 0.9],
    ]);
    expect(mergeAnomalies([], listed)).toEqual(listed);
  });
});

describe('timeline lanes', () => {
  const list = [
    anomaly({ service: 'payment', minute: 4, score: 0.7 }),
    anomaly({ service: 'checkout', operation: 'POST /pay', minute: 2, score: 0.8 }),
    anomaly({ service: 'checkout', minute: 3, score: 0.95, kind: AnomalyKind.LEVEL_SHIFT }),
    anomaly({ service: 'checkout', minute: 1, score: 0.75 }),
    anomaly({ service: 'checkout', minute: 1, signal: Signal.ERROR_RATE, score: 0.85 }),
  ];
  it('groups one lane per series, in series order', () => {
    const { lanes, total } = buildLanes(list);
    expect(total).toBe(4);
    expect(lanes.map((l) => [l.serviceName, l.operation, l.signal, l.anomalies.length, l.maxScore])).toEqual([
      ['checkout', '', Signal.ERROR_RATE, 1, 0.85],
      ['checkout', '', Signal.LATENCY_P95, 2, 0.95],
      ['checkout', 'POST /pay', Signal.LATENCY_P95, 1, 0.8],
      ['payment', '', Signal.LATENCY_P95, 1, 0.7],
    ]);
  });
  it('keeps the series with the highest scores when there are too many', () => {
    const { lanes, total } = buildLanes(list, 2);
    expect(total).toBe(4);
    expect(lanes.map((l) => [l.signal, l.maxScore])).toEqual([
      [Signal.ERROR_RATE, 0.85],
      [Signal.LATENCY_P95, 0.95],
    ]);
  });
  it('aligns the lanes on the minutes that have anomalies', () => {
    const { lanes } = buildLanes(list);
    const { x, ys, notes } = laneColumns(lanes, (a) => AnomalyKind[a.kind]);
    expect(x).toEqual([1, 2, 3, 4].map((m) => (T0 + m * MINUTE) / 1000));
    expect(ys).toEqual([
      [0.85, null, null, null],
      [0.75, null, 0.95, null],
      [null, 0.8, null, null],
      [null, null, null, 0.7],
    ]);
    expect(notes[1]).toEqual(['SPIKE', null, 'LEVEL_SHIFT', null]);
    expect(laneColumns([], String)).toEqual({ x: [], ys: [], notes: [] });
  });
  it('sizes and colours marks by score above the threshold', () => {
    expect(scoreShare(0.6, 0.6)).toBe(0);
    expect(scoreShare(0.8, 0.6)).toBeCloseTo(0.5);
    expect(scoreShare(1, 0.6)).toBe(1);
    // Below the threshold (a filter's own minimum is lower) and without one.
    expect(scoreShare(0.3, 0.6)).toBe(0);
    expect(scoreShare(0.5, 0)).toBe(0.5);
    expect(scoreShare(0.5, 1)).toBe(0.5);
    const low = markStyle(0.61, 0.6);
    const high = markStyle(0.99, 0.6);
    expect(low.color).toBe(SCORE_COLORS[0]);
    expect(high.color).toBe(SCORE_COLORS[2]);
    expect(markStyle(1, 0.6).color).toBe(SCORE_COLORS[2]);
    expect(markStyle(0.8, 0.6).color).toBe(SCORE_COLORS[1]);
    expect(high.radius).toBeGreaterThan(low.radius);
    expect(markStyle(0.6, 0.6).radius).toBe(4);
    expect(markStyle(1, 0.6).radius).toBe(9);
  });
});

describe('values and links', () => {
  it("formats a value in its signal's unit", () => {
    setFormatLocale('en');
    expect(formatSignalValue(Signal.REQUEST_RATE, 12.345)).toBe('12.35/s');
    expect(formatSignalValue(Signal.ERROR_RATE, 0.0123)).toBe('1.23%');
    expect(formatSignalValue(Signal.LATENCY_P50, 850)).toBe('850 ms');
    expect(formatSignalValue(Signal.LATENCY_P95, 1234)).toBe('1.23 s');
    expect(formatSignalValue(Signal.LATENCY_P99, 2.5)).toBe('2.5 ms');
    expect(formatSignalValue(Signal.UNSPECIFIED, 3)).toBe('3');
    expect(formatSignalValue(Signal.LATENCY_P99, Number.NaN)).toBe('–');
    setFormatLocale('ko');
    expect(formatSignalValue(Signal.REQUEST_RATE, 1234.5)).toBe('1,235/s');
    expect(formatSignalValue(Signal.ERROR_RATE, 0.5)).toBe('50%');
    setFormatLocale('en');
  });
  it("opens the service page 15 minutes either side of the anomaly's minute", () => {
    expect(windowAround(T0)).toEqual({ from: String(T0 - 15 * MINUTE), to: String(T0 + 16 * MINUTE) });
    expect(windowAround(T0, 0)).toEqual({ from: String(T0), to: String(T0 + MINUTE) });
  });
});
