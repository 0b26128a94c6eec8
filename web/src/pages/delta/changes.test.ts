import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { applyPatch } from '../../app/urlState';
import { AttributeScope, MatchOperator, SpanKind } from '../../gen/airis/analytics/v1/query_pb';
import {
  ChangeKind,
  CohortSchema,
  CompareRequestSchema,
  CompareResponseSchema,
  DetectedChangeSchema,
  Verdict,
  type DetectedChange,
} from '../../gen/airis/delta/v1/delta_pb';
import {
  attributeChangeText,
  changeCohorts,
  changeKey,
  changeKindName,
  changeOutcome,
  changeText,
  changeTimeMs,
  cohortOf,
  orderChanges,
  sameCohorts,
  toListChangesRequest,
} from './changes';
import { compareParams, deltaPatch, readDelta, toCompareRequest } from './delta';

const MS = 1_000_000n;
/** 2026-01-02T03:04:05.678Z, and a few nanoseconds. */
const AT = 1_767_323_045_678n * MS + 123_456n;
const WINDOW = 600_000n * MS;

const cohort = (start: bigint, end: bigint, label: string, attribute?: { key: string; value: string; scope?: AttributeScope; operator?: MatchOperator }) =>
  create(CohortSchema, {
    label,
    spans: {
      serviceName: 'checkout',
      timeRange: { startUnixNano: start, endUnixNano: end },
      attributes: attribute ? [{ scope: AttributeScope.RESOURCE, operator: MatchOperator.EQUALS, ...attribute }] : [],
    },
  });

/** The demo's deployment record of checkout v2, compared before and after. */
const deployment = (at = AT) =>
  create(DetectedChangeSchema, {
    kind: ChangeKind.EVENT,
    serviceName: 'checkout',
    timeUnixNano: at,
    event: 'checkout v2 deployed: pricing release on, slowdown 1.2',
    comparison: { baseline: cohort(at - WINDOW, at, 'before'), candidate: cohort(at, at + WINDOW, 'after') },
    result: create(CompareResponseSchema, { verdict: Verdict.FAIL, score: 87.5 }),
  });

/** A release replacing v1 with v2 (and its pod template), compared before and after. */
const release = (at = AT) =>
  create(DetectedChangeSchema, {
    kind: ChangeKind.ATTRIBUTE,
    serviceName: 'checkout',
    timeUnixNano: at,
    attributes: [
      { key: 'service.version', before: 'v1', after: 'v2' },
      { key: 'k8s.pod.label.pod-template-hash', before: '', after: 'bbb' },
    ],
    comparison: {
      baseline: cohort(at - WINDOW, at, 'v1', { key: 'service.version', value: 'v1' }),
      candidate: cohort(at, at + WINDOW, 'v2', { key: 'service.version', value: 'v2' }),
    },
    error: '',
  });

describe('the request', () => {
  it('asks for the page\'s time range with its options, every service, the service\'s window and limit', () => {
    const req = toListChangesRequest({ startMs: 1_000, endMs: 61_000, latencyIncrease: 0.2, errorRateIncrease: 0, minSamples: 100, alpha: 0 });
    expect(req.timeRange).toMatchObject({ startUnixNano: 1_000n * MS, endUnixNano: 61_000n * MS });
    expect(req.serviceName).toBe('');
    expect(req.windowNano).toBe(0n);
    expect(req.limit).toBe(0);
    expect(req.skipComparison).toBe(false);
    expect(req.options).toMatchObject({ latencyIncrease: 0.2, errorRateIncrease: 0, minSamples: 100, alpha: 0 });
  });
});

describe('a row', () => {
  it('says what changed: the attributes joined, a value none had before named', () => {
    expect(changeKindName(ChangeKind.ATTRIBUTE)).toBe('attribute');
    expect(changeText(release(), '(none)')).toBe('service.version v1 → v2, k8s.pod.label.pod-template-hash (none) → bbb');
    expect(attributeChangeText({ key: 'k8s.pod.annotation.checksum/config', before: 'abc', after: 'def' }, '–')).toBe('k8s.pod.annotation.checksum/config abc → def');
  });
  it('says an event\'s text', () => {
    expect(changeKindName(ChangeKind.EVENT)).toBe('event');
    expect(changeText(deployment(), '–')).toBe('checkout v2 deployed: pricing release on, slowdown 1.2');
  });
  it('has its time in milliseconds', () => {
    expect(changeTimeMs(deployment())).toBeCloseTo(1_767_323_045_678.123, 3);
  });
  it('shows the verdict and score, or why it was not compared', () => {
    expect(changeOutcome(deployment())).toEqual({ kind: 'verdict', verdict: 'fail', score: 87.5 });
    expect(changeOutcome(release())).toEqual({ kind: 'none' });
    const failed = release();
    failed.error = 'candidate.spans.time_range: too short';
    expect(changeOutcome(failed)).toEqual({ kind: 'error', message: 'candidate.spans.time_range: too short' });
  });
  it('has a key of its own', () => {
    expect(changeKey(release())).not.toBe(changeKey(deployment()));
    expect(changeKey(deployment(AT + 1n))).not.toBe(changeKey(deployment()));
  });
});

describe('the order', () => {
  it('is the newest first, ties in the API\'s order', () => {
    const older = release(AT - 60_000n * MS);
    const a = release();
    const b = deployment();
    const newer = deployment(AT + 1n);
    expect(orderChanges([older, a, b, newer])).toEqual([newer, a, b, older]);
  });
  it('leaves an answer in that order as it is', () => {
    const list: DetectedChange[] = [deployment(AT + 2n), release(AT), deployment(AT)];
    expect(orderChanges(list)).toEqual(list);
  });
});

