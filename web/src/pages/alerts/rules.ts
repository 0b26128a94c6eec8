// Alert rules as the editor holds them (numbers as typed), checked as the
// alert service checks them, converted to and from AlertRule; what a rule
// watches and its condition in words; and TestRule's answer as a chart's
// columns and a list of alerts.
import { create } from '@bufbuild/protobuf';
import type { TFunction } from 'i18next';
import type { AggregationName } from '../../api/hooks';
import { labelFilterText, parseAttr, signalName, signalOf, toMetricSelector, type SignalName } from '../../api/filters';
import {
  AbsenceConditionSchema,
  AlertRuleSchema,
  AlertState,
  AnomalyConditionSchema,
  BurnRateConditionSchema,
  Comparison,
  RuleSeriesSchema,
  ThresholdConditionSchema,
  type AlertRule,
  type RuleSeries,
  type TestRuleResponse,
} from '../../gen/airis/aiops/v1/alert_pb';
import { AnomalyFilterSchema, type MetricSeriesSelector } from '../../gen/airis/aiops/v1/anomaly_pb';
import { Aggregation } from '../../gen/airis/analytics/v1/query_pb';
import { formatCompact, formatInterval, formatPercent, formatScore, formatWithUnit } from '../../lib/format';
import { nanosToMs } from '../../lib/time';
import { formatSignalValue } from '../anomalies/anomalies';
import { NAME_RE, closestField, type Problems } from './fields';

// === limits: the alert service's (services/aiops/src/alert/rule.rs) ===

export const MAX_NAME_CHARS = 200;
export const MAX_FOR_MINUTES = 1_440;
export const MAX_LABELS = 32;
export const MAX_LABEL_VALUE_BYTES = 1_024;
export const MAX_ANNOTATIONS = 16;
export const MAX_ANNOTATION_BYTES = 4_096;
export const MAX_K_OF_N = 60;
export const MAX_ABSENCE_MINUTES = 1_440;
export const MAX_BURN_WINDOWS = 4;
export const MAX_BURN_LONG_MINUTES = 4_320;
/** The SRE workbook's paging windows, which the service uses when a rule gives none. */
export const DEFAULT_BURN_WINDOWS: readonly { long: number; short: number; factor: number }[] = [
  { long: 60, short: 5, factor: 14.4 },
  { long: 360, short: 30, factor: 6 },
];

// === the form ===

export const CONDITION_KINDS = ['threshold', 'anomaly', 'absence', 'burnRate'] as const;
export type ConditionKind = (typeof CONDITION_KINDS)[number];
export type SeriesSource = 'red' | 'metric';
/** What an anomaly condition watches: a service's RED series, or one metric series. */
export type AnomalyTarget = 'service' | 'metric';
export type ComparisonName = 'above' | 'below';

export const AGGREGATION_NAMES = ['avg', 'sum', 'min', 'max', 'rate', 'quantile'] as const satisfies readonly AggregationName[];
const AGGREGATION_PROTO: Record<AggregationName, Aggregation> = {
  sum: Aggregation.SUM,
  avg: Aggregation.AVG,
  min: Aggregation.MIN,
  max: Aggregation.MAX,
  rate: Aggregation.RATE,
  quantile: Aggregation.QUANTILE,
};

/** The one series of a threshold or absence condition. */
export interface SeriesForm {
  source: SeriesSource;
  service: string;
  /** '' for the service as a whole. */
  operation: string;
  signal: SignalName;
  metric: string;
  aggregation: AggregationName;
  quantile: string;
  /** "key=value", "key!=value", "key~part", "key" (api/filters). */
  filters: string[];
}

/** A metric series as the editor holds it: a threshold's or absence's (SeriesForm) or an anomaly condition's. */
export type MetricForm = Pick<SeriesForm, 'metric' | 'aggregation' | 'quantile' | 'filters'>;

export interface AnomalyForm {
  target: AnomalyTarget;
  service: string;
  operation: string;
  signals: SignalName[];
  minScore: string;
  metric: MetricForm;
}

export interface KOfNForm {
  k: string;
  n: string;
}

export interface WindowForm {
  long: string;
  short: string;
  factor: string;
}

export interface LabelForm {
  name: string;
  value: string;
}

export interface AnnotationForm {
  name: string;
  en: string;
  ko: string;
}

/**
 * A rule being edited. Every kind's fields are kept, so switching kinds
 * back and forth loses nothing; only `kind`'s are sent.
 */
