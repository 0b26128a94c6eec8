import { create, equals, fromJsonString, toJsonString } from '@bufbuild/protobuf';
import i18next, { type TFunction } from 'i18next';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AlertRuleSchema,
  AlertState,
  Comparison,
  TestRuleResponseSchema,
  type TestRuleResponse,
} from '../../gen/airis/aiops/v1/alert_pb';
import { Signal } from '../../gen/airis/aiops/v1/anomaly_pb';
import { Aggregation, MatchOperator } from '../../gen/airis/analytics/v1/query_pb';
import { en } from '../../i18n/all';
import { setFormatLocale } from '../../lib/format';
import {
  conditionText,
  episodesOf,
  fieldIds,
  firedCount,
  formatRuleValue,
  formToRule,
  newRuleForm,
  parseNumber,
  parseWhole,
  previewOf,
  ruleToForm,
  serverFieldOf,
  templateProblem,
  thresholdLine,
  validateRule,
  watchesText,
  withKind,
  withSignal,
  type RuleForm,
} from './rules';

/** A complete threshold rule: checkout's p95 latency above 500 ms for 5 minutes. */
function checkoutForm(patch: Partial<RuleForm> = {}): RuleForm {
  const form = newRuleForm();
  return { ...form, name: 'checkout slow', series: { ...form.series, service: 'checkout' }, ...patch };
}

/** A complete anomaly rule on a metric series: the p99 of queue.depth of the mail queue outside eu. */
function queueAnomaly(patch: Partial<RuleForm> = {}): RuleForm {
  const form = withKind(checkoutForm({ name: 'queue unusual' }), 'anomaly');
  return {
    ...form,
    anomaly: {
      ...form.anomaly,
      target: 'metric',
      metric: { metric: 'queue.depth', aggregation: 'quantile', quantile: '0.99', filters: ['queue=mail', 'region!=eu', ''] },
    },
    ...patch,
  };
}

let t: TFunction;
beforeAll(async () => {
  const i18n = i18next.createInstance();
  await i18n.init({ lng: 'en', resources: { en: { translation: en } }, interpolation: { escapeValue: false } });
  t = i18n.t;
  setFormatLocale('en');
});

describe('numbers as typed', () => {
  it('reads decimals, refusing what is ambiguous or not finite', () => {
    expect(['12', ' -0.5 ', '.5', '1e3', '+2'].map(parseNumber)).toEqual([12, -0.5, 0.5, 1000, 2]);
    expect(['', '1,000', '12ms', 'Infinity', 'NaN', '1e999', '0x10'].map(parseNumber)).toEqual([null, null, null, null, null, null, null]);
  });
  it('reads whole numbers only', () => {
    expect(['0', ' 60 ', '007'].map(parseWhole)).toEqual([0, 60, 7]);
    expect(['', '-1', '1.5', '1e3', '1234567890'].map(parseWhole)).toEqual([null, null, null, null, null]);
  });
});

