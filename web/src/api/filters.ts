// Filters as they live in the URL, and their conversion to the API's messages.
import { create } from '@bufbuild/protobuf';
import {
  Aggregation,
  AttributeFilterSchema,
  AttributeScope,
  LabelFilterSchema,
  MatchOperator,
  SpanFilterSchema,
  SpanKind,
  StatusCode,
  type AttributeFilter,
  type LabelFilter,
  type SpanFilter,
} from '../gen/airis/analytics/v1/query_pb';
import {
  AnomalyFilterSchema,
  MetricSeriesSelectorSchema,
  Signal,
  type AnomalyFilter,
  type MetricSeriesSelector,
} from '../gen/airis/aiops/v1/anomaly_pb';
import { TimeRangeSchema, type TimeRange } from '../gen/airis/common/v1/common_pb';
import { msToNanos } from '../lib/time';

export type Op = 'eq' | 'neq' | 'contains' | 'exists';
export interface AttrFilter {
  key: string;
  op: Op;
  value: string;
  resource: boolean;
}

const OP_TEXT: Record<Op, string> = { eq: '=', neq: '!=', contains: '~', exists: '' };

/** "key=value", "key!=value", "key~value", "key" (exists); "resource:" prefix for resource attributes. */
export function parseAttr(text: string): AttrFilter | null {
  let s = text.trim();
  let resource = false;
  if (s.startsWith('resource:')) {
    resource = true;
    s = s.slice('resource:'.length);
  }
  const m = /^([^=!~]+?)\s*(!=|=|~)\s*(.*)$/.exec(s);
  if (m) {
    const key = m[1]!.trim();
    if (!key) return null;
    const op: Op = m[2] === '!=' ? 'neq' : m[2] === '~' ? 'contains' : 'eq';
    return { key, op, value: m[3]!, resource };
  }
  if (!s) return null;
  return { key: s, op: 'exists', value: '', resource };
}

export function formatAttr(f: AttrFilter): string {
  return `${f.resource ? 'resource:' : ''}${f.key}${OP_TEXT[f.op]}${f.op === 'exists' ? '' : f.value}`;
}

const OP_PROTO: Record<Op, MatchOperator> = {
  eq: MatchOperator.EQUALS,
  neq: MatchOperator.NOT_EQUALS,
  contains: MatchOperator.CONTAINS,
  exists: MatchOperator.EXISTS,
};

export function toAttributeFilter(f: AttrFilter): AttributeFilter {
  return create(AttributeFilterSchema, {
    key: f.key,
    operator: OP_PROTO[f.op],
    value: f.op === 'exists' ? '' : f.value,
    scope: f.resource ? AttributeScope.RESOURCE : AttributeScope.UNSPECIFIED,
  });
}

/** A metric label filter as typed ("key=value", …; a resource prefix is ignored: metric labels have no scope); null for an empty one. */
export function toLabelFilter(text: string): LabelFilter | null {
  const a = parseAttr(text);
  return a ? create(LabelFilterSchema, { key: a.key, operator: OP_PROTO[a.op], value: a.op === 'exists' ? '' : a.value }) : null;
}

/** A metric label filter as the UI types it: "key=value", "key!=value", "key~part", "key". */
export function labelFilterText(f: LabelFilter): string {
  const op = (Object.keys(OP_PROTO) as Op[]).find((o) => OP_PROTO[o] === f.operator) ?? 'eq';
  return formatAttr({ key: f.key, op, value: f.value, resource: false });
}

/** One metric series as plain values (usable as a query key): what a chart without group-by or a rule names. */
export interface MetricSeriesInput {
  metric: string;
  aggregation: Aggregation;
  /** For AGGREGATION_QUANTILE; sent as 0 otherwise. */
  quantile: number;
  /** As typed: "key=value", … (blank ones left out). */
  filters: string[];
}

export function toMetricSelector(m: MetricSeriesInput): MetricSeriesSelector {
  return create(MetricSeriesSelectorSchema, {
    metricName: m.metric,
    aggregation: m.aggregation,
    quantile: m.aggregation === Aggregation.QUANTILE ? m.quantile : 0,
    filters: m.filters.map(toLabelFilter).filter((f): f is LabelFilter => !!f),
  });
}

export function timeRange(startMs: number, endMs: number): TimeRange {
  return create(TimeRangeSchema, { startUnixNano: msToNanos(startMs), endUnixNano: msToNanos(endMs) });
}

export type StatusFilter = '' | 'error' | 'ok' | 'unset';
export const KIND_NAMES = ['server', 'client', 'internal', 'producer', 'consumer'] as const;
export type KindFilter = '' | (typeof KIND_NAMES)[number];
const KIND_PROTO: Record<KindFilter, SpanKind> = {
  '': SpanKind.UNSPECIFIED,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  internal: SpanKind.INTERNAL,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
};

/** Span filter inputs: plain values, usable as query keys. */
export interface SpanFilterInput {
  startMs: number;
  endMs: number;
  service?: string;
  /** Spans called from this service (their parent span's service): with
   * `service`, one edge of the service map. */
  caller?: string;
  operation?: string;
  kind?: KindFilter;
  status?: StatusFilter;
  minDurationMs?: number;
  maxDurationMs?: number;
  attrs?: string[];
  text?: string;
}