export interface RuleForm {
  /** '' for a new rule. */
  id: string;
  /** The version read, as digits; '' for a new rule. */
  version: string;
  name: string;
  kind: ConditionKind;
  /** Threshold and absence. */
  series: SeriesForm;
  comparison: ComparisonName;
  /** In the unit shown for the series (SIGNAL_UNIT: an error rate in %). */
  threshold: string;
  /** Threshold and anomaly. */
  kOfN: KOfNForm;
  anomaly: AnomalyForm;
  absenceMinutes: string;
  /** `objective` in %; no windows: the service's defaults. */
  burnRate: { service: string; operation: string; objective: string; windows: WindowForm[] };
  forMinutes: string;
  labels: LabelForm[];
  annotations: AnnotationForm[];
  paused: boolean;
}

/** The unit a RED signal's threshold is typed in. */
export const SIGNAL_UNIT: Record<SignalName, '/s' | '%' | 'ms'> = { rate: '/s', errorRate: '%', p50: 'ms', p95: 'ms', p99: 'ms' };
/** Typed value = the series' value × this (an error rate is a ratio in [0, 1], typed in %). */
const SIGNAL_SCALE: Record<SignalName, number> = { rate: 1, errorRate: 100, p50: 1, p95: 1, p99: 1 };
/** A threshold to start from, per signal. */
export const DEFAULT_THRESHOLD: Record<SignalName, string> = { rate: '100', errorRate: '5', p50: '300', p95: '500', p99: '1000' };

/** Rid of binary noise from scaling: 0.1 × 3 is 0.30000000000000004. */
const round12 = (v: number) => Number(v.toPrecision(12));

export const TEMPLATE_VALUE = '{{ $value }}';
export const TEMPLATE_LABEL = '{{ $labels.<name> }}';

/** A new rule: a threshold on a service's p95 latency, held 5 minutes. */
export function newRuleForm(): RuleForm {
  return {
    id: '',
    version: '',
    name: '',
    kind: 'threshold',
    series: { source: 'red', service: '', operation: '', signal: 'p95', metric: '', aggregation: 'avg', quantile: '0.95', filters: [] },
    comparison: 'above',
    threshold: DEFAULT_THRESHOLD.p95,
    kOfN: { k: '1', n: '1' },
    anomaly: {
      target: 'service',
      service: '',
      operation: '',
      signals: [],
      minScore: '',
      metric: { metric: '', aggregation: 'avg', quantile: '0.95', filters: [] },
    },
    absenceMinutes: '10',
    burnRate: { service: '', operation: '', objective: '99.9', windows: [] },
    forMinutes: '5',
    labels: [{ name: 'severity', value: 'warning' }],
    annotations: [{ name: 'summary', en: '{{ $labels.alertname }}: {{ $value }}', ko: '' }],
    paused: false,
  };
}

/** The service and operation the form's current kind names ('' for none: a metric series). */
function serviceOf(form: RuleForm): { service: string; operation: string } {
  switch (form.kind) {
    case 'threshold':
    case 'absence':
      return form.series.source === 'red' ? form.series : { service: '', operation: '' };
    case 'anomaly':
      return form.anomaly.target === 'service' ? form.anomaly : { service: '', operation: '' };
    case 'burnRate':
      return form.burnRate;
  }
}

/** The metric series the form's current kind names, null for none. */
function metricOf(form: RuleForm): MetricForm | null {
  const named = (m: MetricForm) => (m.metric.trim() ? m : null);
  switch (form.kind) {
    case 'threshold':
    case 'absence':
      return form.series.source === 'metric' ? named(form.series) : null;
    case 'anomaly':
      return form.anomaly.target === 'metric' ? named(form.anomaly.metric) : null;
    case 'burnRate':
      return null;
  }
}

const metricPart = ({ metric, aggregation, quantile, filters }: MetricForm): MetricForm => ({ metric, aggregation, quantile, filters });

/**
 * Another kind; what the kind left watches (a service and operation, or a
 * metric series where the new kind can watch one), carried over when the
 * new kind watches nothing yet.
 */
export function withKind(form: RuleForm, kind: ConditionKind): RuleForm {
  if (kind === form.kind) return form;
  const { service, operation } = serviceOf(form);
  const metric = metricOf(form);
  const next = { ...form, kind };
  if (serviceOf(next).service || metricOf(next)) return next;
  switch (kind) {
    case 'threshold':
    case 'absence':
      if (metric) return { ...next, series: { ...next.series, ...metricPart(metric), source: 'metric' } };
      return service ? { ...next, series: { ...next.series, source: 'red', service, operation } } : next;
    case 'anomaly':
      if (metric) return { ...next, anomaly: { ...next.anomaly, target: 'metric', metric: metricPart(metric) } };
      return service ? { ...next, anomaly: { ...next.anomaly, target: 'service', service, operation } } : next;
    case 'burnRate':
      return service ? { ...next, burnRate: { ...next.burnRate, service, operation } } : next;
  }
}

/** Another RED signal; a threshold still at the old signal's default moves to the new one's. */
export function withSignal(form: RuleForm, signal: SignalName): RuleForm {
  const threshold = form.threshold.trim() === DEFAULT_THRESHOLD[form.series.signal] ? DEFAULT_THRESHOLD[signal] : form.threshold;
  return { ...form, threshold, series: { ...form.series, signal } };
}