describe('form → AlertRule', () => {
  it('turns a new threshold rule into what CreateRule takes', () => {
    const rule = formToRule(checkoutForm());
    expect(rule.id).toBe('');
    expect(rule.version).toBe(0n);
    expect(rule.name).toBe('checkout slow');
    expect(rule.forMinutes).toBe(5);
    expect(rule.labels).toEqual({ severity: 'warning' });
    expect(rule.annotations.map((a) => [a.name, a.en, a.ko])).toEqual([['summary', '{{ $labels.alertname }}: {{ $value }}', '']]);
    expect(rule.paused).toBe(false);
    expect(rule.condition.case).toBe('threshold');
    if (rule.condition.case !== 'threshold') return;
    const c = rule.condition.value;
    expect(c.comparison).toBe(Comparison.ABOVE);
    expect(c.threshold).toBe(500);
    // 1 of 1 is the default: left out.
    expect(c.kOfN).toBeUndefined();
    expect(c.series?.series.case).toBe('red');
    if (c.series?.series.case !== 'red') return;
    expect(c.series.series.value.serviceName).toBe('checkout');
    expect(c.series.series.value.operation).toBe('');
    expect(c.series.series.value.signal).toBe(Signal.LATENCY_P95);
    expect(c.series.series.value.historyMinutes).toBe(0);
  });

  it('sends an error rate typed in percent as the ratio the series holds', () => {
    const form = withSignal(checkoutForm(), 'errorRate');
    const rule = formToRule({ ...form, threshold: '0.3', comparison: 'below', kOfN: { k: '3', n: '5' } });
    if (rule.condition.case !== 'threshold') throw new Error(rule.condition.case);
    expect(rule.condition.value.threshold).toBe(0.003);
    expect(rule.condition.value.comparison).toBe(Comparison.BELOW);
    expect(rule.condition.value.kOfN).toMatchObject({ k: 3, n: 5 });
    // And back, as typed (no 0.30000000000000004).
    expect(ruleToForm(rule).threshold).toBe('0.3');
  });

  it('adds the id and version read only for UpdateRule', () => {
    const form = checkoutForm({ id: 'r-1', version: '7' });
    expect(formToRule(form, { identity: true })).toMatchObject({ id: 'r-1', version: 7n });
    expect(formToRule(form)).toMatchObject({ id: '', version: 0n });
  });

  it('leaves out blank rows, trims names and stands in a name for a preview', () => {
    const rule = formToRule(
      checkoutForm({
        name: '  ',
        labels: [
          { name: ' team ', value: 'payments' },
          { name: '', value: '' },
        ],
        annotations: [
          { name: '', en: '', ko: '' },
          { name: ' runbook_url ', en: 'https://runbooks/checkout', ko: '' },
        ],
      }),
      { name: 'Untitled rule' },
    );
    expect(rule.name).toBe('Untitled rule');
    expect(rule.labels).toEqual({ team: 'payments' });
    expect(rule.annotations.map((a) => a.name)).toEqual(['runbook_url']);
  });

  it('sends an anomaly condition on a metric series without service, operation or signals', () => {
    const form = queueAnomaly();
    // The service carried over from the threshold stays in the form, not in the rule.
    expect(form.anomaly.service).toBe('checkout');
    const rule = formToRule({ ...form, anomaly: { ...form.anomaly, signals: ['p95'], minScore: '0.7' } });
    if (rule.condition.case !== 'anomaly') throw new Error(rule.condition.case);
    const f = rule.condition.value.filter!;
    expect([f.serviceName, f.operation, f.signals, f.minScore]).toEqual(['', '', [], 0.7]);
    expect(f.metric?.metricName).toBe('queue.depth');
    expect(f.metric?.aggregation).toBe(Aggregation.QUANTILE);
    expect(f.metric?.quantile).toBe(0.99);
    expect([f.metric?.stepSeconds, f.metric?.historyMinutes]).toEqual([0, 0]);
    // Blank filter rows are left out.
    expect(f.metric?.filters.map((x) => [x.key, x.operator, x.value])).toEqual([
      ['queue', MatchOperator.EQUALS, 'mail'],
      ['region', MatchOperator.NOT_EQUALS, 'eu'],
    ]);
    // No quantile for another aggregation.
    const avg = formToRule({ ...form, anomaly: { ...form.anomaly, metric: { ...form.anomaly.metric, aggregation: 'avg' } } });
    if (avg.condition.case !== 'anomaly') throw new Error(avg.condition.case);
    expect(avg.condition.value.filter?.metric?.quantile).toBe(0);
    // Back to a service: no metric.
    const service = formToRule({ ...form, anomaly: { ...form.anomaly, target: 'service' } });
    if (service.condition.case !== 'anomaly') throw new Error(service.condition.case);
    expect(service.condition.value.filter?.metric).toBeUndefined();
    expect(service.condition.value.filter?.serviceName).toBe('checkout');
  });

  it('sends only the fields of the chosen kind', () => {
    const form = withKind(checkoutForm(), 'absence');
    const rule = formToRule({ ...form, absenceMinutes: '15' });
    expect(rule.condition.case).toBe('absence');
    if (rule.condition.case !== 'absence') return;
    expect(rule.condition.value.minutes).toBe(15);
    expect(rule.condition.value.series?.series.case).toBe('red');
  });
});

