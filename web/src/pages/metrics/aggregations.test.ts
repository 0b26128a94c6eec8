import { describe, expect, it } from 'vitest';
import { MetricType } from '../../gen/airis/analytics/v1/query_pb';
import { defaultAggregation, resultUnit, validAggregations } from './aggregations';

describe('aggregations per metric type', () => {
  it('offers RATE only for monotonic sums', () => {
    expect(validAggregations(MetricType.SUM, true)).toContain('rate');
    expect(validAggregations(MetricType.SUM, false)).not.toContain('rate');
    expect(validAggregations(MetricType.GAUGE, false)).not.toContain('rate');
  });
  it('offers only QUANTILE for histograms', () => {
    expect(validAggregations(MetricType.HISTOGRAM, false)).toEqual(['quantile']);
  });
  it('offers nothing for summaries', () => {
    expect(validAggregations(MetricType.SUMMARY, false)).toEqual([]);
  });
  it('picks sensible defaults', () => {
    expect(defaultAggregation(MetricType.SUM, true)).toBe('rate');
    expect(defaultAggregation(MetricType.HISTOGRAM, false)).toBe('quantile');
    expect(defaultAggregation(MetricType.GAUGE, false)).toBe('avg');
  });
  it('names the rate unit', () => {
    expect(resultUnit('{request}', 'rate')).toBe('request/s');
    expect(resultUnit('ms', 'quantile')).toBe('ms');
  });
});