// === numbers as typed ===

/** A decimal number as typed ("12", "-0.5", ".5", "1e3"); null when it is none. Commas are refused: "1,000" is ambiguous. */
export function parseNumber(text: string): number | null {
  const v = text.trim();
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i.test(v)) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** A whole number as typed; null when it is none. */
export function parseWhole(text: string): number | null {
  const v = text.trim();
  if (!/^\d{1,9}$/.test(v)) return null;
  return Number(v);
}

// === field ids: the paths the service names in its INVALID_ARGUMENT messages, after "rule." ===

const CONDITION_FIELD: Record<ConditionKind, string> = {
  threshold: 'threshold',
  anomaly: 'anomaly',
  absence: 'absence',
  burnRate: 'burn_rate',
};

export const FIELD = {
  name: 'name',
  forMinutes: 'for_minutes',
  labels: 'labels',
  label: (i: number, part: 'name' | 'value') => `labels[${i}].${part}`,
  annotations: 'annotations',
  annotation: (i: number, part: 'name' | 'en' | 'ko') => `annotations[${i}].${part}`,
  series: (kind: 'threshold' | 'absence', source: SeriesSource, part: string) => `${kind}.series.${source}.${part}`,
  comparison: 'threshold.comparison',
  threshold: 'threshold.threshold',
  kOfN: (kind: 'threshold' | 'anomaly') => `${CONDITION_FIELD[kind]}.k_of_n`,
  anomalyService: 'anomaly.filter.service_name',
  anomalyMetric: (part: string) => `anomaly.filter.metric.${part}`,
  anomalyOperation: 'anomaly.filter.operation',
  anomalySignals: 'anomaly.filter.signals',
  minScore: 'anomaly.filter.min_score',
  absenceMinutes: 'absence.minutes',
  burnService: 'burn_rate.service_name',
  burnOperation: 'burn_rate.operation',
  objective: 'burn_rate.objective',
  windows: 'burn_rate.windows',
  window: (i: number, part: 'long_minutes' | 'short_minutes' | 'factor') => `burn_rate.windows[${i}].${part}`,
} as const;

/** The fields of a metric series, after the path of its selector. */
const METRIC_PARTS = ['metric_name', 'aggregation', 'quantile', 'filters'] as const;

/** Every field the form shows for its kind, by id. */
export function fieldIds(form: RuleForm): string[] {
  const ids: string[] = [FIELD.name, FIELD.forMinutes, FIELD.labels, FIELD.annotations];
  form.labels.forEach((_, i) => ids.push(FIELD.label(i, 'name'), FIELD.label(i, 'value')));
  form.annotations.forEach((_, i) => ids.push(FIELD.annotation(i, 'name'), FIELD.annotation(i, 'en'), FIELD.annotation(i, 'ko')));
  const kind = form.kind;
  if (kind === 'threshold' || kind === 'absence') {
    const s = form.series.source;
    const parts = s === 'red' ? ['service_name', 'operation', 'signal'] : METRIC_PARTS;
    for (const p of parts) ids.push(FIELD.series(kind, s, p));
  }
  if (kind === 'threshold') ids.push(FIELD.comparison, FIELD.threshold, FIELD.kOfN('threshold'));
  if (kind === 'anomaly') {
    if (form.anomaly.target === 'service') ids.push(FIELD.anomalyService, FIELD.anomalyOperation, FIELD.anomalySignals);
    else ids.push(...METRIC_PARTS.map(FIELD.anomalyMetric));
    ids.push(FIELD.minScore, FIELD.kOfN('anomaly'));
  }
  if (kind === 'absence') ids.push(FIELD.absenceMinutes);
  if (kind === 'burnRate') {
    ids.push(FIELD.burnService, FIELD.burnOperation, FIELD.objective, FIELD.windows);
    form.burnRate.windows.forEach((_, i) => ids.push(FIELD.window(i, 'long_minutes'), FIELD.window(i, 'short_minutes'), FIELD.window(i, 'factor')));
  }
  return ids;
}

/**
 * The field an INVALID_ARGUMENT message names ("rule.threshold.threshold:
 * not a finite number" → "threshold.threshold"), among `known`: the one it
 * names exactly, else the closest enclosing one ("rule.labels[\"9x\"]: …"
 * → "labels"); null when it names none of them.
 */
export function serverFieldOf(message: string, known: readonly string[]): string | null {
  const m = /^rule\.([^\s:]+):/.exec(message);
  if (!m) return null;
  const path = m[1]!;
  return closestField(path, known);
}

// === checks, as the service makes them ===

export type { Problem, Problems } from './fields';

