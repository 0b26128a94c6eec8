import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { AttributeFilterSchema, AttributeScope, MatchOperator } from '../gen/airis/analytics/v1/query_pb';
import { TimeRangeSchema } from '../gen/airis/common/v1/common_pb';
import {
  Aggregation,
  DurationBoundSchema,
  InterpretationSchema,
  Order,
  Signal,
  Status,
  VersionComparisonSchema,
  type Interpretation,
} from '../gen/airis/search/v1/search_pb';
import { completeWith, currentWord } from './SearchBar';
import { chipFields, chips, decode, durationText, editable, encode, shows, target, withValue, without } from './interpretation';

const HOUR = 3_600_000_000_000n;
const END = 1_796_533_200_000_000_000n; // an instant at 05:00 UTC, in ns

function slowCheckout(): Interpretation {
  return create(InterpretationSchema, {
    serviceNames: ['checkout'],
    status: Status.ERROR,
    minDuration: create(DurationBoundSchema, { nano: 500_000_000n }),
    attributes: [
      create(AttributeFilterSchema, { key: 'http.route', operator: MatchOperator.EQUALS, value: '/cart' }),
      create(AttributeFilterSchema, { key: 'service.version', operator: MatchOperator.EQUALS, value: 'v2', scope: AttributeScope.RESOURCE }),
    ],
    timeRange: create(TimeRangeSchema, { startUnixNano: END - HOUR, endUnixNano: END }),
    order: Order.LONGEST_FIRST,
  });
}