describe('AlertRule → form → AlertRule', () => {
  const roundTrip = (form: RuleForm) => {
    const rule = formToRule(form, { identity: true });
    const again = formToRule(ruleToForm(rule), { identity: true });
    expect(equals(AlertRuleSchema, again, rule), JSON.stringify(toJsonString(AlertRuleSchema, rule))).toBe(true);
    return rule;
  };

  it('keeps a threshold on a metric with its filters and quantile', () => {
    const base = checkoutForm({ id: 'r-2', version: '3' });
    const rule = roundTrip({
      ...base,
      series: { ...base.series, source: 'metric', metric: 'queue.depth', aggregation: 'quantile', quantile: '0.99', filters: ['queue=mail', 'region!=eu', 'host~web', 'zone'] },
      threshold: '1000',
    });
    if (rule.condition.case !== 'threshold' || rule.condition.value.series?.series.case !== 'metric') throw new Error('not a metric threshold');
    const m = rule.condition.value.series.series.value;
    expect(m.metricName).toBe('queue.depth');
    expect(m.aggregation).toBe(Aggregation.QUANTILE);
    expect(m.quantile).toBe(0.99);
    expect(m.filters.map((f) => [f.key, f.operator, f.value])).toEqual([
      ['queue', MatchOperator.EQUALS, 'mail'],
      ['region', MatchOperator.NOT_EQUALS, 'eu'],
      ['host', MatchOperator.CONTAINS, 'web'],
      ['zone', MatchOperator.EXISTS, ''],
    ]);
    // A metric threshold is in the metric's own unit: not scaled.
    expect(rule.condition.value.threshold).toBe(1000);
  });

  it('keeps an anomaly condition', () => {
    const form = withKind(checkoutForm({ id: 'r-3', version: '1' }), 'anomaly');
    expect(form.anomaly.service).toBe('checkout');
    const rule = roundTrip({ ...form, anomaly: { ...form.anomaly, operation: 'POST /checkout', signals: ['errorRate', 'p99'], minScore: '0.8' }, kOfN: { k: '2', n: '3' } });
    if (rule.condition.case !== 'anomaly') throw new Error(rule.condition.case);
    expect(rule.condition.value.filter?.signals).toEqual([Signal.ERROR_RATE, Signal.LATENCY_P99]);
    expect(rule.condition.value.filter?.minScore).toBe(0.8);
    expect(rule.condition.value.kOfN).toMatchObject({ k: 2, n: 3 });
  });

  it('keeps an anomaly condition on a metric series', () => {
    const rule = roundTrip(queueAnomaly({ id: 'r-7', version: '2', kOfN: { k: '2', n: '5' } }));
    const form = ruleToForm(rule);
    expect(form.kind).toBe('anomaly');
    expect(form.anomaly.target).toBe('metric');
    expect(form.anomaly.service).toBe('');
    expect(form.anomaly.metric).toEqual({ metric: 'queue.depth', aggregation: 'quantile', quantile: '0.99', filters: ['queue=mail', 'region!=eu'] });
    // A service's anomaly condition reads back as one, its metric at the defaults.
    const service = ruleToForm(formToRule(withKind(checkoutForm(), 'anomaly')));
    expect(service.anomaly.target).toBe('service');
    expect(service.anomaly.metric).toEqual(newRuleForm().anomaly.metric);
  });

  it('keeps a burn-rate condition with its objective in percent', () => {
    const form = withKind(checkoutForm({ id: 'r-4', version: '2' }), 'burnRate');
    const rule = roundTrip({ ...form, burnRate: { ...form.burnRate, windows: [{ long: '120', short: '10', factor: '7.5' }] } });
    if (rule.condition.case !== 'burnRate') throw new Error(rule.condition.case);
    expect(rule.condition.value.serviceName).toBe('checkout');
    expect(rule.condition.value.objective).toBe(0.999);
    expect(rule.condition.value.windows.map((w) => [w.longMinutes, w.shortMinutes, w.factor])).toEqual([[120, 10, 7.5]]);
    expect(ruleToForm(rule).burnRate.objective).toBe('99.9');
  });

  it('keeps labels, annotations, paused and the version read', () => {
    const rule = roundTrip(
      checkoutForm({
        id: 'r-5',
        version: '12',
        paused: true,
        labels: [
          { name: 'team', value: 'payments' },
          { name: 'severity', value: 'page' },
        ],
        annotations: [{ name: 'summary', en: '{{ $value }} ms', ko: '{{ $value }}밀리초' }],
      }),
    );
    const form = ruleToForm(rule);
    expect(form.version).toBe('12');
    expect(form.paused).toBe(true);
    // By name, whatever order the map has.
    expect(form.labels.map((l) => l.name)).toEqual(['severity', 'team']);
  });

  it('survives the JSON the preview keys its query with', () => {
    const rule = formToRule(checkoutForm({ id: 'r-6', version: '4' }), { identity: true });
    expect(equals(AlertRuleSchema, fromJsonString(AlertRuleSchema, toJsonString(AlertRuleSchema, rule)), rule)).toBe(true);
  });

  it('reads a stored 0 of 0 as 1 of 1', () => {
    const rule = formToRule(checkoutForm());
    if (rule.condition.case !== 'threshold') throw new Error(rule.condition.case);
    rule.condition.value.kOfN = { $typeName: 'airis.aiops.v1.KOfN', k: 0, n: 0 };
    expect(ruleToForm(rule).kOfN).toEqual({ k: '1', n: '1' });
  });
});