const bytes = (s: string) => new TextEncoder().encode(s).length;
const isBlankLabel = (l: LabelForm) => !l.name.trim() && !l.value;
const isBlankAnnotation = (a: AnnotationForm) => !a.name.trim() && !a.en && !a.ko;

/** The first `{{ … }}` of a template that the service would refuse; null when all are `$value` or `$labels.<name>`. */
export function templateProblem(text: string): string | null {
  let rest = text;
  for (;;) {
    const open = rest.indexOf('{{');
    if (open < 0) return null;
    const after = rest.slice(open + 2);
    const close = after.indexOf('}}');
    if (close < 0) return rest.slice(open);
    const inner = after.slice(0, close).trim();
    const label = inner.startsWith('$labels.') ? inner.slice('$labels.'.length) : null;
    if (inner !== '$value' && !(label !== null && NAME_RE.test(label))) return `{{${after.slice(0, close)}}}`;
    rest = after.slice(close + 2);
  }
}

function checkKOfN(p: Problems, id: string, kn: KOfNForm) {
  const k = parseWhole(kn.k);
  const n = parseWhole(kn.n);
  if (k === null || n === null || k < 1 || k > n || n > MAX_K_OF_N) p[id] = { key: 'kOfN', values: { max: MAX_K_OF_N } };
}

function checkWhole(p: Problems, id: string, text: string, min: number, max: number) {
  const v = parseWhole(text);
  if (v === null || v < min || v > max) p[id] = { key: 'whole', values: { min, max } };
}

function checkSeries(p: Problems, kind: 'threshold' | 'absence', s: SeriesForm) {
  const id = (part: string) => FIELD.series(kind, s.source, part);
  if (s.source === 'red') {
    if (!s.service) p[id('service_name')] = { key: 'required' };
    return;
  }
  checkMetric(p, id, s);
}

/** A metric series' fields, named by `id(part)`. */
function checkMetric(p: Problems, id: (part: string) => string, m: MetricForm) {
  if (!m.metric.trim()) p[id('metric_name')] = { key: 'required' };
  if (m.aggregation === 'quantile') {
    const q = parseNumber(m.quantile);
    if (q === null || !(q > 0 && q <= 1)) p[id('quantile')] = { key: 'quantile' };
  }
  // Metric labels have no resource scope, and an operator left in a bare key ("=x") is a typo.
  const bad = m.filters.findIndex((f) => {
    if (f.trim() === '') return false;
    const a = parseAttr(f);
    return !a || a.resource || (a.op === 'exists' && /[=!~]/.test(a.key));
  });
  if (bad >= 0) p[id('filters')] = { key: 'filter', values: { n: bad + 1 } };
}

function checkService(p: Problems, id: string, service: string) {
  if (!service) p[id] = { key: 'required' };
}

/**
 * What the alert service would refuse in the form, by field id (its
 * obvious checks: required fields, ranges, names, templates). `nameRequired`
 * false for a preview, which can go without a name.
 */
