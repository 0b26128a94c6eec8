import { MetricType } from '../../gen/airis/analytics/v1/query_pb';
import type { AggregationName } from '../../api/hooks';

/**
 * Aggregations the query service accepts for a metric type: RATE needs a
 * monotonic sum, QUANTILE a histogram, SUM/AVG/MIN/MAX a gauge or a sum.
 */
export function validAggregations(type: MetricType, monotonic: boolean): AggregationName[] {
  switch (type) {
    case MetricType.GAUGE:
      return ['avg', 'sum', 'min', 'max'];
    case MetricType.SUM:
      return monotonic ? ['rate', 'sum', 'avg', 'min', 'max'] : ['sum', 'avg', 'min', 'max'];
    case MetricType.HISTOGRAM:
      return ['quantile'];
    default:
      return [];
  }
}

export function defaultAggregation(type: MetricType, monotonic: boolean): AggregationName | null {
  return validAggregations(type, monotonic)[0] ?? null;
}

/** Unit of the answer: a rate is per second. */
export function resultUnit(unit: string, agg: AggregationName): string {
  if (agg !== 'rate') return unit;
  const u = unit && unit !== '1' ? unit.replace(/^\{(.*)\}$/, '$1') : '';
  return u ? `${u}/s` : '/s';
}