describe('changing the kind or the signal', () => {
  it("carries the service over to a kind that has none yet, and keeps a kind's own", () => {
    const anomaly = withKind(checkoutForm(), 'anomaly');
    expect(anomaly.anomaly.service).toBe('checkout');
    const other = { ...anomaly, anomaly: { ...anomaly.anomaly, service: 'payment' } };
    // Back to threshold: its own service stays.
    expect(withKind(other, 'threshold').series.service).toBe('checkout');
    expect(withKind(other, 'threshold').kind).toBe('threshold');
  });
  it('carries a metric series over between threshold, absence and anomaly, not to a burn rate', () => {
    const anomaly = queueAnomaly();
    const threshold = withKind(anomaly, 'threshold');
    // The threshold had checkout's RED series: its own, kept.
    expect(threshold.series.source).toBe('red');
    const fresh = withKind({ ...anomaly, series: newRuleForm().series }, 'absence');
    expect(fresh.series).toMatchObject({ source: 'metric', metric: 'queue.depth', aggregation: 'quantile', quantile: '0.99', filters: ['queue=mail', 'region!=eu', ''] });
    const back = withKind({ ...withKind(fresh, 'threshold'), anomaly: newRuleForm().anomaly }, 'anomaly');
    expect(back.anomaly.target).toBe('metric');
    expect(back.anomaly.metric.metric).toBe('queue.depth');
    expect(withKind({ ...anomaly, burnRate: newRuleForm().burnRate }, 'burnRate').burnRate.service).toBe('');
    // A service goes to an anomaly condition watching nothing yet, as its target.
    const service = withKind(checkoutForm(), 'anomaly');
    expect([service.anomaly.target, service.anomaly.service]).toEqual(['service', 'checkout']);
  });
  it('moves a threshold still at the default to the new signal', () => {
    expect(withSignal(checkoutForm(), 'rate').threshold).toBe('100');
    expect(withSignal(checkoutForm({ threshold: '750' }), 'rate').threshold).toBe('750');
    expect(withSignal(checkoutForm(), 'rate').series.signal).toBe('rate');
  });
});