export function validateRule(form: RuleForm, { nameRequired = true } = {}): Problems {
  const p: Problems = {};
  const name = form.name.trim();
  if (!name) {
    if (nameRequired) p[FIELD.name] = { key: 'required' };
  } else if ([...name].length > MAX_NAME_CHARS) {
    p[FIELD.name] = { key: 'tooLongChars', values: { max: MAX_NAME_CHARS } };
    // eslint-disable-next-line no-control-regex
  } else if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) {
    p[FIELD.name] = { key: 'control' };
  }
  checkWhole(p, FIELD.forMinutes, form.forMinutes, 0, MAX_FOR_MINUTES);

  switch (form.kind) {
    case 'threshold':
      checkSeries(p, 'threshold', form.series);
      if (parseNumber(form.threshold) === null) p[FIELD.threshold] = { key: 'number' };
      checkKOfN(p, FIELD.kOfN('threshold'), form.kOfN);
      break;
    case 'anomaly': {
      if (form.anomaly.target === 'service') checkService(p, FIELD.anomalyService, form.anomaly.service);
      else checkMetric(p, FIELD.anomalyMetric, form.anomaly.metric);
      const score = form.anomaly.minScore.trim();
      const v = parseNumber(score);
      if (score && (v === null || v < 0 || v > 1)) p[FIELD.minScore] = { key: 'score' };
      checkKOfN(p, FIELD.kOfN('anomaly'), form.kOfN);
      break;
    }
    case 'absence':
      checkSeries(p, 'absence', form.series);
      checkWhole(p, FIELD.absenceMinutes, form.absenceMinutes, 1, MAX_ABSENCE_MINUTES);
      break;
    case 'burnRate': {
      const b = form.burnRate;
      checkService(p, FIELD.burnService, b.service);
      const objective = parseNumber(b.objective);
      if (objective === null || !(objective > 0 && objective < 100) || !(round12(objective / 100) < 1)) p[FIELD.objective] = { key: 'objective' };
      if (b.windows.length > MAX_BURN_WINDOWS) p[FIELD.windows] = { key: 'tooMany', values: { max: MAX_BURN_WINDOWS } };
      b.windows.forEach((w, i) => {
        checkWhole(p, FIELD.window(i, 'long_minutes'), w.long, 1, MAX_BURN_LONG_MINUTES);
        const long = parseWhole(w.long);
        const short = parseWhole(w.short);
        if (short === null || short < 1) p[FIELD.window(i, 'short_minutes')] = { key: 'whole', values: { min: 1, max: Math.max(1, (long ?? 2) - 1) } };
        else if (long !== null && short >= long) p[FIELD.window(i, 'short_minutes')] = { key: 'shortWindow' };
        const factor = parseNumber(w.factor);
        if (factor === null || !(factor > 0)) p[FIELD.window(i, 'factor')] = { key: 'positive' };
      });
      break;
    }
  }

  const labels = form.labels.map((l, i) => [l, i] as const).filter(([l]) => !isBlankLabel(l));
  if (labels.length > MAX_LABELS) p[FIELD.labels] = { key: 'tooMany', values: { max: MAX_LABELS } };
  const labelNames = new Set<string>();
  for (const [l, i] of labels) {
    const n = l.name.trim();
    if (!NAME_RE.test(n) || n.startsWith('__')) p[FIELD.label(i, 'name')] = { key: 'labelName' };
    else if (n === 'alertname') p[FIELD.label(i, 'name')] = { key: 'alertname' };
    else if (labelNames.has(n)) p[FIELD.label(i, 'name')] = { key: 'duplicate' };
    labelNames.add(n);
    if (bytes(l.value) > MAX_LABEL_VALUE_BYTES) p[FIELD.label(i, 'value')] = { key: 'tooLongBytes', values: { max: MAX_LABEL_VALUE_BYTES } };
  }

  const annotations = form.annotations.map((a, i) => [a, i] as const).filter(([a]) => !isBlankAnnotation(a));
  if (annotations.length > MAX_ANNOTATIONS) p[FIELD.annotations] = { key: 'tooMany', values: { max: MAX_ANNOTATIONS } };
  const annotationNames = new Set<string>();
  for (const [a, i] of annotations) {
    const n = a.name.trim();
    if (!NAME_RE.test(n)) p[FIELD.annotation(i, 'name')] = { key: 'annotationName' };
    else if (annotationNames.has(n)) p[FIELD.annotation(i, 'name')] = { key: 'duplicate' };
    annotationNames.add(n);
    for (const lang of ['en', 'ko'] as const) {
      const text = a[lang];
      const id = FIELD.annotation(i, lang);
      const bad = templateProblem(text);
      if (lang === 'en' && !text) p[id] = { key: 'required' };
      else if (bytes(text) > MAX_ANNOTATION_BYTES) p[id] = { key: 'tooLongBytes', values: { max: MAX_ANNOTATION_BYTES } };
      else if (bad !== null) p[id] = { key: 'template', values: { found: bad, value: TEMPLATE_VALUE, label: TEMPLATE_LABEL } };
    }
  }
  return p;
}

// === form ↔ AlertRule ===

function toSelector(m: MetricForm): MetricSeriesSelector {
  return toMetricSelector({
    metric: m.metric.trim(),
    aggregation: AGGREGATION_PROTO[m.aggregation],
    quantile: parseNumber(m.quantile) ?? 0,
    filters: m.filters,
  });
}

function toSeries(s: SeriesForm): RuleSeries {
  if (s.source === 'red') {
    return create(RuleSeriesSchema, {
      series: { case: 'red', value: { serviceName: s.service, operation: s.operation.trim(), signal: signalOf(s.signal) } },
    });
  }
  return create(RuleSeriesSchema, { series: { case: 'metric', value: toSelector(s) } });
}

function kOfN(kn: KOfNForm) {
  const k = parseWhole(kn.k) ?? 1;
  const n = parseWhole(kn.n) ?? 1;
  // 1 of 1 is what both 0 mean: stored as the default.
  return k === 1 && n === 1 ? undefined : { k, n };
}

/**
 * The rule the form describes, for CreateRule (without `identity`),
 * UpdateRule (with it: the id and the version read) or TestRule. Fields of
 * other kinds are left out; blank label and annotation rows too. `name`
 * stands in for an empty name (a preview of a rule not yet named).
 */