describe('the page a question opens', () => {
  it('puts requests on Traces with its own keys', () => {
    const to = target(slowCheckout());
    expect(to.path).toBe('/traces');
    expect(to.params).toEqual({
      from: String(Number((END - HOUR) / 1_000_000n)),
      to: String(Number(END / 1_000_000n)),
      service: 'checkout',
      status: 'error',
      minMs: '500',
      attr: ['http.route=/cart', 'resource:service.version=v2'],
      order: 'longest',
    });
    expect(to.unapplied).toEqual([]);
  });

  it('puts logs on Logs, their severity as the page names it', () => {
    const i = create(InterpretationSchema, { signal: Signal.LOGS, serviceNames: ['payment'], minSeverityNumber: 17, text: '결제 실패' });
    expect(target(i)).toEqual({ path: '/logs', params: { service: 'payment', q: '결제 실패', severity: 'error' }, unapplied: [] });
  });

  it('puts a metric on Metrics with its aggregation, groups and the service as a label', () => {
    const i = create(InterpretationSchema, {
      signal: Signal.METRICS,
      metricName: 'jvm.memory.used',
      aggregation: Aggregation.QUANTILE,
      quantile: 0.99,
      groupBy: ['k8s.pod.name'],
      serviceNames: ['cart'],
    });
    expect(target(i)).toEqual({
      path: '/metrics',
      params: { metric: 'jvm.memory.used', agg: 'quantile', quantile: '0.99', group: ['k8s.pod.name'], filter: ['service.name=cart'] },
      unapplied: [],
    });
  });

  it('puts a summary of one service on its page, of several on Services, and names what it cannot show', () => {
    const one = create(InterpretationSchema, { serviceNames: ['checkout'], aggregation: Aggregation.ERROR_RATE, groupBy: ['operation'] });
    expect(target(one).path).toBe('/services/checkout');
    const two = create(InterpretationSchema, { serviceNames: ['cart', 'checkout'], aggregation: Aggregation.COUNT, limit: 5 });
    expect(target(two)).toEqual({ path: '/services', params: {}, unapplied: ['limit', 'service:0', 'service:1'] });
    // Spans summarised go to Traces, which lists them: the summary is not applied.
    const spans = create(InterpretationSchema, { signal: Signal.SPANS, aggregation: Aggregation.COUNT, groupBy: ['http.route'] });
    expect(target(spans).unapplied).toEqual(['aggregation', 'groupBy:0']);
    // Successful logs: Logs filters by severity, not outcome.
    expect(target(create(InterpretationSchema, { signal: Signal.LOGS, status: Status.OK })).unapplied).toEqual(['status']);
    // A service's page is per operation; another key is not applied.
    expect(target(create(InterpretationSchema, { serviceNames: ['cart'], aggregation: Aggregation.COUNT, groupBy: ['operation', 'k8s.pod.name'] })).unapplied).toEqual(['groupBy:1']);
    // Traces take one service: the second is shown as not applied.
    const traces = create(InterpretationSchema, { serviceNames: ['cart', 'checkout'] });
    expect(target(traces)).toEqual({ path: '/traces', params: { service: 'cart' }, unapplied: ['service:1'] });
  });

  it('puts anomalies on Anomalies with the signals the question names', () => {
    const errors = create(InterpretationSchema, {
      signal: Signal.ANOMALIES,
      serviceNames: ['payment'],
      operations: ['POST /pay', 'GET /status'],
      status: Status.ERROR,
      aggregation: Aggregation.QUANTILE,
      quantile: 0.95,
    });
    expect(target(errors)).toEqual({
      path: '/anomalies',
      params: { service: 'payment', operation: 'POST /pay', signal: ['errorRate', 'p95'] },
      unapplied: ['operation:1'],
    });
    // A metric, a mean, an order and a second service the page cannot take.
    const more = create(InterpretationSchema, {
      signal: Signal.ANOMALIES,
      serviceNames: ['cart', 'checkout'],
      metricName: 'jvm.memory.used',
      aggregation: Aggregation.AVG,
      order: Order.LARGEST_FIRST,
      limit: 5,
    });
    expect(target(more)).toEqual({
      path: '/anomalies',
      params: { service: 'cart' },
      unapplied: ['limit', 'service:1', 'aggregation', 'metric', 'order'],
    });
  });

  it("puts one service's requests compared with an earlier range on Canary analysis", () => {
    const HOUR = 3_600_000_000_000n;
    const DAY = 24n * HOUR;
    const ms = (n: bigint) => String(n / 1_000_000n);
    const compared = create(InterpretationSchema, {
      signal: Signal.TRACES,
      serviceNames: ['payment', 'cart'],
      operations: ['POST /pay'],
      status: Status.ERROR,
      compareShiftNano: DAY,
      timeRange: { startUnixNano: 30n * DAY, endUnixNano: 30n * DAY + HOUR },
    });
    expect(target(compared)).toEqual({
      path: '/delta',
      params: {
        from: ms(30n * DAY),
        to: ms(30n * DAY + HOUR),
        baseline: 'payment',
        baselineFrom: ms(29n * DAY),
        baselineTo: ms(29n * DAY + HOUR),
        candidate: 'payment',
        candidateFrom: ms(30n * DAY),
        candidateTo: ms(30n * DAY + HOUR),
        rowService: 'payment',
        rowOperation: 'POST /pay',
      },
      unapplied: ['service:1', 'status'],
    });
    // Attribute filters the page cannot hold, or no service: the trace search, the comparison named.
    const filtered = create(InterpretationSchema, {
      ...compared,
      serviceNames: ['payment'],
      status: Status.UNSPECIFIED,
      attributes: [create(AttributeFilterSchema, { key: 'http.route', value: '/pay' })],
    });
    expect(target(filtered).path).toBe('/traces');
    expect(target(filtered).unapplied).toContain('compare');
    expect(target(create(InterpretationSchema, { ...compared, serviceNames: [] })).path).toBe('/traces');
    // Spans summarised: Canary analysis, which does not summarise them.
    const spans = target(create(InterpretationSchema, { ...compared, signal: Signal.SPANS, serviceNames: ['payment'], status: Status.UNSPECIFIED, aggregation: Aggregation.COUNT, groupBy: ['operation'] }));
    expect([spans.path, spans.unapplied]).toEqual(['/delta', ['aggregation', 'groupBy:0']]);
    // A summary compared stays with its answer, on the service's page.
    expect(target(create(InterpretationSchema, { ...compared, serviceNames: ['payment'], aggregation: Aggregation.ERROR_RATE })).path).toBe('/services/payment');
  });

  it('opens two versions of one service on Canary analysis, once both are known', () => {
    const range = { startUnixNano: 30n * HOUR, endUnixNano: 31n * HOUR };
    const versions = create(InterpretationSchema, {
      signal: Signal.TRACES,
      serviceNames: ['checkout'],
      compareVersions: { candidate: 'v2', baseline: 'v1' },
      timeRange: range,
    });
    expect(target(versions)).toEqual({
      path: '/delta',
      params: {
        from: String(30n * HOUR / 1_000_000n),
        to: String(31n * HOUR / 1_000_000n),
        baseline: 'checkout',
        baselineVersion: 'v1',
        candidate: 'checkout',
        candidateVersion: 'v2',
      },
      unapplied: [],
    });
    // A canary whose versions are chosen when asked: the trace search until then, the comparison named.
    const canary = create(InterpretationSchema, { ...versions, compareVersions: create(VersionComparisonSchema, {}) });
    expect([target(canary).path, target(canary).unapplied]).toEqual(['/traces', ['versions']]);
    // Logs of two versions: the Logs page shows one, so the comparison is named.
    expect(target(create(InterpretationSchema, { ...versions, signal: Signal.LOGS })).unapplied).toContain('versions');
  });
});