describe('checks, by the field the service would name', () => {
  const problems = (form: RuleForm, opts?: { nameRequired?: boolean }) => validateRule(form, opts);

  it('accepts a complete rule', () => {
    expect(problems(checkoutForm())).toEqual({});
  });

  it('needs a name to save, not to preview', () => {
    const form = checkoutForm({ name: ' ' });
    expect(problems(form)).toEqual({ name: { key: 'required' } });
    expect(problems(form, { nameRequired: false })).toEqual({});
    expect(problems(checkoutForm({ name: 'x'.repeat(201) })).name).toEqual({ key: 'tooLongChars', values: { max: 200 } });
    expect(problems(checkoutForm({ name: 'x'.repeat(200) })).name).toBeUndefined();
    expect(problems(checkoutForm({ name: 'two\nlines' })).name?.key).toBe('control');
  });

  it('names the threshold fields', () => {
    const base = checkoutForm();
    expect(Object.keys(problems({ ...base, series: { ...base.series, service: '' } }))).toEqual(['threshold.series.red.service_name']);
    expect(problems({ ...base, threshold: '1,5' })).toEqual({ 'threshold.threshold': { key: 'number' } });
    for (const kOfN of [
      { k: '3', n: '2' },
      { k: '0', n: '1' },
      { k: '1', n: '61' },
      { k: 'one', n: '1' },
    ]) {
      expect(Object.keys(problems({ ...base, kOfN })), JSON.stringify(kOfN)).toEqual(['threshold.k_of_n']);
    }
    expect(problems({ ...base, kOfN: { k: '60', n: '60' } })).toEqual({});
    expect(problems({ ...base, forMinutes: '1441' })).toEqual({ for_minutes: { key: 'whole', values: { min: 0, max: 1440 } } });
    expect(problems({ ...base, forMinutes: '0' })).toEqual({});
  });

  it('names the fields of a metric series', () => {
    const base = checkoutForm();
    const metric = { ...base.series, source: 'metric' as const, metric: '', aggregation: 'quantile' as const, quantile: '0', filters: ['queue=mail', '=x', 'resource:host=a'] };
    expect(problems({ ...base, series: metric })).toEqual({
      'threshold.series.metric.metric_name': { key: 'required' },
      'threshold.series.metric.quantile': { key: 'quantile' },
      'threshold.series.metric.filters': { key: 'filter', values: { n: 2 } },
    });
    expect(problems({ ...withKind(base, 'absence'), series: { ...metric, metric: 'up', quantile: '1', filters: [] } })).toEqual({});
  });

  it('names the fields of the other kinds', () => {
    const anomaly = withKind(checkoutForm(), 'anomaly');
    expect(problems({ ...anomaly, anomaly: { ...anomaly.anomaly, minScore: '1.5' } })).toEqual({ 'anomaly.filter.min_score': { key: 'score' } });
    expect(problems({ ...anomaly, anomaly: { ...anomaly.anomaly, service: '' }, kOfN: { k: '2', n: '1' } })).toEqual({
      'anomaly.filter.service_name': { key: 'required' },
      'anomaly.k_of_n': { key: 'kOfN', values: { max: 60 } },
    });
    const absence = withKind(checkoutForm(), 'absence');
    expect(Object.keys(problems({ ...absence, absenceMinutes: '0' }))).toEqual(['absence.minutes']);
    const metric = queueAnomaly();
    expect(problems(metric)).toEqual({});
    // Its service is not asked for; its metric series is, as a threshold's.
    expect(problems({ ...metric, anomaly: { ...metric.anomaly, service: '', metric: { metric: ' ', aggregation: 'quantile', quantile: '0', filters: ['resource:host=a'] } } })).toEqual({
      'anomaly.filter.metric.metric_name': { key: 'required' },
      'anomaly.filter.metric.quantile': { key: 'quantile' },
      'anomaly.filter.metric.filters': { key: 'filter', values: { n: 1 } },
    });
    expect(problems({ ...metric, anomaly: { ...metric.anomaly, target: 'service', service: '' } })).toEqual({ 'anomaly.filter.service_name': { key: 'required' } });
    const burn = withKind(checkoutForm(), 'burnRate');
    expect(Object.keys(problems({ ...burn, burnRate: { ...burn.burnRate, objective: '100' } }))).toEqual(['burn_rate.objective']);
    expect(
      problems({
        ...burn,
        burnRate: {
          ...burn.burnRate,
          windows: [
            { long: '60', short: '60', factor: '14.4' },
            { long: '4321', short: '0', factor: '-1' },
          ],
        },
      }),
    ).toEqual({
      'burn_rate.windows[0].short_minutes': { key: 'shortWindow' },
      'burn_rate.windows[1].long_minutes': { key: 'whole', values: { min: 1, max: 4320 } },
      'burn_rate.windows[1].short_minutes': { key: 'whole', values: { min: 1, max: 4320 } },
      'burn_rate.windows[1].factor': { key: 'positive' },
    });
    const five = Array.from({ length: 5 }, () => ({ long: '60', short: '5', factor: '2' }));
    expect(problems({ ...burn, burnRate: { ...burn.burnRate, windows: five } })).toEqual({ 'burn_rate.windows': { key: 'tooMany', values: { max: 4 } } });
  });

  it('names labels by row, ignoring blank rows', () => {
    const labels = [
      { name: 'severity', value: 'page' },
      { name: '', value: '' },
      { name: '9lives', value: 'x' },
      { name: '__meta', value: 'x' },
      { name: 'alertname', value: 'x' },
      { name: 'severity', value: 'ticket' },
      { name: 'note', value: '가'.repeat(342) },
    ];
    expect(problems(checkoutForm({ labels }))).toEqual({
      'labels[2].name': { key: 'labelName' },
      'labels[3].name': { key: 'labelName' },
      'labels[4].name': { key: 'alertname' },
      'labels[5].name': { key: 'duplicate' },
      // 342 Hangul syllables: 1,026 bytes of UTF-8.
      'labels[6].value': { key: 'tooLongBytes', values: { max: 1024 } },
    });
  });

  it('names annotations by row and language, with the placeholder refused', () => {
    const annotations = [
      { name: 'summary', en: '', ko: '요약' },
      { name: 'summary', en: 'again', ko: '' },
      { name: 'description', en: '{{ $value }} at {{ $labels.service_name }}', ko: '{{ $Value }}' },
    ];
    expect(problems(checkoutForm({ annotations }))).toEqual({
      'annotations[0].en': { key: 'required' },
      'annotations[1].name': { key: 'duplicate' },
      'annotations[2].ko': { key: 'template', values: { found: '{{ $Value }}', value: '{{ $value }}', label: '{{ $labels.<name> }}' } },
    });
  });

  it('only names fields the form shows', () => {
    const broken: RuleForm[] = [
      checkoutForm({ name: '', threshold: 'x', forMinutes: 'x', kOfN: { k: '9', n: '1' }, labels: [{ name: '1', value: '' }], annotations: [{ name: '', en: '', ko: '{{' }] }),
      { ...withKind(checkoutForm(), 'anomaly'), anomaly: { ...newRuleForm().anomaly, minScore: '7' } },
      { ...withKind(checkoutForm(), 'anomaly'), anomaly: { ...queueAnomaly().anomaly, metric: { metric: '', aggregation: 'quantile', quantile: '2', filters: ['=x'] } } },
      { ...withKind(checkoutForm(), 'burnRate'), burnRate: { service: '', operation: '', objective: '0', windows: [{ long: '', short: '', factor: '' }] } },
    ];
    for (const form of broken) {
      const names = Object.keys(problems(form));
      expect(names.length).toBeGreaterThanOrEqual(2);
      expect(fieldIds(form)).toEqual(expect.arrayContaining(names));
    }
  });
});