export function formToRule(form: RuleForm, opts: { identity?: boolean; name?: string } = {}): AlertRule {
  const labels: Record<string, string> = {};
  for (const l of form.labels) if (!isBlankLabel(l)) labels[l.name.trim()] = l.value;
  const rule = create(AlertRuleSchema, {
    name: form.name.trim() || opts.name || '',
    forMinutes: parseWhole(form.forMinutes) ?? 0,
    labels,
    annotations: form.annotations.filter((a) => !isBlankAnnotation(a)).map((a) => ({ name: a.name.trim(), en: a.en, ko: a.ko })),
    paused: form.paused,
  });
  if (opts.identity) {
    rule.id = form.id;
    rule.version = form.version ? BigInt(form.version) : 0n;
  }
  switch (form.kind) {
    case 'threshold': {
      const signal = form.series.signal;
      const typed = parseNumber(form.threshold) ?? 0;
      const threshold = form.series.source === 'red' ? round12(typed / SIGNAL_SCALE[signal]) : typed;
      rule.condition = {
        case: 'threshold',
        value: create(ThresholdConditionSchema, {
          series: toSeries(form.series),
          comparison: form.comparison === 'above' ? Comparison.ABOVE : Comparison.BELOW,
          threshold,
          kOfN: kOfN(form.kOfN),
        }),
      };
      break;
    }
    case 'anomaly': {
      const a = form.anomaly;
      const minScore = parseNumber(a.minScore) ?? 0;
      rule.condition = {
        case: 'anomaly',
        value: create(AnomalyConditionSchema, {
          // A metric series has no service, operation or RED signals.
          filter:
            a.target === 'metric'
              ? create(AnomalyFilterSchema, { metric: toSelector(a.metric), minScore })
              : create(AnomalyFilterSchema, { serviceName: a.service, operation: a.operation.trim(), signals: a.signals.map(signalOf), minScore }),
          kOfN: kOfN(form.kOfN),
        }),
      };
      break;
    }
    case 'absence':
      rule.condition = {
        case: 'absence',
        value: create(AbsenceConditionSchema, {
          series: toSeries(form.series),
          minutes: parseWhole(form.absenceMinutes) ?? 0,
        }),
      };
      break;
    case 'burnRate': {
      const b = form.burnRate;
      rule.condition = {
        case: 'burnRate',
        value: create(BurnRateConditionSchema, {
          serviceName: b.service,
          operation: b.operation.trim(),
          objective: round12((parseNumber(b.objective) ?? 0) / 100),
          windows: b.windows.map((w) => ({
            longMinutes: parseWhole(w.long) ?? 0,
            shortMinutes: parseWhole(w.short) ?? 0,
            factor: parseNumber(w.factor) ?? 0,
          })),
        }),
      };
      break;
    }
  }
  return rule;
}

function aggregationName(a: Aggregation): AggregationName {
  return (Object.keys(AGGREGATION_PROTO) as AggregationName[]).find((n) => AGGREGATION_PROTO[n] === a) ?? 'avg';
}

/** A stored metric series in the form; `base` gives the quantile to start from when it is no quantile. */
function metricForm(base: MetricForm, m: MetricSeriesSelector): MetricForm {
  const aggregation = aggregationName(m.aggregation);
  return {
    metric: m.metricName,
    aggregation,
    quantile: aggregation === 'quantile' ? String(m.quantile) : base.quantile,
    filters: m.filters.map(labelFilterText),
  };
}

function seriesForm(base: SeriesForm, s: RuleSeries | undefined): SeriesForm {
  switch (s?.series.case) {
    case 'red': {
      const r = s.series.value;
      return { ...base, source: 'red', service: r.serviceName, operation: r.operation, signal: signalName(r.signal) ?? base.signal };
    }
    case 'metric':
      return { ...base, source: 'metric', ...metricForm(base, s.series.value) };
    default:
      return base;
  }
}

function kOfNForm(kn: { k: number; n: number } | undefined): KOfNForm {
  return !kn || (kn.k === 0 && kn.n === 0) ? { k: '1', n: '1' } : { k: String(kn.k), n: String(kn.n) };
}

