import { create } from '@bufbuild/protobuf';
import { afterEach, describe, expect, it } from 'vitest';
import { applyPatch } from '../../app/urlState';
import { AttributeScope, MatchOperator, QueryMetricsResponseSchema } from '../../gen/airis/analytics/v1/query_pb';
import {
  AttributeDeltaSchema,
  AttributeValueSchema,
  ChangeSchema,
  HistogramSchema,
  OperationDeltaSchema,
  RateSchema,
  TemplateChange,
  TemplateDeltaSchema,
  TestSchema,
  Verdict,
} from '../../gen/airis/delta/v1/delta_pb';
import { setFormatLocale } from '../../lib/format';
import {
  ATTRIBUTE_STATUS_GLYPH,
  attributeIndex,
  attributeKey,
  attributeRowId,
  attributeStatus,
  cohortRanges,
  cohortWindows,
  compareParams,
  deltaPatch,
  formatChange,
  formatChiSquare,
  formatPoints,
  formatRate,
  formatShare,
  formPartOf,
  histogramColumns,
  isComplete,
  isErrorSeverity,
  orderAttributes,
  orderOperations,
  orderTemplates,
  ownWindow,
  parseOptions,
  readDelta,
  rowKey,
  shareWidth,
  templateChangeName,
  templateChangeTone,
  templateIndex,
  templateParts,
  templateRowId,
  toCompareRequest,
  valueName,
  versionsByService,
} from './delta';

afterEach(() => setFormatLocale('en'));

const DEEP_LINK = 'from=now-10m&to=now&baseline=checkout&baselineVersion=v1&candidate=checkout&candidateVersion=v2';

describe('the page state in the URL', () => {
  it('reads both cohorts and the options', () => {
    const d = readDelta(new URLSearchParams(`${DEEP_LINK}&candidateLabel=canary&window=previous&latency=20&errors=1&minSamples=100&alpha=0.01`));
    expect(d).toEqual({
      baseline: { service: 'checkout', version: 'v1', attribute: '', label: '', from: '', to: '' },
      candidate: { service: 'checkout', version: 'v2', attribute: '', label: 'canary', from: '', to: '' },
      previous: true,
      latency: '20',
      errors: '1',
      minSamples: '100',
      alpha: '0.01',
    });
    expect(isComplete(d)).toBe(true);
  });

  it('round-trips through the patch, keeping the time range and dropping blanks and the selected row', () => {
    const start = new URLSearchParams(`${DEEP_LINK}&rowService=checkout&rowOperation=POST+%2Fcheckout&latency=`);
    const d = readDelta(start);
    const next = applyPatch(start, deltaPatch({ ...d, baseline: { ...d.baseline, label: '  ' }, alpha: ' 0.01 ' }));
    expect(next.get('from')).toBe('now-10m');
    expect(next.get('rowService')).toBeNull();
    expect(next.get('rowOperation')).toBeNull();
    expect(next.has('latency')).toBe(false);
    expect(next.has('baselineLabel')).toBe(false);
    expect(next.get('alpha')).toBe('0.01');
    expect(readDelta(next)).toEqual({ ...d, alpha: '0.01' });
  });

  it('holds a cohort\'s own resource attribute and time range (a change\'s comparison), the attribute only with a value and not service.version', () => {
    const start = new URLSearchParams(
      `from=now-10m&to=now&baseline=checkout&baselineVersion=v1&candidate=checkout&candidateAttribute=k8s.pod.label.pod-template-hash&candidateVersion=bbb&candidateFrom=1000&candidateTo=2000&baselineAttribute=service.version`,
    );
    const d = readDelta(start);
    expect(d.candidate).toEqual({ service: 'checkout', version: 'bbb', attribute: 'k8s.pod.label.pod-template-hash', label: '', from: '1000', to: '2000' });
    const next = applyPatch(start, deltaPatch(d));
    expect(next.get('candidateAttribute')).toBe('k8s.pod.label.pod-template-hash');
    expect(next.get('candidateFrom')).toBe('1000');
    expect(next.has('baselineAttribute')).toBe(false);
    const noValue = applyPatch(start, deltaPatch({ ...d, candidate: { ...d.candidate, version: ' ' } }));
    expect(noValue.has('candidateAttribute')).toBe(false);
    expect(noValue.has('candidateVersion')).toBe(false);
  });

  it('needs a service on both sides', () => {
    expect(isComplete(readDelta(new URLSearchParams('baseline=checkout&candidateVersion=v2')))).toBe(false);
    expect(compareParams(readDelta(new URLSearchParams('baseline=checkout')), { startMs: 0, endMs: 1 })).toBeNull();
  });
});