describe('templates', () => {
  it('accepts only $value and $labels.<name>', () => {
    expect(templateProblem('no placeholders')).toBeNull();
    expect(templateProblem('{{ $value }} and {{$labels.service_name}} and {{  $labels._x1  }}')).toBeNull();
    expect(templateProblem('{{ .Value }}')).toBe('{{ .Value }}');
    expect(templateProblem('ok {{ $value }} then {{ $labels.9x }} and {{ $nope }}')).toBe('{{ $labels.9x }}');
    expect(templateProblem('{{ $labels. }}')).toBe('{{ $labels. }}');
    expect(templateProblem('{{ $value }} and {{ $value')).toBe('{{ $value');
  });
});

describe("the service's refusals, next to their field", () => {
  const known = fieldIds(checkoutForm({ labels: [{ name: 'a', value: '' }], annotations: [{ name: 's', en: 'x', ko: '' }, { name: 't', en: 'y', ko: '' }] }));
  it('finds the field named, or the one enclosing it', () => {
    expect(serverFieldOf('rule.threshold.threshold: not a finite number', known)).toBe('threshold.threshold');
    expect(serverFieldOf('rule.threshold.series.red.service_name: required', known)).toBe('threshold.series.red.service_name');
    expect(serverFieldOf('rule.annotations[1].ko: {{ $x }} is not {{ $value }} or {{ $labels.<name> }}', known)).toBe('annotations[1].ko');
    expect(serverFieldOf('rule.labels["9lives"]: a label name is letters, digits and _', known)).toBe('labels');
    const base = checkoutForm();
    const metric = fieldIds({ ...base, series: { ...base.series, source: 'metric', filters: ['queue=mail'] } });
    expect(serverFieldOf('rule.threshold.series.metric.filters[0].key: required', metric)).toBe('threshold.series.metric.filters');
  });
  it('finds the fields of an anomaly condition on a service or a metric series', () => {
    const metric = fieldIds(queueAnomaly());
    expect(serverFieldOf('rule.anomaly.filter.metric.aggregation: 0 is not an aggregation', metric)).toBe('anomaly.filter.metric.aggregation');
    expect(serverFieldOf('rule.anomaly.filter.metric.filters[1].operator: 9 is not an operator', metric)).toBe('anomaly.filter.metric.filters');
    expect(serverFieldOf('rule.anomaly.filter.min_score: 2 is not in [0, 1]', metric)).toBe('anomaly.filter.min_score');
    // A metric series has no service field.
    expect(metric).not.toContain('anomaly.filter.service_name');
    expect(serverFieldOf('rule.anomaly.filter.metric: rules judge whole minutes; leave step_seconds and history_minutes 0', metric)).toBeNull();
    const service = fieldIds(withKind(checkoutForm(), 'anomaly'));
    expect(serverFieldOf('rule.anomaly.filter.service_name: required, or a metric series in filter.metric', service)).toBe('anomaly.filter.service_name');
    expect(service).not.toContain('anomaly.filter.metric.metric_name');
  });
  it('names none for what the form has no field for', () => {
    expect(serverFieldOf('time_range: 20000 minutes, at most 10080 (a week)', known)).toBeNull();
    expect(serverFieldOf('rule.condition: one of threshold, anomaly, absence, burn_rate is required', known)).toBeNull();
    // A prefix of a name is not its field.
    expect(serverFieldOf('rule.names: x', known)).toBeNull();
    expect(serverFieldOf('rule.threshold.series.red.history_minutes: leave it 0', known)).toBeNull();
  });
});

