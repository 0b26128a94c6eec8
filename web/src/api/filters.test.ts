import { describe, expect, it } from 'vitest';
import { AttributeScope, MatchOperator, SpanKind, StatusCode } from '../gen/airis/analytics/v1/query_pb';
import { formatAttr, parseAttr, severityOf, toSpanFilter } from './filters';

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