describe('options', () => {
  it('convert percent and percentage points to fractions; blank is the default (0)', () => {
    expect(parseOptions({ latency: '7', errors: '0,5', minSamples: '', alpha: '0.01' })).toEqual({
      latencyIncrease: 0.07,
      errorRateIncrease: 0.005,
      minSamples: 0,
      alpha: 0.01,
      invalid: [],
    });
  });
  it('name those out of the service\'s ranges', () => {
    expect(parseOptions({ latency: '0', errors: '101', minSamples: '9.5', alpha: '0.3' }).invalid).toEqual(['latency', 'errors', 'minSamples', 'alpha']);
    expect(parseOptions({ latency: 'x', errors: '', minSamples: '10', alpha: '0.2' }).invalid).toEqual(['latency']);
  });
  it('keep the query from running while one is invalid', () => {
    expect(compareParams(readDelta(new URLSearchParams(`${DEEP_LINK}&alpha=1`)), { startMs: 0, endMs: 1 })).toBeNull();
  });
});

describe('cohorts', () => {
  const range = { startMs: 1_000_000, endMs: 1_600_000 };
  it('share the page\'s time range, or the baseline takes the window just before', () => {
    expect(cohortWindows(range, false)).toEqual({ baseline: range, candidate: range });
    expect(cohortWindows(range, true)).toEqual({ baseline: { startMs: 400_000, endMs: 1_000_000 }, candidate: range });
  });
  it('become a CompareRequest: service, time range, version as a resource attribute, label, options', () => {
    const p = compareParams(readDelta(new URLSearchParams(`${DEEP_LINK}&baselineLabel=v1&latency=20&window=previous`)), range)!;
    const req = toCompareRequest(p);
    expect(req.baseline?.label).toBe('v1');
    expect(req.baseline?.spans?.serviceName).toBe('checkout');
    expect(req.baseline?.spans?.timeRange?.startUnixNano).toBe(400_000n * 1_000_000n);
    expect(req.baseline?.spans?.timeRange?.endUnixNano).toBe(1_000_000n * 1_000_000n);
    expect(req.candidate?.spans?.timeRange?.startUnixNano).toBe(1_000_000n * 1_000_000n);
    const [version] = req.candidate?.spans?.attributes ?? [];
    expect(version).toMatchObject({ key: 'service.version', value: 'v2', scope: AttributeScope.RESOURCE, operator: MatchOperator.EQUALS });
    expect(req.options).toMatchObject({ latencyIncrease: 0.2, errorRateIncrease: 0, minSamples: 0, alpha: 0 });
  });
  it('take their own time range when they have a valid one, over the page\'s and the window before it', () => {
    const own = { from: '100', to: '200' };
    expect(ownWindow(own)).toEqual({ startMs: 100, endMs: 200 });
    for (const bad of [{ from: '200', to: '100' }, { from: '', to: '200' }, { from: 'now-1h', to: 'now' }, { from: '1.5', to: '2' }]) expect(ownWindow(bad)).toBeNull();
    const d = readDelta(new URLSearchParams(`${DEEP_LINK}&window=previous&candidateFrom=100&candidateTo=200`));
    expect(cohortRanges(range, d)).toEqual({ baseline: { startMs: 400_000, endMs: 1_000_000 }, candidate: { startMs: 100, endMs: 200 } });
    const req = toCompareRequest(compareParams(d, range)!);
    expect(req.candidate?.spans?.timeRange).toMatchObject({ startUnixNano: 100_000_000n, endUnixNano: 200_000_000n });
  });
  it('select by another resource attribute when one is named, service.version otherwise', () => {
    const d = readDelta(
      new URLSearchParams('baseline=checkout&baselineVersion=v1&baselineAttribute=service.version&candidate=checkout&candidateAttribute=k8s.pod.annotation.checksum/config&candidateVersion=abc'),
    );
    const req = toCompareRequest(compareParams(d, range)!);
    expect(req.candidate?.spans?.attributes).toEqual([
      expect.objectContaining({ key: 'k8s.pod.annotation.checksum/config', value: 'abc', scope: AttributeScope.RESOURCE, operator: MatchOperator.EQUALS }),
    ]);
    expect(req.baseline?.spans?.attributes).toEqual([expect.objectContaining({ key: 'service.version', value: 'v1' })]);
  });
  it('without a version select the whole service', () => {
    const p = compareParams(readDelta(new URLSearchParams('baseline=checkout&candidate=checkout&window=previous')), range)!;
    expect(toCompareRequest(p).candidate?.spans?.attributes).toEqual([]);
  });
});