/** A stored rule in the form, to edit; the other kinds' fields at their defaults. */
export function ruleToForm(rule: AlertRule): RuleForm {
  const form = newRuleForm();
  const base: RuleForm = {
    ...form,
    id: rule.id,
    version: String(rule.version),
    name: rule.name,
    forMinutes: String(rule.forMinutes),
    labels: Object.keys(rule.labels)
      .sort()
      .map((name) => ({ name, value: rule.labels[name]! })),
    annotations: rule.annotations.map((a) => ({ name: a.name, en: a.en, ko: a.ko })),
    paused: rule.paused,
  };
  const c = rule.condition;
  switch (c.case) {
    case 'threshold': {
      const series = seriesForm(form.series, c.value.series);
      const scale = series.source === 'red' ? SIGNAL_SCALE[series.signal] : 1;
      return {
        ...base,
        kind: 'threshold',
        series,
        comparison: c.value.comparison === Comparison.BELOW ? 'below' : 'above',
        threshold: String(round12(c.value.threshold * scale)),
        kOfN: kOfNForm(c.value.kOfN),
      };
    }
    case 'anomaly': {
      const f = c.value.filter;
      return {
        ...base,
        kind: 'anomaly',
        anomaly: {
          target: f?.metric ? 'metric' : 'service',
          service: f?.serviceName ?? '',
          operation: f?.operation ?? '',
          signals: (f?.signals ?? []).map(signalName).filter((s): s is SignalName => !!s),
          minScore: f?.minScore ? String(f.minScore) : '',
          metric: f?.metric ? metricForm(form.anomaly.metric, f.metric) : form.anomaly.metric,
        },
        kOfN: kOfNForm(c.value.kOfN),
      };
    }
    case 'absence':
      return { ...base, kind: 'absence', series: seriesForm(form.series, c.value.series), absenceMinutes: String(c.value.minutes) };
    case 'burnRate':
      return {
        ...base,
        kind: 'burnRate',
        burnRate: {
          service: c.value.serviceName,
          operation: c.value.operation,
          objective: String(round12(c.value.objective * 100)),
          windows: c.value.windows.map((w) => ({ long: String(w.longMinutes), short: String(w.shortMinutes), factor: String(w.factor) })),
        },
      };
    default:
      return base;
  }
}

// === a rule in words ===

export function conditionKind(rule: AlertRule): ConditionKind | null {
  return rule.condition.case ?? null;
}

const minutes = (m: number) => formatInterval(m * 60_000);

/** "p95", "p99.9" for a quantile; the aggregation's name otherwise. */
function aggregationLabel(m: MetricSeriesSelector, t: TFunction): string {
  const name = aggregationName(m.aggregation);
  return name === 'quantile' ? `p${formatCompact(round12(m.quantile * 100))}` : t(`metrics.agg.${name}`);
}

/** A metric series in words: "queue.depth {queue=mail} · Average". */
function metricWords(m: MetricSeriesSelector, t: TFunction): string {
  const filters = m.filters.length ? ` {${m.filters.map(labelFilterText).join(', ')}}` : '';
  return `${m.metricName}${filters} · ${aggregationLabel(m, t)}`;
}

function seriesWords(s: RuleSeries | undefined, t: TFunction): { watches: string; subject: string } {
  const whole = t('anomalies.wholeService');
  switch (s?.series.case) {
    case 'red': {
      const r = s.series.value;
      const signal = signalName(r.signal);
      const label = signal ? t(`red.${signal}`) : t('anomalies.unknownSignal');
      return { watches: [r.serviceName, r.operation || whole, label].join(' · '), subject: label };
    }
    case 'metric':
      return { watches: metricWords(s.series.value, t), subject: aggregationLabel(s.series.value, t) };
    default:
      return { watches: '–', subject: '–' };
  }
}

/** What a rule watches: "payment · POST /charge · p95 latency", "queue.depth {queue=mail} · Average" (a threshold, absence or anomalies of a metric series). */
export function watchesText(rule: AlertRule, t: TFunction): string {
  const c = rule.condition;
  const whole = t('anomalies.wholeService');
  switch (c.case) {
    case 'threshold':
    case 'absence':
      return seriesWords(c.value.series, t).watches;
    case 'anomaly': {
      const f = c.value.filter;
      if (f?.metric) return metricWords(f.metric, t);
      const names = (f?.signals ?? []).map(signalName);
      const signals = names.length ? names.map((n) => (n ? t(`red.${n}`) : t('anomalies.unknownSignal'))).join(', ') : t('alerts.watch.allSignals');
      return [f?.serviceName ?? '', f?.operation || whole, signals].join(' · ');
    }
    case 'burnRate':
      return [c.value.serviceName, c.value.operation || whole, t('alerts.watch.errorBudget')].join(' · ');
    default:
      return '–';
  }
}

/** A value of the series a rule looks at, in its unit (a threshold, an evaluated value). `metricUnit`: the metric's, when known. */
export function formatRuleValue(rule: AlertRule, value: number, metricUnit = ''): string {
  const c = rule.condition;
  switch (c.case) {
    case 'threshold':
    case 'absence': {
      const s = c.value.series?.series;
      if (s?.case === 'red') return formatSignalValue(s.value.signal, value);
      return metricUnit ? formatWithUnit(value, metricUnit) : formatCompact(value);
    }
    case 'anomaly':
      return formatScore(value);
    case 'burnRate':
      return `${formatCompact(value)}×`;
    default:
      return formatCompact(value);
  }
}