describe('a rule in words', () => {
  it('says what a threshold watches and when it fires', () => {
    const rule = formToRule(checkoutForm());
    expect(watchesText(rule, t)).toBe('checkout · whole service · p95 latency');
    expect(conditionText(rule, t)).toBe('p95 latency > 500 ms for 5 min');
    const rate = formToRule({ ...withSignal(checkoutForm({ forMinutes: '0' }), 'errorRate'), threshold: '2.5', kOfN: { k: '3', n: '5' } });
    expect(conditionText(rate, t)).toBe('Error rate > 2.5% in 3 of 5 minutes');
  });
  it('says the other kinds', () => {
    const absence = formToRule({ ...withKind(checkoutForm(), 'absence'), absenceMinutes: '90', forMinutes: '0' });
    expect(conditionText(absence, t)).toBe('no data for 1 h 30 min');
    const anomaly = withKind(checkoutForm({ forMinutes: '0' }), 'anomaly');
    expect(watchesText(formToRule(anomaly), t)).toBe('checkout · whole service · all signals');
    expect(conditionText(formToRule(anomaly), t)).toBe('any anomaly');
    const scored = formToRule({ ...anomaly, anomaly: { ...anomaly.anomaly, minScore: '0.9', signals: ['p99'] } });
    expect(watchesText(scored, t)).toBe('checkout · whole service · p99 latency');
    expect(thresholdLine(scored)).toBe(0.9);
    const queue = formToRule(queueAnomaly({ forMinutes: '0' }));
    expect(watchesText(queue, t)).toBe('queue.depth {queue=mail, region!=eu} · p99');
    expect(conditionText(queue, t)).toBe('any anomaly');
    expect(formatRuleValue(queue, 0.934)).toBe(formatRuleValue(scored, 0.934));
    const burn = formToRule(withKind(checkoutForm({ forMinutes: '0' }), 'burnRate'));
    expect(watchesText(burn, t)).toBe('checkout · whole service · error budget');
    expect(conditionText(burn, t)).toBe('burn rate above 14.4× over 1 h and 5 min or above 6× over 6 h and 30 min (objective 99.9%)');
    expect(thresholdLine(burn)).toBeNull();
  });
  it('formats values in the unit of the series', () => {
    const errorRate = formToRule({ ...withSignal(checkoutForm(), 'errorRate'), threshold: '5' });
    expect(formatRuleValue(errorRate, 0.05)).toBe('5%');
    expect(thresholdLine(errorRate)).toBe(0.05);
    const burn = formToRule(withKind(checkoutForm(), 'burnRate'));
    expect(formatRuleValue(burn, 14.4)).toBe('14.4×');
  });
});