describe('a refusal names its place in the form', () => {
  it.each([
    ['candidate.spans.time_range: required', 'candidate'],
    ['baseline.spans.status_code: filters on status are refused', 'baseline'],
    ['options.latency_increase: must be in (0, 10]', 'latency'],
    ['options.error_rate_increase: must be in (0, 1]', 'errors'],
    ['options.min_samples: at least 10', 'minSamples'],
    ['options.alpha: must be in (0, 0.2]', 'alpha'],
    ['candidate.label: 90 bytes, at most 64', 'candidate.label'],
    ['baseline.labels: not a label', 'baseline'],
    ['the candidate cohort spans more than 7 days', 'candidate'],
    ['something else', null],
  ])('%s', (message, part) => {
    expect(formPartOf(message)).toBe(part);
  });
});

const op = (service: string, operation: string, verdict: Verdict, shift?: number, errors?: number) =>
  create(OperationDeltaSchema, {
    serviceName: service,
    operation,
    verdict,
    latency: shift === undefined ? undefined : { shift: { estimate: shift, lower: shift - 0.05, upper: shift + 0.05 } },
    errors: errors === undefined ? undefined : { difference: errors },
  });

describe('the operations table', () => {
  const ops = [
    op('checkout', '', Verdict.PASS, 0.01, 0),
    op('checkout', 'GET /cart', Verdict.INCONCLUSIVE),
    op('checkout', 'POST /checkout', Verdict.FAIL, 0.2, 0.02),
    op('payment', 'charge', Verdict.PASS, -0.1, 0.001),
    op('payment', 'refund', Verdict.FAIL, 0.05, 0.03),
  ];
  const names = (rows: typeof ops) => rows.map((r) => `${r.serviceName} ${r.operation}`.trim());
  it('lists failing rows first, then inconclusive ones, keeping the API\'s order within', () => {
    expect(names(orderOperations(ops, 'verdict', 'desc'))).toEqual([
      'checkout POST /checkout',
      'payment refund',
      'checkout GET /cart',
      'checkout',
      'payment charge',
    ]);
  });
  it('sorts by a change, operations without one last either way', () => {
    expect(names(orderOperations(ops, 'shift', 'desc'))).toEqual(['checkout POST /checkout', 'payment refund', 'checkout', 'payment charge', 'checkout GET /cart']);
    expect(names(orderOperations(ops, 'shift', 'asc'))).toEqual(['payment charge', 'checkout', 'payment refund', 'checkout POST /checkout', 'checkout GET /cart']);
    expect(names(orderOperations(ops, 'errors', 'desc'))[0]).toBe('payment refund');
  });
  it('sorts by name with the service as a whole first', () => {
    expect(names(orderOperations(ops, 'name', 'asc'))).toEqual(['checkout', 'checkout GET /cart', 'checkout POST /checkout', 'payment charge', 'payment refund']);
  });
  it('tells rows apart by service and operation', () => {
    expect(rowKey(op('a', '', Verdict.PASS))).not.toBe(rowKey(op('a', 'x', Verdict.PASS)));
  });
});