describe('chips', () => {
  it('show every part, in the canonical order, and remove one at a time', () => {
    const i = slowCheckout();
    const list = chips(i, (ms) => new Date(ms).toISOString().slice(11, 16));
    expect(list.map((c) => [c.key, c.words?.key ?? c.value])).toEqual([
      ['service:0', 'checkout'],
      ['status', 'search.status.error'],
      ['minDuration', '> 500 ms'],
      ['attribute:0', 'http.route = /cart'],
      ['attribute:1', 'resource.service.version = v2'],
      ['time', '04:00 – 05:00'],
      ['order', 'search.order.longest'],
    ]);
    const fewer = without(i, 'attribute:0');
    expect(fewer.attributes.map((a) => a.key)).toEqual(['service.version']);
    expect(i.attributes).toHaveLength(2);
    expect(without(i, 'minDuration').minDuration).toBeUndefined();
    expect(without(i, 'time').timeRange).toBeUndefined();
    expect(target(without(i, 'service:0')).params.service).toBeUndefined();
  });

  it('edit names and numbers in place, refusing what a part cannot take', () => {
    const i = slowCheckout();
    expect(editable(i, 'service:0')).toEqual({ kind: 'text', value: 'checkout' });
    expect(editable(i, 'minDuration')).toEqual({ kind: 'number', value: '500' });
    expect(editable(i, 'attribute:1')).toEqual({ kind: 'text', value: 'v2' });
    // Parts set by the page's own controls are removed, not typed.
    for (const key of ['status', 'time', 'order']) expect(editable(i, key)).toBeNull();
    expect(withValue(i, 'service:0', ' cart ')?.serviceNames).toEqual(['cart']);
    expect(withValue(i, 'minDuration', '1500')?.minDuration).toMatchObject({ nano: 1_500_000_000n, inclusive: false });
    expect(withValue(i, 'attribute:1', 'v3')?.attributes[1]?.value).toBe('v3');
    expect(i.serviceNames).toEqual(['checkout']);
    for (const [key, value] of [
      ['service:0', '  '],
      ['minDuration', 'fast'],
      ['minDuration', '-1'],
      ['status', 'ok'],
    ])
      expect(withValue(i, key!, value!)).toBeNull();
    const top = create(InterpretationSchema, { limit: 5 });
    expect(withValue(top, 'limit', '10')?.limit).toBe(10);
    expect(withValue(top, 'limit', '2.5')).toBeNull();
    expect(withValue(top, 'limit', '0')).toBeNull();
    expect(withValue(i, 'minDuration', '1e20')).toBeNull();
  });

  it('name a severity range by its ends', () => {
    const at = (min: number, max: number) => chips(create(InterpretationSchema, { minSeverityNumber: min, maxSeverityNumber: max }), String)[0]?.severity;
    expect(at(17, 0)).toEqual(['error', '']);
    expect(at(13, 16)).toEqual(['warn', 'warn']);
    expect(at(0, 12)).toEqual(['', 'info']);
  });

  it('name the versions compared, or say they are chosen when asked', () => {
    const versions = (candidate: string, baseline: string) =>
      chips(create(InterpretationSchema, { compareVersions: { candidate, baseline } }), String)[0];
    expect(versions('v2', 'v1')).toMatchObject({ key: 'versions', words: { key: 'search.versions.both', values: { candidate: 'v2', baseline: 'v1' } } });
    expect(versions('', '')?.words?.key).toBe('search.versions.canary');
    expect(versions('v2', '')?.words?.key).toBe('search.versions.candidate');
    expect(versions('', 'v1')?.words?.key).toBe('search.versions.baseline');
    const i = create(InterpretationSchema, { compareVersions: { candidate: 'v2', baseline: 'v1' } });
    expect(without(i, 'versions').compareVersions).toBeUndefined();
    expect(chipFields('versions')).toEqual(['compare_versions']);
  });

  it('count a comparison in days, as a number the plural rules read', () => {
    const list = chips(create(InterpretationSchema, { compareShiftNano: 86_400_000_000_000n }), String);
    expect(list[0]?.words).toEqual({ key: 'search.compareDays', values: { count: 1 } });
  });

  it('write durations in their largest whole unit', () => {
    expect(durationText(500_000_000n)).toBe('500 ms');
    expect(durationText(1_500_000_000n)).toBe('1.5 s');
    expect(durationText(180_000_000_000n)).toBe('3 min');
  });
});

