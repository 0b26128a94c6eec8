import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  AttributeFilterSchema,
  AttributeScope,
  LatencyPercentilesSchema,
  MatchOperator,
  RedSeriesSchema,
  ServiceOverviewRequestSchema,
  ServiceOverviewResponseSchema,
  SpanFilterSchema,
  StatusCode,
  TopKDimension,
  TopKEntrySchema,
  TopKRequestSchema,
  TopKResponseSchema,
} from '../gen/airis/analytics/v1/query_pb';
import { TimeRangeSchema } from '../gen/airis/common/v1/common_pb';
import {
  CohortSchema,
  CompareOptionsSchema,
  CompareRequestSchema,
  CompareResponseSchema,
  ReasonSchema,
  Severity,
  Verdict,
} from '../gen/airis/delta/v1/delta_pb';
import { Aggregation, AnswerSchema, AskResponseSchema, InterpretationSchema, Signal, VersionComparisonSchema } from '../gen/airis/search/v1/search_pb';
import { answerTable, askedMeasure, judgementOf, summarised } from './answer';

const range = { from: '1000', to: '2000' };

describe('summarised', () => {
  it('is a summary of requests, not a list, a metric, logs or anomalies', () => {
    expect(summarised(create(InterpretationSchema, { groupBy: ['operation'] }))).toBe(true);
    expect(summarised(create(InterpretationSchema, { aggregation: Aggregation.COUNT }))).toBe(true);
    expect(summarised(create(InterpretationSchema, {}))).toBe(false);
    expect(summarised(create(InterpretationSchema, { signal: Signal.LOGS, aggregation: Aggregation.COUNT }))).toBe(false);
    expect(summarised(create(InterpretationSchema, { metricName: 'cpu', groupBy: ['service'] }))).toBe(false);
    // Anomalies of a percentile are the Anomalies page's, filtered by that signal.
    expect(summarised(create(InterpretationSchema, { signal: Signal.ANOMALIES, aggregation: Aggregation.QUANTILE, quantile: 0.95 }))).toBe(false);
  });
});