describe('changes and rates in words', () => {
  it('sign changes and give their interval', () => {
    expect(formatChange(create(ChangeSchema, { estimate: 0.18, lower: 0.12, upper: 0.26 }))).toEqual({ estimate: '+18%', interval: '+12% … +26%' });
    expect(formatChange(create(ChangeSchema, { estimate: -0.036, lower: -0.071, upper: 0 }))).toEqual({ estimate: '-3.6%', interval: '-7.1% … 0%' });
    expect(formatChange(undefined)).toBeNull();
  });
  it('follow the language', () => {
    setFormatLocale('ko');
    expect(formatChange(create(ChangeSchema, { estimate: 0.18, lower: 0.12, upper: 0.26 }))?.estimate).toBe('+18%');
    expect(formatPoints(0.0125)).toBe('+1.3');
    expect(formatPoints(0.0025)).toBe('+0.25');
  });
  it('give error rates with their Wilson intervals, none without spans', () => {
    expect(formatRate(create(RateSchema, { count: 12n, total: 1000n, rate: 0.012, lower: 0.0069, upper: 0.021 }))).toEqual({
      rate: '1.2%',
      interval: '0.69% – 2.1%',
    });
    expect(formatRate(create(RateSchema, { total: 0n }))).toBeNull();
  });
  it('give differences in percentage points', () => {
    expect(formatPoints(0.005)).toBe('+0.5');
    expect(formatPoints(-0.012)).toBe('-1.2');
    expect(formatPoints(0)).toBe('0');
    expect(formatPoints(0.25)).toBe('+25');
  });
});

describe('histograms', () => {
  it('become each cohort\'s share per bucket over the bounds in ms, the last step closed', () => {
    const h = create(HistogramSchema, {
      boundsNano: [1_000_000n, 2_000_000n, 4_000_000n],
      baselineCounts: [3n, 1n],
      candidateCounts: [0n, 10n],
    });
    expect(histogramColumns(h)).toEqual({ x: [1, 2, 4], baseline: [0.75, 0.25, 0.25], candidate: [0, 1, 1], log: true });
  });
  it('draw linearly when a bound is zero, and nothing without buckets', () => {
    expect(histogramColumns(create(HistogramSchema, { boundsNano: [0n, 5n], baselineCounts: [0n], candidateCounts: [0n] }))?.log).toBe(false);
    expect(histogramColumns(create(HistogramSchema, { boundsNano: [5n] }))).toBeNull();
    expect(histogramColumns(undefined)).toBeNull();
  });
});

it('lists each service\'s versions from the request-count metric', () => {
  const data = create(QueryMetricsResponseSchema, {
    series: [
      { labels: { 'service.name': 'checkout', 'service.version': 'v2' } },
      { labels: { 'service.name': 'checkout', 'service.version': 'v1' } },
      { labels: { 'service.name': 'payment' } },
    ],
  });
  expect(Object.fromEntries(versionsByService(data))).toEqual({ checkout: ['v1', 'v2'] });
});

