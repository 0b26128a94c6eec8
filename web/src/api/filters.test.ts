import { describe, expect, it } from 'vitest';
import { Aggregation, AttributeScope, MatchOperator, SpanKind, StatusCode } from '../gen/airis/analytics/v1/query_pb';
import { Signal } from '../gen/airis/aiops/v1/anomaly_pb';
import {
  ANOMALY_SIGNAL_NAMES,
  anomalySignalName,
  formatAttr,
  isAnomalySignalName,
  isSignalName,
  labelFilterText,
  parseAttr,
  parseMinScore,
  severityOf,
  signalName,
  SIGNAL_NAMES,
  toAnomalyFilter,
  toSpanFilter,
} from './filters';

describe('attribute filters', () => {
  it('parses operators', () => {
    expect(parseAttr('http.route=/checkout')).toEqual({ key: 'http.route', op: 'eq', value: '/checkout', resource: false });
    expect(parseAttr('a!=b')).toMatchObject({ op: 'neq', value: 'b' });
    expect(parseAttr('db.statement~SELECT')).toMatchObject({ op: 'contains', value: 'SELECT' });
    expect(parseAttr('error.type')).toMatchObject({ op: 'exists', value: '' });
    expect(parseAttr('resource:service.version=v2')).toMatchObject({ key: 'service.version', resource: true });
    expect(parseAttr('  ')).toBeNull();
    expect(parseAttr('message=결제 실패')).toMatchObject({ value: '결제 실패' });
  });
  it('round-trips', () => {
    for (const s of ['a=b', 'a!=b', 'a~b', 'a', 'resource:x=y']) expect(formatAttr(parseAttr(s)!)).toBe(s);
  });
  it('builds span filters', () => {
    const f = toSpanFilter({
      startMs: 1000,
      endMs: 2000,
      service: 'checkout',
      caller: 'frontend',
      status: 'error',
      kind: 'client',
      minDurationMs: 1.5,
      attrs: ['resource:service.version=v2', 'http.route~check'],
    });
    expect(f.timeRange?.startUnixNano).toBe(1_000_000_000n);
    expect(f.serviceName).toBe('checkout');
    expect(f.parentServiceName).toBe('frontend');
    expect(f.statusCode).toBe(StatusCode.ERROR);
    expect(f.kind).toBe(SpanKind.CLIENT);
    expect(f.minDurationNano).toBe(1_500_000n);
    expect(f.maxDurationNano).toBe(0n);
    expect(f.attributes[0]).toMatchObject({ key: 'service.version', operator: MatchOperator.EQUALS, scope: AttributeScope.RESOURCE });
    expect(f.attributes[1]).toMatchObject({ operator: MatchOperator.CONTAINS, value: 'check' });
  });
  it('maps severities', () => {
    expect(severityOf(9)).toBe('info');
    expect(severityOf(17)).toBe('error');
    expect(severityOf(0, 'WARN')).toBe('warn');
  });
});

describe('anomaly filters', () => {
  it('names signals in the URL and back', () => {
    expect(SIGNAL_NAMES.map((n) => toAnomalyFilter({ signals: [n] }).signals[0])).toEqual([
      Signal.REQUEST_RATE,
      Signal.ERROR_RATE,
      Signal.LATENCY_P50,
      Signal.LATENCY_P95,
      Signal.LATENCY_P99,
    ]);
    for (const n of SIGNAL_NAMES) expect(signalName(toAnomalyFilter({ signals: [n] }).signals[0]!)).toBe(n);
    expect(signalName(Signal.UNSPECIFIED)).toBeNull();
    expect(signalName(42 as Signal)).toBeNull();
    expect(isSignalName('p95')).toBe(true);
    expect(isSignalName('p90')).toBe(false);
  });
  it('builds the filter; empty matches everything', () => {
    const f = toAnomalyFilter({ service: 'checkout', operation: 'POST /pay', signals: ['errorRate', 'p99'], minScore: 0.8 });
    expect(f.serviceName).toBe('checkout');
    expect(f.operation).toBe('POST /pay');
    expect(f.signals).toEqual([Signal.ERROR_RATE, Signal.LATENCY_P99]);
    expect(f.minScore).toBe(0.8);
    expect(toAnomalyFilter({})).toMatchObject({ serviceName: '', operation: '', signals: [], minScore: 0 });
  });
  it('names the signal of metric series apart from the RED ones', () => {
    expect(ANOMALY_SIGNAL_NAMES.map((n) => toAnomalyFilter({ signals: [n] }).signals[0])).toEqual([
      Signal.REQUEST_RATE,
      Signal.ERROR_RATE,
      Signal.LATENCY_P50,
      Signal.LATENCY_P95,
      Signal.LATENCY_P99,
      Signal.METRIC,
    ]);
    expect(anomalySignalName(Signal.METRIC)).toBe('metric');
    expect(anomalySignalName(Signal.LATENCY_P95)).toBe('p95');
    expect(anomalySignalName(42 as Signal)).toBeNull();
    // Not a RED signal: a rule's threshold cannot take it.
    expect(signalName(Signal.METRIC)).toBeNull();
    expect([isAnomalySignalName('metric'), isSignalName('metric'), isAnomalySignalName('p90')]).toEqual([true, false, false]);
  });
  it("names one metric series: its filters as typed, a quantile's only for quantiles", () => {
    const f = toAnomalyFilter({ metric: { metric: 'queue.depth', aggregation: Aggregation.AVG, quantile: 0.9, filters: ['queue=c', '', 'region!=eu', 'host~web', 'zone'] } });
    expect([f.serviceName, f.operation, f.signals]).toEqual(['', '', []]);
    expect(f.metric?.metricName).toBe('queue.depth');
    expect(f.metric?.aggregation).toBe(Aggregation.AVG);
    expect(f.metric?.quantile).toBe(0);
    expect(f.metric?.filters.map((x) => [x.key, x.operator, x.value])).toEqual([
      ['queue', MatchOperator.EQUALS, 'c'],
      ['region', MatchOperator.NOT_EQUALS, 'eu'],
      ['host', MatchOperator.CONTAINS, 'web'],
      ['zone', MatchOperator.EXISTS, ''],
    ]);
    expect(f.metric?.filters.map(labelFilterText)).toEqual(['queue=c', 'region!=eu', 'host~web', 'zone']);
    const p99 = toAnomalyFilter({ metric: { metric: 'latency', aggregation: Aggregation.QUANTILE, quantile: 0.99, filters: [] } });
    expect(p99.metric?.quantile).toBe(0.99);
    expect(toAnomalyFilter({}).metric).toBeUndefined();
  });
  it('reads a minimum score in [0, 1]', () => {
    expect(parseMinScore('0.8')).toBe(0.8);
    expect(parseMinScore(' 0,75 ')).toBe(0.75);
    expect(parseMinScore('.5')).toBe(0.5);
    expect(parseMinScore('1')).toBe(1);
    expect(parseMinScore('0')).toBe(0);
    expect(parseMinScore('1.5')).toBeNull();
    expect(parseMinScore('-0.1')).toBeNull();
    expect(parseMinScore('')).toBeNull();
    expect(parseMinScore('1e-1')).toBeNull();
    expect(parseMinScore('abc')).toBeNull();
  });
});