describe('answerTable', () => {
  it('reads TopK by operation into rows linking to their traces', () => {
    const i = create(InterpretationSchema, { serviceNames: ['checkout'], groupBy: ['operation'], aggregation: Aggregation.QUANTILE, quantile: 0.95 });
    const response = create(AskResponseSchema, {
      answer: create(AnswerSchema, {
        query: {
          case: 'topK',
          value: create(TopKRequestSchema, { filter: create(SpanFilterSchema, { serviceName: 'checkout' }), dimension: TopKDimension.OPERATION }),
        },
        result: {
          case: 'top',
          value: create(TopKResponseSchema, {
            entries: [create(TopKEntrySchema, { value: 'POST /orders', count: 4n, errorCount: 1n, latency: create(LatencyPercentilesSchema, { p95Nano: 7n }) })],
          }),
        },
      }),
    });
    const table = answerTable(i, response, range)!;
    expect(askedMeasure(i)).toBe('p95');
    expect(table.rpc).toBe('TopK');
    expect(table.groupKind).toBe('operation');
    expect(table.asked).toBe('p95');
    expect(table.rows).toHaveLength(1);
    expect(table.rows[0]!.errorRate).toBe(0.25);
    expect(table.rows[0]!.p95).toBe(7n);
    expect(table.rows[0]!.link).toEqual({ path: '/traces', params: { from: '1000', to: '2000', service: 'checkout', operation: 'POST /orders' } });
  });

  it("links a group to the spans it counted: the TopK filter's, with the group's value", () => {
    const top = (filter: MessageInitShape<typeof SpanFilterSchema>, dimension: TopKDimension, attributeKey = '', attributeScope = AttributeScope.UNSPECIFIED) =>
      create(AskResponseSchema, {
        answer: create(AnswerSchema, {
          query: { case: 'topK', value: create(TopKRequestSchema, { filter: create(SpanFilterSchema, filter), dimension, attributeKey, attributeScope }) },
          result: { case: 'top', value: create(TopKResponseSchema, { entries: [create(TopKEntrySchema, { value: 'x', count: 1n })] }) },
        }),
      });
    const link = (response: ReturnType<typeof top>) => answerTable(create(InterpretationSchema, { groupBy: ['service'] }), response, range)!.rows[0]!.link;
    const version = create(AttributeFilterSchema, { key: 'service.version', value: 'v2', operator: MatchOperator.EQUALS, scope: AttributeScope.RESOURCE });
    // Failed spans over 500 ms of v2, by operation.
    expect(link(top({ serviceName: 'checkout', statusCode: StatusCode.ERROR, minDurationNano: 500_000_001n, attributes: [version] }, TopKDimension.OPERATION))).toEqual({
      path: '/traces',
      params: { ...range, service: 'checkout', status: 'error', minMs: '500', attr: ['resource:service.version=v2'], operation: 'x' },
    });
    // By a resource attribute: its value joins the filter's.
    expect(link(top({ attributes: [version] }, TopKDimension.ATTRIBUTE, 'k8s.pod.name', AttributeScope.RESOURCE))?.params.attr).toEqual([
      'resource:service.version=v2',
      'resource:k8s.pod.name=x',
    ]);
    // Services: their page when nothing else is asked, else their traces.
    expect(link(top({}, TopKDimension.SERVICE))).toEqual({ path: '/services/x', params: range });
    expect(link(top({ text: 'timeout' }, TopKDimension.SERVICE))).toEqual({ path: '/traces', params: { ...range, q: 'timeout', service: 'x' } });
  });

  it('sets each service beside its number in the earlier range', () => {
    const i = create(InterpretationSchema, { aggregation: Aggregation.ERROR_RATE, groupBy: ['service'], compareShiftNano: 86_400_000_000_000n });
    const overview = (rates: [string, number][]) =>
      create(AnswerSchema, {
        query: { case: 'serviceOverview', value: create(ServiceOverviewRequestSchema, {}) },
        result: {
          case: 'overview',
          value: create(ServiceOverviewResponseSchema, { series: rates.map(([serviceName, errorRate]) => create(RedSeriesSchema, { serviceName, errorRate })) }),
        },
      });
    const response = create(AskResponseSchema, {
      answer: overview([
        ['payment', 0.2],
        ['cart', 0.01],
      ]),
      baseline: overview([['payment', 0.1]]),
    });
    const table = answerTable(i, response, range)!;
    expect(table.compared).toBe(true);
    expect(table.rows.map((r) => [r.group, r.before])).toEqual([
      ['payment', 0.1],
      ['cart', undefined],
    ]);
    expect(table.rows[0]!.link).toEqual({ path: '/services/payment', params: range });
    expect(table.baselineVersion).toBeUndefined();
    // Two versions: the other column is the baseline version's.
    const versions = create(InterpretationSchema, { ...i, compareShiftNano: 0n, compareVersions: create(VersionComparisonSchema, { candidate: 'v2', baseline: 'v1' }) });
    expect(answerTable(versions, response, range)!.baselineVersion).toBe('v1');
  });

  it('is null for an answer that is not a summary', () => {
    const response = create(AskResponseSchema, { answer: create(AnswerSchema, {}) });
    expect(answerTable(create(InterpretationSchema, {}), response, range)).toBeNull();
  });
});