describe('log templates', () => {
  const tpl = (template: string, change: TemplateChange) => create(TemplateDeltaSchema, { template, change });

  it('names every change in words, whatever the enum holds', () => {
    expect(templateChangeName(TemplateChange.NEW)).toBe('new');
    expect(templateChangeName(TemplateChange.VANISHED)).toBe('vanished');
    expect(templateChangeName(TemplateChange.MORE)).toBe('more');
    expect(templateChangeName(TemplateChange.LESS)).toBe('less');
    expect(templateChangeName(TemplateChange.SAME)).toBe('same');
    expect(templateChangeName(TemplateChange.UNSPECIFIED)).toBe('same');
    expect(templateChangeName(99 as TemplateChange)).toBe('same');
  });

  it('colours a new or more frequent error template as a failure, other rises as a warning', () => {
    expect(templateChangeTone('new', true)).toBe('badge-error');
    expect(templateChangeTone('more', true)).toBe('badge-error');
    expect(templateChangeTone('new', false)).toBe('badge-warn');
    expect(templateChangeTone('vanished', true)).toBe('badge-ok');
    expect(templateChangeTone('less', false)).toBe('badge-ok');
    expect(templateChangeTone('same', true)).toBe('');
  });

  it('takes severity 17 (ERROR) and above as errors', () => {
    expect(isErrorSeverity(16)).toBe(false);
    expect(isErrorSeverity(17)).toBe(true);
    expect(isErrorSeverity(21)).toBe(true);
    expect(isErrorSeverity(0)).toBe(false);
  });

  it('cuts a template at its wildcards, Korean as English', () => {
    expect(templateParts('프로모션 엔진이 장바구니를 거부했습니다: 규칙 <*> 없음')).toEqual([
      { text: '프로모션 엔진이 장바구니를 거부했습니다: 규칙 ', wildcard: false },
      { text: '<*>', wildcard: true },
      { text: ' 없음', wildcard: false },
    ]);
    expect(templateParts('<*> <*>')).toEqual([
      { text: '<*>', wildcard: true },
      { text: ' ', wildcard: false },
      { text: '<*>', wildcard: true },
    ]);
    expect(templateParts('payment ok')).toEqual([{ text: 'payment ok', wildcard: false }]);
    expect(templateParts('')).toEqual([]);
  });

  it('keeps the service order, changed templates first, each group in its order', () => {
    const api = [tpl('a', TemplateChange.NEW), tpl('b', TemplateChange.MORE), tpl('c', TemplateChange.SAME), tpl('d', TemplateChange.LESS)];
    expect(orderTemplates(api).map((t) => t.template)).toEqual(['a', 'b', 'd', 'c']);
    const ordered = [tpl('a', TemplateChange.NEW), tpl('b', TemplateChange.VANISHED), tpl('c', TemplateChange.SAME), tpl('d', TemplateChange.UNSPECIFIED)];
    expect(orderTemplates(ordered)).toEqual(ordered);
    expect(orderTemplates([])).toEqual([]);
  });

  it('finds the row a reason names, by its text', () => {
    const rows = [tpl('x <*>', TemplateChange.NEW), tpl('y', TemplateChange.SAME)];
    expect(templateIndex(rows, 'y')).toBe(1);
    expect(templateIndex(rows, 'z')).toBe(-1);
    expect(templateIndex(rows, '')).toBe(-1);
    expect(templateRowId(1)).toBe('delta-template-1');
  });

  it('formats records and share with the Wilson interval, none without records', () => {
    expect(formatShare(create(RateSchema, { count: 1234n, total: 100_000n, rate: 0.01234, lower: 0.0117, upper: 0.013 }))).toEqual({
      count: '1,234',
      share: '1.23%',
      interval: '1.17% – 1.3%',
    });
    expect(formatShare(create(RateSchema, { count: 0n, total: 50n, rate: 0, lower: 0, upper: 0.07 }))).toEqual({ count: '0', share: '0%', interval: '0% – 7%' });
    expect(formatShare(create(RateSchema, { count: 0n, total: 0n }))).toBeNull();
    expect(formatShare(undefined)).toBeNull();
    setFormatLocale('ko');
    expect(formatShare(create(RateSchema, { count: 12345n, total: 1_000_000n, rate: 0.012345, lower: 0.012, upper: 0.0127 }))?.count).toBe('12,345');
  });
});