describe('whether the page still shows a question', () => {
  it('is true for its own filters, false once the form or the time range moved', () => {
    const i = slowCheckout();
    const to = target(i);
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(to.params)) for (const x of [v].flat()) params.append(k, x);
    params.set('ask', 'q');
    expect(shows(i, '/traces', params)).toBe(true);
    expect(shows(i, '/logs', params)).toBe(false);
    const moved = new URLSearchParams(params);
    moved.set('service', 'cart');
    expect(shows(i, '/traces', moved)).toBe(false);
    const later = new URLSearchParams(params);
    later.set('from', 'now-15m');
    expect(shows(i, '/traces', later)).toBe(false);
  });
});

describe('the URL form', () => {
  it('round-trips and refuses what is not one', () => {
    const i = slowCheckout();
    const text = encode(i);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decode(text)).toEqual(i);
    expect(decode('%%%')).toBeNull();
  });
});

describe('the word being typed', () => {
  it('is the last one, and a completion replaces it', () => {
    expect(currentWord('errors in chec')).toBe('chec');
    expect(currentWord('errors in ')).toBe('');
    expect(completeWith('errors in chec', 'checkout')).toBe('errors in checkout ');
    expect(completeWith('결', 'payment')).toBe('payment ');
    // A name of several words takes the ones already typed with it.
    expect(completeWith('slow GET car', 'GET /cart')).toBe('slow GET /cart ');
    expect(completeWith('slow get  car', 'GET /cart')).toBe('slow GET /cart ');
    expect(completeWith('errors in POST /pay', 'POST /payments/charge')).toBe('errors in POST /payments/charge ');
    expect(completeWith('GET car', 'cart')).toBe('GET cart ');
  });
});

describe('chipFields', () => {
  it('names the fields as the search service does', () => {
    expect(chipFields('groupBy:1')).toEqual(['group_by[1]']);
    expect(chipFields('service:0')).toEqual(['service_names[0]']);
    expect(chipFields('severity')).toEqual(['min_severity_number', 'max_severity_number']);
    expect(chipFields('minDuration')).toEqual(['min_duration']);
    expect(chipFields('nonsense')).toEqual([]);
  });
});