describe('judgementOf', () => {
  const DAY = 86_400_000_000_000n;
  const cohort = (label: string, start: bigint, extra: Partial<{ attributes: { key: string; value: string }[] }> = {}) =>
    create(CohortSchema, {
      label,
      spans: create(SpanFilterSchema, {
        serviceName: 'payment',
        timeRange: create(TimeRangeSchema, { startUnixNano: start, endUnixNano: start + 3_600_000_000_000n }),
        ...extra,
      }),
    });
  const judged = (baseline = cohort('어제', 30n * DAY), operations: string[] = []) =>
    create(AskResponseSchema, {
      judgement: create(AnswerSchema, {
        query: { case: 'compare', value: create(CompareRequestSchema, { baseline, candidate: cohort('오늘', 31n * DAY) }) },
        result: {
          case: 'comparison',
          value: create(CompareResponseSchema, {
            verdict: Verdict.FAIL,
            score: 75,
            options: create(CompareOptionsSchema, { operations }),
            reasons: ['a', 'b', 'c', 'd'].map((x, k) =>
              create(ReasonSchema, { severity: k === 0 ? Severity.FAIL : Severity.INFO, en: `${x} en`, ko: `${x} ko` }),
            ),
          }),
        },
      }),
    });

  it("reads the verdict, the first reasons in the page's language and the ranges' names", () => {
    const j = judgementOf(judged(), 'ko')!;
    expect(j.verdict).toBe('fail');
    expect(j.score).toBe(75);
    expect([j.baseline, j.candidate]).toEqual(['어제', '오늘']);
    expect(j.reasons).toEqual([
      { severity: 'fail', text: 'a ko' },
      { severity: 'info', text: 'b ko' },
      { severity: 'info', text: 'c ko' },
    ]);
    expect(j.more).toBe(1);
    expect(judgementOf(judged(), 'en')!.reasons[0]?.text).toBe('a en');
  });

  it('links to the same cohorts on the Canary analysis page, an asked operation selected', () => {
    const day30 = String((30n * DAY) / 1_000_000n);
    const day31 = String((31n * DAY) / 1_000_000n);
    const link = judgementOf(judged(undefined, ['POST /pay']), 'en')!.link!;
    expect(link.path).toBe('/delta');
    expect(link.params).toMatchObject({
      baseline: 'payment',
      baselineLabel: '어제',
      baselineFrom: day30,
      candidate: 'payment',
      candidateLabel: '오늘',
      candidateFrom: day31,
      from: day31,
      rowService: 'payment',
      rowOperation: 'POST /pay',
    });
    // The page holds no attribute filter: no link rather than another comparison.
    const filtered = cohort('어제', 30n * DAY, { attributes: [{ key: 'http.route', value: '/pay' }] });
    expect(judgementOf(judged(filtered), 'en')!.link).toBeNull();
  });

  it('links two versions over one range to the page with its version fields', () => {
    const version = (v: string) =>
      create(CohortSchema, {
        label: v,
        spans: create(SpanFilterSchema, {
          serviceName: 'checkout',
          timeRange: create(TimeRangeSchema, { startUnixNano: 31n * DAY, endUnixNano: 31n * DAY + 3_600_000_000_000n }),
          attributes: [create(AttributeFilterSchema, { key: 'service.version', value: v, operator: MatchOperator.EQUALS, scope: AttributeScope.RESOURCE })],
        }),
      });
    const response = judged(version('v1'));
    const compare = response.judgement!.query;
    if (compare.case === 'compare') compare.value.candidate = version('v2');
    const j = judgementOf(response, 'en')!;
    expect([j.baseline, j.candidate, j.versions]).toEqual(['v1', 'v2', true]);
    const day31 = String((31n * DAY) / 1_000_000n);
    expect(j.link).toEqual({
      path: '/delta',
      params: { baseline: 'checkout', baselineVersion: 'v1', candidate: 'checkout', candidateVersion: 'v2', from: day31, to: String((31n * DAY + 3_600_000_000_000n) / 1_000_000n) },
    });
    expect(judgementOf(judged(), 'en')!.versions).toBe(false);
    // One version over two ranges ("checkout v2 에러율 어제보다"): the two ranges, of that version.
    const dayBefore = version('v2');
    dayBefore.spans!.timeRange = create(TimeRangeSchema, { startUnixNano: 30n * DAY, endUnixNano: 30n * DAY + 3_600_000_000_000n });
    const ranges = judged(dayBefore);
    if (ranges.judgement!.query.case === 'compare') ranges.judgement!.query.value.candidate = version('v2');
    const same = judgementOf(ranges, 'en')!;
    expect(same.versions).toBe(false);
    expect(same.link?.params).toMatchObject({ baselineVersion: 'v2', candidateVersion: 'v2', baselineFrom: String((30n * DAY) / 1_000_000n), candidateFrom: day31 });
  });

  it('is null without a judgement', () => {
    expect(judgementOf(create(AskResponseSchema, {}), 'en')).toBeNull();
  });
});