/** The condition in words: "p95 latency > 500 ms for 5 min", "no data for 10 min", … */
export function conditionText(rule: AlertRule, t: TFunction, metricUnit = ''): string {
  const c = rule.condition;
  let text: string;
  let kn: { k: number; n: number } | undefined;
  switch (c.case) {
    case 'threshold':
      text = t('alerts.summary.threshold', {
        subject: seriesWords(c.value.series, t).subject,
        op: c.value.comparison === Comparison.BELOW ? '<' : '>',
        value: formatRuleValue(rule, c.value.threshold, metricUnit),
      });
      kn = c.value.kOfN;
      break;
    case 'anomaly': {
      const min = c.value.filter?.minScore ?? 0;
      text = min > 0 ? t('alerts.summary.anomalyScore', { score: formatScore(min) }) : t('alerts.summary.anomalyAny');
      kn = c.value.kOfN;
      break;
    }
    case 'absence':
      text = t('alerts.summary.absence', { duration: minutes(c.value.minutes) });
      break;
    case 'burnRate': {
      const windows = c.value.windows.length
        ? c.value.windows.map((w) => ({ long: w.longMinutes, short: w.shortMinutes, factor: w.factor }))
        : DEFAULT_BURN_WINDOWS;
      text = t('alerts.summary.burnRate', {
        windows: windows
          .map((w) => t('alerts.summary.burnWindow', { factor: formatCompact(w.factor), long: minutes(w.long), short: minutes(w.short) }))
          .join(t('alerts.summary.or')),
        objective: formatPercent(c.value.objective),
      });
      break;
    }
    default:
      return '–';
  }
  if (kn && kn.n > 1) text = t('alerts.summary.kOfN', { condition: text, k: kn.k, n: kn.n });
  if (rule.forMinutes > 0) text = t('alerts.summary.for', { condition: text, duration: minutes(rule.forMinutes) });
  return text;
}

/** The value a threshold-like line marks on the preview's chart, in the series' values; null when the kind has none. */
export function thresholdLine(rule: AlertRule): number | null {
  const c = rule.condition;
  if (c.case === 'threshold') return c.value.threshold;
  if (c.case === 'anomaly' && (c.value.filter?.minScore ?? 0) > 0) return c.value.filter!.minScore;
  return null;
}

// === what TestRule answered ===

export type AlertStateName = 'pending' | 'firing';

export interface StateSpan {
  /** Epoch seconds: the first minute's start, the end of the last. */
  start: number;
  end: number;
  state: AlertStateName;
}

export interface Preview {
  /** Minute starts, epoch seconds. */
  x: number[];
  /** The value judged in each minute; null for a minute without one. */
  values: (number | null)[];
  /** Runs of minutes pending or firing. */
  spans: StateSpan[];
  minutes: number;
  breached: number;
  pending: number;
  firing: number;
}

const stateName = (s: AlertState): AlertStateName | null => (s === AlertState.FIRING ? 'firing' : s === AlertState.PENDING ? 'pending' : null);

/** TestRule's evaluations as a chart's columns, with the runs of minutes pending and firing. */
export function previewOf(res: TestRuleResponse): Preview {
  const x: number[] = [];
  const values: (number | null)[] = [];
  const spans: StateSpan[] = [];
  let breached = 0;
  let pending = 0;
  let firing = 0;
  for (const e of res.evaluations) {
    const at = nanosToMs(e.timeUnixNano) / 1000;
    x.push(at);
    values.push(e.hasValue ? e.value : null);
    if (e.breached) breached++;
    const state = stateName(e.state);
    if (state === 'pending') pending++;
    if (state === 'firing') firing++;
    if (!state) continue;
    const last = spans[spans.length - 1];
    if (last && last.state === state && last.end === at) last.end = at + 60;
    else spans.push({ start: at, end: at + 60, state });
  }
  return { x, values, spans, minutes: x.length, breached, pending, firing };
}

export interface Episode {
  key: string;
  activeMs: number;
  /** null: it never fired (the condition ended before for_minutes). */
  firedMs: number | null;
  /** null: still active at the end of the window. */
  resolvedMs: number | null;
  value: number;
  /** By name. */
  annotations: [string, string][];
  labels: [string, string][];
}

const byName = (m: Record<string, string>): [string, string][] =>
  Object.keys(m)
    .sort()
    .map((k) => [k, m[k]!]);

/** The alerts the rule would have raised, oldest first. */
export function episodesOf(res: TestRuleResponse): Episode[] {
  return res.alerts.map((a) => ({
    key: String(a.activeUnixNano),
    activeMs: nanosToMs(a.activeUnixNano),
    firedMs: a.firedUnixNano ? nanosToMs(a.firedUnixNano) : null,
    resolvedMs: a.resolvedUnixNano ? nanosToMs(a.resolvedUnixNano) : null,
    value: a.value,
    annotations: byName(a.annotations),
    labels: byName(a.labels),
  }));
}

/** How many of the alerts fired (the rest ended while pending). */
export function firedCount(episodes: readonly Episode[]): number {
  return episodes.filter((e) => e.firedMs !== null).length;
}