describe('its comparison as the page\'s cohorts', () => {
  it('takes an event\'s: the service before and after, each with its own time range (ms, rounded down) and label', () => {
    const pair = changeCohorts(deployment())!;
    expect(pair.baseline).toEqual({ service: 'checkout', version: '', attribute: '', label: 'before', from: '1767322445678', to: '1767323045678' });
    expect(pair.candidate).toEqual({ service: 'checkout', version: '', attribute: '', label: 'after', from: '1767323045678', to: '1767323645678' });
  });
  it('takes a version as the version, another resource attribute by its key', () => {
    expect(changeCohorts(release())!.candidate).toMatchObject({ version: 'v2', attribute: '', label: 'v2' });
    const hash = cohortOf(cohort(AT, AT + WINDOW, 'bbb', { key: 'k8s.pod.label.pod-template-hash', value: 'bbb' }));
    expect(hash).toMatchObject({ version: 'bbb', attribute: 'k8s.pod.label.pod-template-hash' });
  });
  it('refuses what the page cannot show', () => {
    expect(cohortOf(undefined)).toBeNull();
    expect(cohortOf(cohort(AT, AT + 1n, 'x'))).toBeNull();
    expect(cohortOf(cohort(AT, AT + WINDOW, 'x', { key: 'http.route', value: '/a', scope: AttributeScope.UNSPECIFIED }))).toBeNull();
    expect(cohortOf(cohort(AT, AT + WINDOW, 'x', { key: 'service.version', value: 'v1', operator: MatchOperator.NOT_EQUALS }))).toBeNull();
    const twoAttributes = cohort(AT, AT + WINDOW, 'x', { key: 'service.version', value: 'v1' });
    twoAttributes.spans!.attributes.push(twoAttributes.spans!.attributes[0]!);
    expect(cohortOf(twoAttributes)).toBeNull();
    const operation = cohort(AT, AT + WINDOW, 'x');
    operation.spans!.operation = 'POST /checkout';
    expect(cohortOf(operation)).toBeNull();
    const kind = cohort(AT, AT + WINDOW, 'x');
    kind.spans!.kind = SpanKind.SERVER;
    expect(cohortOf(kind)).toBeNull();
    expect(changeCohorts(create(DetectedChangeSchema, { kind: ChangeKind.EVENT }))).toBeNull();
  });
  it('goes through the URL and asks Compare what ListChanges compared', () => {
    const pair = changeCohorts(release())!;
    const start = new URLSearchParams('from=now-1h&to=now&latency=20&rowService=checkout');
    const next = applyPatch(start, deltaPatch({ ...readDelta(start), ...pair, previous: false }));
    expect(next.get('from')).toBe('now-1h');
    expect(next.get('baselineVersion')).toBe('v1');
    expect(next.get('baselineFrom')).toBe('1767322445678');
    expect(next.get('candidateTo')).toBe('1767323645678');
    expect(next.has('candidateAttribute')).toBe(false);
    expect(next.has('rowService')).toBe(false);
    const d = readDelta(next);
    expect(sameCohorts(pair, d)).toBe(true);
    const req = toCompareRequest(compareParams(d, { startMs: 0, endMs: 1 })!);
    const expected = release().comparison!;
    for (const side of ['baseline', 'candidate'] as const) {
      const spans = req[side]!.spans!;
      const want = expected[side]!.spans!;
      expect(spans.serviceName).toBe('checkout');
      expect(spans.timeRange?.startUnixNano).toBe((want.timeRange!.startUnixNano / MS) * MS);
      expect(spans.timeRange?.endUnixNano).toBe((want.timeRange!.endUnixNano / MS) * MS);
      expect(spans.attributes).toEqual(want.attributes);
      expect(req[side]!.label).toBe(expected[side]!.label);
    }
    expect(req.options?.latencyIncrease).toBe(0.2);
  });
  it('keeps a pod template hash\'s key through the URL', () => {
    const at = AT;
    const change = release();
    change.comparison = create(CompareRequestSchema, {
      baseline: cohort(at, at + WINDOW, 'aaa', { key: 'k8s.pod.label.pod-template-hash', value: 'aaa' }),
      candidate: cohort(at, at + WINDOW, 'bbb', { key: 'k8s.pod.label.pod-template-hash', value: 'bbb' }),
    });
    const pair = changeCohorts(change)!;
    const next = applyPatch(new URLSearchParams(), deltaPatch({ ...readDelta(new URLSearchParams()), ...pair }));
    expect(next.get('candidateAttribute')).toBe('k8s.pod.label.pod-template-hash');
    const req = toCompareRequest(compareParams(readDelta(next), { startMs: 0, endMs: 1 })!);
    expect(req.candidate?.spans?.attributes).toEqual(change.comparison!.candidate!.spans!.attributes);
  });
  it('marks the row whose comparison the page shows', () => {
    const pair = changeCohorts(deployment())!;
    expect(sameCohorts(pair, { baseline: { ...pair.baseline, label: ' before ' }, candidate: pair.candidate })).toBe(true);
    expect(sameCohorts(pair, { ...pair, candidate: { ...pair.candidate, to: '' } })).toBe(false);
    expect(sameCohorts(null, pair)).toBe(false);
  });
});