describe("TestRule's answer", () => {
  const T0 = Date.UTC(2026, 0, 31, 10, 0) / 1000;
  const ns = (sec: number) => BigInt(sec) * 1_000_000_000n;
  const minute = (i: number, state: AlertState, value?: number, breached = false) => ({
    timeUnixNano: ns(T0 + i * 60),
    hasValue: value !== undefined,
    value: value ?? 0,
    breached,
    state,
  });
  const { INACTIVE, PENDING, FIRING } = AlertState;
  const answer: TestRuleResponse = create(TestRuleResponseSchema, {
    evaluations: [
      minute(0, INACTIVE, 100),
      minute(1, PENDING, 600, true),
      minute(2, PENDING, 700, true),
      minute(3, FIRING, 800, true),
      minute(4, FIRING, 900, true),
      minute(5, INACTIVE),
      minute(6, PENDING, 650, true),
    ],
    alerts: [
      { activeUnixNano: ns(T0 + 60), firedUnixNano: ns(T0 + 180), resolvedUnixNano: ns(T0 + 300), value: 800, labels: { service_name: 'checkout', alertname: 'slow' }, annotations: { summary: 'slow at 800 ms' } },
      { activeUnixNano: ns(T0 + 360), value: 650 },
    ],
  });

  it('gives the chart its columns and the runs of pending and firing minutes', () => {
    const p = previewOf(answer);
    expect(p.x).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => T0 + i * 60));
    expect(p.values).toEqual([100, 600, 700, 800, 900, null, 650]);
    expect(p.spans).toEqual([
      { start: T0 + 60, end: T0 + 180, state: 'pending' },
      { start: T0 + 180, end: T0 + 300, state: 'firing' },
      { start: T0 + 360, end: T0 + 420, state: 'pending' },
    ]);
    expect([p.minutes, p.breached, p.pending, p.firing]).toEqual([7, 5, 3, 2]);
  });

  it('does not join runs across a minute missing from the answer', () => {
    const gap = create(TestRuleResponseSchema, { evaluations: [minute(0, FIRING, 1, true), minute(2, FIRING, 1, true)] });
    expect(previewOf(gap).spans).toEqual([
      { start: T0, end: T0 + 60, state: 'firing' },
      { start: T0 + 120, end: T0 + 180, state: 'firing' },
    ]);
  });

  it('lists the alerts, fired or not, resolved or not', () => {
    const episodes = episodesOf(answer);
    expect(episodes.map((e) => [e.activeMs, e.firedMs, e.resolvedMs, e.value])).toEqual([
      [(T0 + 60) * 1000, (T0 + 180) * 1000, (T0 + 300) * 1000, 800],
      [(T0 + 360) * 1000, null, null, 650],
    ]);
    expect(episodes[0]!.labels).toEqual([
      ['alertname', 'slow'],
      ['service_name', 'checkout'],
    ]);
    expect(episodes[0]!.annotations).toEqual([['summary', 'slow at 800 ms']]);
    expect(new Set(episodes.map((e) => e.key)).size).toBe(2);
    expect(firedCount(episodes)).toBe(1);
  });
});