const STATUS_PROTO: Record<StatusFilter, StatusCode> = {
  '': StatusCode.UNSPECIFIED,
  error: StatusCode.ERROR,
  ok: StatusCode.OK,
  unset: StatusCode.UNSET,
};

export function toSpanFilter(f: SpanFilterInput): SpanFilter {
  const ms = (v: number | undefined) => (v && v > 0 ? BigInt(Math.round(v * 1_000_000)) : 0n);
  return create(SpanFilterSchema, {
    timeRange: timeRange(f.startMs, f.endMs),
    serviceName: f.service ?? '',
    parentServiceName: f.caller ?? '',
    operation: f.operation ?? '',
    kind: KIND_PROTO[f.kind ?? ''] ?? SpanKind.UNSPECIFIED,
    statusCode: STATUS_PROTO[f.status ?? ''],
    minDurationNano: ms(f.minDurationMs),
    maxDurationNano: ms(f.maxDurationMs),
    attributes: (f.attrs ?? []).map(parseAttr).filter((a): a is AttrFilter => !!a).map(toAttributeFilter),
    text: f.text ?? '',
  });
}

/** Severity ranges of OTLP severity numbers. */
export const SEVERITIES = [
  { id: 'trace', min: 1, max: 4 },
  { id: 'debug', min: 5, max: 8 },
  { id: 'info', min: 9, max: 12 },
  { id: 'warn', min: 13, max: 16 },
  { id: 'error', min: 17, max: 20 },
  { id: 'fatal', min: 21, max: 24 },
] as const;
export type SeverityId = (typeof SEVERITIES)[number]['id'];

export function severityOf(n: number, text = ''): SeverityId {
  for (const s of SEVERITIES) if (n >= s.min && n <= s.max) return s.id;
  const t = text.toLowerCase();
  if (t.startsWith('err')) return 'error';
  if (t.startsWith('warn')) return 'warn';
  if (t.startsWith('fatal')) return 'fatal';
  if (t.startsWith('debug')) return 'debug';
  if (t.startsWith('trace')) return 'trace';
  return 'info';
}

/**
 * The series continuous anomaly detection watches, by their names in the
 * URL (`signal=p95`) and in translations (`red.<name>`).
 */
export const SIGNAL_NAMES = ['rate', 'errorRate', 'p50', 'p95', 'p99'] as const;
export type SignalName = (typeof SIGNAL_NAMES)[number];
const SIGNAL_PROTO: Record<SignalName, Signal> = {
  rate: Signal.REQUEST_RATE,
  errorRate: Signal.ERROR_RATE,
  p50: Signal.LATENCY_P50,
  p95: Signal.LATENCY_P95,
  p99: Signal.LATENCY_P99,
};

export function isSignalName(text: string): text is SignalName {
  return (SIGNAL_NAMES as readonly string[]).includes(text);
}

/** The signal of a name. */
export function signalOf(name: SignalName): Signal {
  return SIGNAL_PROTO[name];
}

/** A signal's name; null for one newer than this UI. */
export function signalName(signal: Signal): SignalName | null {
  return SIGNAL_NAMES.find((n) => SIGNAL_PROTO[n] === signal) ?? null;
}

/**
 * The signals of stored anomalies, by their names in the URL: the RED
 * ones, and `metric` for a metric series an alert rule names.
 */
export const ANOMALY_SIGNAL_NAMES = [...SIGNAL_NAMES, 'metric'] as const;
export type AnomalySignalName = (typeof ANOMALY_SIGNAL_NAMES)[number];
const ANOMALY_SIGNAL_PROTO: Record<AnomalySignalName, Signal> = { ...SIGNAL_PROTO, metric: Signal.METRIC };

export function isAnomalySignalName(text: string): text is AnomalySignalName {
  return (ANOMALY_SIGNAL_NAMES as readonly string[]).includes(text);
}

/** A stored anomaly's signal by name; null for one newer than this UI. */
export function anomalySignalName(signal: Signal): AnomalySignalName | null {
  return ANOMALY_SIGNAL_NAMES.find((n) => ANOMALY_SIGNAL_PROTO[n] === signal) ?? null;
}

/** Anomaly filter inputs: plain values, usable as query keys; empty matches everything. */
export interface AnomalyFilterInput {
  service?: string;
  /** With no service: that operation in every service. */
  operation?: string;
  signals?: AnomalySignalName[];
  /** In [0, 1]. */
  minScore?: number;
  /** That metric series' anomalies only (with no service or operation). */
  metric?: MetricSeriesInput;
}

export function toAnomalyFilter(f: AnomalyFilterInput): AnomalyFilter {
  return create(AnomalyFilterSchema, {
    serviceName: f.service ?? '',
    operation: f.operation ?? '',
    signals: (f.signals ?? []).map((s) => ANOMALY_SIGNAL_PROTO[s]),
    minScore: f.minScore ?? 0,
    metric: f.metric ? toMetricSelector(f.metric) : undefined,
  });
}

/** A minimum score as typed ("0.8", "0,8"): a number in [0, 1], or null when it is none. */
export function parseMinScore(text: string): number | null {
  const v = text.trim().replace(',', '.');
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(v)) return null;
  const n = Number(v);
  return n >= 0 && n <= 1 ? n : null;
}