describe('attribute values', () => {
  const attr = (operation: string, key: string, test?: { q: number; significant: boolean }) =>
    create(AttributeDeltaSchema, {
      serviceName: 'checkout',
      operation,
      key,
      test: test && create(TestSchema, { statistic: 90.24, pValue: test.q / 10, qValue: test.q, significant: test.significant }),
      degreesOfFreedom: test ? 1 : 0,
      cramersV: test ? 0.1234 : 0,
    });

  it('says changed, same or not tested, never by colour alone', () => {
    expect(attributeStatus(attr('a', 'k', { q: 1e-5, significant: true }))).toBe('changed');
    expect(attributeStatus(attr('a', 'k', { q: 0.3, significant: false }))).toBe('same');
    expect(attributeStatus(attr('a', 'k'))).toBe('untested');
    expect(new Set(Object.values(ATTRIBUTE_STATUS_GLYPH)).size).toBe(3);
  });

  it('puts significant changes first by q, the rest in the service order', () => {
    const api = [
      attr('GET /cart', 'http.route', { q: 0.5, significant: false }),
      attr('POST /checkout', 'error.type', { q: 0.002, significant: true }),
      attr('GET /product', 'exception.type'),
      attr('POST /checkout', 'http.response.status_code', { q: 1e-9, significant: true }),
    ];
    expect(orderAttributes(api).map((a) => `${a.operation} ${a.key}`)).toEqual([
      'POST /checkout http.response.status_code',
      'POST /checkout error.type',
      'GET /cart http.route',
      'GET /product exception.type',
    ]);
    const ordered = orderAttributes(api);
    expect(orderAttributes(ordered)).toEqual(ordered);
    expect(orderAttributes([])).toEqual([]);
  });

  it('finds the row a reason names by service, operation and key', () => {
    const rows = [attr('POST /checkout', 'http.response.status_code'), attr('GET /cart', 'http.response.status_code')];
    const reason = { serviceName: 'checkout', operation: 'GET /cart', attribute: 'http.response.status_code' };
    expect(attributeIndex(rows, reason)).toBe(1);
    expect(attributeIndex(rows, { ...reason, serviceName: 'cart' })).toBe(-1);
    expect(attributeIndex(rows, { ...reason, attribute: '' })).toBe(-1);
    expect(attributeRowId(1)).toBe('delta-attribute-1');
    expect(attributeKey(rows[0]!)).not.toBe(attributeKey(rows[1]!));
  });

  it('names a value, the rest folded together, and an empty one', () => {
    expect(valueName(create(AttributeValueSchema, { value: '502' }))).toEqual({ text: '502', kind: 'value' });
    expect(valueName(create(AttributeValueSchema, { value: '', other: true }))).toEqual({ text: '', kind: 'other' });
    expect(valueName(create(AttributeValueSchema, { value: '' }))).toEqual({ text: '', kind: 'empty' });
  });

  it('reads the test in numbers, q below 0.001 bounded', () => {
    expect(formatChiSquare(attr('a', 'k', { q: 2e-20, significant: true }))).toEqual({ chi2: '90.2', df: '1', q: '< 0.001', v: '0.12' });
    expect(formatChiSquare(attr('a', 'k', { q: 0.0123, significant: false }))?.q).toBe('= 0.012');
    expect(formatChiSquare(attr('a', 'k'))).toBeNull();
  });

  it('draws shares on a bar of 0 to 100%', () => {
    expect(shareWidth(0.101)).toBe('10.1%');
    expect(shareWidth(0)).toBe('0%');
    expect(shareWidth(1.2)).toBe('100%');
    expect(shareWidth(Number.NaN)).toBe('0%');
  });
});
