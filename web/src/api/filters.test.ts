import { describe, expect, it } from 'vitest';
import { AttributeScope, MatchOperator, SpanKind, StatusCode } from '../gen/airis/analytics/v1/query_pb';
import { Signal } from '../gen/airis/aiops/v1/anomaly_pb';
import { formatAttr, isSignalName, parseAttr, parseMinScore, severityOf, signalName, SIGNAL_NAMES, toAnomalyFilter, toSpanFilter } from './filters';

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
