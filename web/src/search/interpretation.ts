// What a question was understood as (airis.search.v1.Interpretation), as
// the UI shows and edits it: one chip per part, a part edited or removed, and the
// page that owns the signal with the interpretation as that page's own URL
// filters, so that the page renders the results as it always does (its
// queries run as the signed-in user). Pure: no React, no network.
import { clone, fromBinary, toBinary } from '@bufbuild/protobuf';
import { AttributeScope, MatchOperator, type AttributeFilter } from '../gen/airis/analytics/v1/query_pb';
import { Aggregation, InterpretationSchema, Order, Signal, Status, type Interpretation } from '../gen/airis/search/v1/search_pb';
import { SEVERITIES } from '../api/filters';

/** A removable part of an interpretation: `key` names it for `without`. */
export interface Chip {
  key: string;
  /** The i18n key of the part's name ("search.part.service"). */
  label: string;
  /** Its value as shown (names as the tenant spells them, numbers with units). */
  value: string;
  /** i18n key and values when the value is words rather than a name. */
  words?: { key: string; values?: Record<string, string | number> };
  /** A severity range by the UI's severity ids (`severity.<id>`), either end open (''). */
  severity?: [string, string];
}

const NS = 1_000_000n;

/** "500 ms", "2 s", "1.5 s", "3 min" from nanoseconds. */
export function durationText(nano: bigint): string {
  if (nano < 1_000_000_000n) return `${Number(nano) / 1e6} ms`;
  if (nano < 60_000_000_000n) return `${Number(nano) / 1e9} s`;
  return `${Number(nano) / 6e10} min`;
}

const OPERATOR_TEXT: Record<number, string> = {
  [MatchOperator.EQUALS]: '=',
  [MatchOperator.NOT_EQUALS]: '≠',
  [MatchOperator.CONTAINS]: '∋',
  [MatchOperator.EXISTS]: '',
};

function attributeText(a: AttributeFilter): string {
  const key = a.scope === AttributeScope.RESOURCE ? `resource.${a.key}` : a.key;
  return a.operator === MatchOperator.EXISTS ? key : `${key} ${OPERATOR_TEXT[a.operator] ?? '='} ${a.value}`;
}

const SIGNAL_WORDS: Record<number, string> = {
  [Signal.TRACES]: 'traces',
  [Signal.SPANS]: 'spans',
  [Signal.LOGS]: 'logs',
  [Signal.METRICS]: 'metrics',
  [Signal.SERVICES]: 'services',
  [Signal.ANOMALIES]: 'anomalies',
};

/** The Anomalies page's latency signals by quantile. */
const PERCENTILE_SIGNALS: Record<number, string> = { 0.5: 'p50', 0.95: 'p95', 0.99: 'p99' };

const AGGREGATION_WORDS: Record<number, string> = {
  [Aggregation.COUNT]: 'count',
  [Aggregation.RATE]: 'rate',
  [Aggregation.ERROR_RATE]: 'errorRate',
  [Aggregation.QUANTILE]: 'quantile',
  [Aggregation.AVG]: 'avg',
  [Aggregation.MIN]: 'min',
  [Aggregation.MAX]: 'max',
  [Aggregation.SUM]: 'sum',
};

const ORDER_WORDS: Record<number, string> = {
  [Order.OLDEST_FIRST]: 'oldest',
  [Order.LONGEST_FIRST]: 'longest',
  [Order.LARGEST_FIRST]: 'largest',
  [Order.SMALLEST_FIRST]: 'smallest',
};

/** The severity ids a range's ends fall in ('' for an open end). */
function severityIds(min: number, max: number): [string, string] {
  const id = (n: number) => (n ? (SEVERITIES.find((s) => n >= s.min && n <= s.max)?.id ?? String(n)) : '');
  return [id(min), id(max)];
}

/**
 * The chips of an interpretation, in the order of the canonical form
 * (docs/search.md). `formatTime` shows an instant (epoch ms) in the
 * asker's locale and zone.
 */
export function chips(i: Interpretation, formatTime: (ms: number) => string): Chip[] {
  const out: Chip[] = [];
  const word = (key: string, label: string, words: string, values?: Record<string, string | number>) =>
    out.push({ key, label, value: '', words: { key: words, values } });
  if (i.signal !== Signal.UNSPECIFIED) word('signal', 'search.part.signal', `search.signal.${SIGNAL_WORDS[i.signal] ?? 'traces'}`);
  i.serviceNames.forEach((s, n) => out.push({ key: `service:${n}`, label: 'search.part.service', value: s }));
  i.operations.forEach((o, n) => out.push({ key: `operation:${n}`, label: 'search.part.operation', value: o }));
  if (i.status !== Status.UNSPECIFIED) word('status', 'search.part.status', i.status === Status.ERROR ? 'search.status.error' : 'search.status.ok');
  if (i.minSeverityNumber || i.maxSeverityNumber)
    out.push({ key: 'severity', label: 'search.part.severity', value: '', severity: severityIds(i.minSeverityNumber, i.maxSeverityNumber) });
  if (i.minDuration) out.push({ key: 'minDuration', label: 'search.part.duration', value: `${i.minDuration.inclusive ? '≥' : '>'} ${durationText(i.minDuration.nano)}` });
  if (i.maxDuration) out.push({ key: 'maxDuration', label: 'search.part.duration', value: `${i.maxDuration.inclusive ? '≤' : '<'} ${durationText(i.maxDuration.nano)}` });
  if (i.metricName) out.push({ key: 'metric', label: 'search.part.metric', value: i.metricName });
  if (i.minValue) out.push({ key: 'minValue', label: 'search.part.value', value: `${i.minValue.inclusive ? '≥' : '>'} ${i.minValue.value}` });
  if (i.maxValue) out.push({ key: 'maxValue', label: 'search.part.value', value: `${i.maxValue.inclusive ? '≤' : '<'} ${i.maxValue.value}` });
  i.attributes.forEach((a, n) => out.push({ key: `attribute:${n}`, label: 'search.part.attribute', value: attributeText(a) }));
  if (i.text) out.push({ key: 'text', label: 'search.part.text', value: `“${i.text}”` });
  if (i.timeRange)
    out.push({
      key: 'time',
      label: 'search.part.time',
      value: `${formatTime(Number(i.timeRange.startUnixNano / NS))} – ${formatTime(Number(i.timeRange.endUnixNano / NS))}`,
    });
  if (i.aggregation !== Aggregation.UNSPECIFIED) {
    const name = AGGREGATION_WORDS[i.aggregation] ?? 'count';
    if (i.aggregation === Aggregation.QUANTILE) out.push({ key: 'aggregation', label: 'search.part.aggregation', value: `p${+(i.quantile * 100).toFixed(1)}` });
    else word('aggregation', 'search.part.aggregation', `search.aggregation.${name}`);
  }
  i.groupBy.forEach((g, n) => out.push({ key: `groupBy:${n}`, label: 'search.part.groupBy', value: g }));
  if (i.order !== Order.UNSPECIFIED) word('order', 'search.part.order', `search.order.${ORDER_WORDS[i.order] ?? 'oldest'}`);
  if (i.limit) out.push({ key: 'limit', label: 'search.part.limit', value: String(i.limit) });
  if (i.compareShiftNano) {
    const days = Number(i.compareShiftNano / 86_400_000_000_000n);
    word('compare', 'search.part.compare', 'search.compareDays', { count: days });
  }
  if (i.compareVersions) {
    // A version left empty is chosen when asked (a canary's).
    const { candidate, baseline } = i.compareVersions;
    const which = candidate && baseline ? 'both' : candidate ? 'candidate' : baseline ? 'baseline' : 'canary';
    word('versions', 'search.part.versions', `search.versions.${which}`, { candidate, baseline });
  }
  return out;
}

/** A copy of `i` without the part `key` names (a chip's key). */
export function without(i: Interpretation, key: string): Interpretation {
  const next = clone(InterpretationSchema, i);
  const [part, index] = key.split(':') as [string, string | undefined];
  const drop = <T>(list: T[]) => list.filter((_, n) => String(n) !== index);
  switch (part) {
    case 'signal':
      next.signal = Signal.UNSPECIFIED;
      break;
    case 'service':
      next.serviceNames = drop(next.serviceNames);
      break;
    case 'operation':
      next.operations = drop(next.operations);
      break;
    case 'status':
      next.status = Status.UNSPECIFIED;
      break;
    case 'severity':
      next.minSeverityNumber = 0;
      next.maxSeverityNumber = 0;
      break;
    case 'minDuration':
      next.minDuration = undefined;
      break;
    case 'maxDuration':
      next.maxDuration = undefined;
      break;
    case 'minValue':
      next.minValue = undefined;
      break;
    case 'maxValue':
      next.maxValue = undefined;
      break;
    case 'time':
      next.timeRange = undefined;
      break;
    case 'metric':
      next.metricName = '';
      break;
    case 'attribute':
      next.attributes = drop(next.attributes);
      break;
    case 'text':
      next.text = '';
      break;
    case 'aggregation':
      next.aggregation = Aggregation.UNSPECIFIED;
      next.quantile = 0;
      break;
    case 'groupBy':
      next.groupBy = drop(next.groupBy);
      break;
    case 'order':
      next.order = Order.UNSPECIFIED;
      break;
    case 'limit':
      next.limit = 0;
      break;
    case 'compare':
      next.compareShiftNano = 0n;
      break;
    case 'versions':
      next.compareVersions = undefined;
      break;
  }
  return next;
}

/**
 * How a chip's value is edited in place: names and words as text, bounds
 * and counts as numbers (durations in ms); null for a part edited by
 * removing it (an outcome, a summary, an order, the time: the page's own
 * controls set those).
 */
export interface ChipEdit {
  kind: 'text' | 'number';
  /** The value as the editor starts with it. */
  value: string;
}

export function editable(i: Interpretation, key: string): ChipEdit | null {
  const [part, index] = key.split(':') as [string, string | undefined];
  const at = Number(index);
  const text = (value: string | undefined) => (value === undefined ? null : { kind: 'text' as const, value });
  const number = (value: number | undefined) => (value === undefined ? null : { kind: 'number' as const, value: String(value) });
  switch (part) {
    case 'service':
      return text(i.serviceNames[at]);
    case 'operation':
      return text(i.operations[at]);
    case 'groupBy':
      return text(i.groupBy[at]);
    case 'metric':
      return text(i.metricName || undefined);
    case 'text':
      return text(i.text || undefined);
    case 'attribute': {
      const a = i.attributes[at];
      return a && a.operator !== MatchOperator.EXISTS ? text(a.value) : null;
    }
    case 'minDuration':
      return number(i.minDuration && Number(i.minDuration.nano) / 1e6);
    case 'maxDuration':
      return number(i.maxDuration && Number(i.maxDuration.nano) / 1e6);
    case 'minValue':
      return number(i.minValue?.value);
    case 'maxValue':
      return number(i.maxValue?.value);
    case 'limit':
      return number(i.limit || undefined);
    default:
      return null;
  }
}

/**
 * A copy of `i` with the part `key` names set to `value` (as `editable`
 * gives it); null when the value is not one the part can take (empty
 * text, a number that is not a non-negative one, a limit that is not
 * whole).
 */
export function withValue(i: Interpretation, key: string, value: string): Interpretation | null {
  const edit = editable(i, key);
  const [part, index] = key.split(':') as [string, string | undefined];
  const typed = value.trim();
  if (!edit || !typed) return null;
  const n = Number(typed);
  if (edit.kind === 'number' && !(Number.isFinite(n) && n >= 0)) return null;
  // A duration is nanoseconds in 64 bits: about 584 years.
  if ((part === 'minDuration' || part === 'maxDuration') && n * 1e6 >= 2 ** 64) return null;
  const next = clone(InterpretationSchema, i);
  const at = Number(index);
  const nano = () => BigInt(Math.round(n * 1e6));
  switch (part) {
    case 'service':
      next.serviceNames[at] = typed;
      break;
    case 'operation':
      next.operations[at] = typed;
      break;
    case 'groupBy':
      next.groupBy[at] = typed;
      break;
    case 'metric':
      next.metricName = typed;
      break;
    case 'text':
      next.text = typed;
      break;
    case 'attribute':
      next.attributes[at]!.value = typed;
      break;
    case 'minDuration':
      next.minDuration!.nano = nano();
      break;
    case 'maxDuration':
      next.maxDuration!.nano = nano();
      break;
    case 'minValue':
      next.minValue!.value = n;
      break;
    case 'maxValue':
      next.maxValue!.value = n;
      break;
    case 'limit':
      if (!Number.isInteger(n) || n < 1 || n > 0xffff_ffff) return null;
      next.limit = n;
      break;
  }
  return next;
}

/** The interpretation in a URL value: its protobuf bytes, base64url. */
export function encode(i: Interpretation): string {
  let text = '';
  for (const b of toBinary(InterpretationSchema, i)) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** `encode`'s inverse; null for a value that is not one. */
export function decode(value: string): Interpretation | null {
  try {
    const text = atob(value.replace(/-/g, '+').replace(/_/g, '/'));
    return fromBinary(InterpretationSchema, Uint8Array.from(text, (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
}

/** An attribute filter as the Traces and Logs pages' `attr` URL values hold it. */
export function attrParam(a: AttributeFilter): string {
  const key = (a.scope === AttributeScope.RESOURCE ? 'resource:' : '') + a.key;
  switch (a.operator) {
    case MatchOperator.EXISTS:
      return key;
    case MatchOperator.NOT_EQUALS:
      return `${key}!=${a.value}`;
    case MatchOperator.CONTAINS:
      return `${key}~${a.value}`;
    default:
      return `${key}=${a.value}`;
  }
}

/** Where an interpretation's results are shown, and what that page cannot show of it. */
export interface Target {
  path: string;
  /** The page's own URL keys (from, to and its filters). */
  params: Record<string, string | string[]>;
  /** Chip keys the page has no filter for (the chips say so). */
  unapplied: string[];
}

const nsToMs = (n: bigint) => String(Number(n / NS));
const ceilMs = (n: bigint) => String(Number((n + NS - 1n) / NS));

/**
 * The page that owns the interpretation's signal, with its filters:
 * traces and spans on Traces, logs on Logs, a metric on Metrics, services
 * (or a summary of requests) on Services or a service's page, anomalies on
 * Anomalies, one service's requests compared with an earlier range, or
 * its two versions' requests, on Canary analysis.
 */
export function target(i: Interpretation): Target {
  const params: Record<string, string | string[]> = {};
  const unapplied: string[] = [];
  if (i.timeRange) {
    params.from = nsToMs(i.timeRange.startUnixNano);
    params.to = ceilMs(i.timeRange.endUnixNano);
  }
  const service = i.serviceNames[0];
  const extraServices = i.serviceNames.slice(1).map((_, n) => `service:${n + 1}`);
  const attrs = i.attributes.map(attrParam);
  const summary = i.aggregation !== Aggregation.UNSPECIFIED || i.groupBy.length > 0;
  if (i.compareShiftNano) unapplied.push('compare');
  if (i.compareVersions) unapplied.push('versions');
  if (i.limit) unapplied.push('limit');

  if (i.signal === Signal.ANOMALIES) {
    // Anomalies found in services' request rate, error rate and latency.
    if (service) params.service = service;
    unapplied.push(...extraServices);
    if (i.operations[0]) params.operation = i.operations[0];
    i.operations.slice(1).forEach((_, n) => unapplied.push(`operation:${n + 1}`));
    const signals = new Set<string>();
    if (i.status === Status.ERROR) signals.add('errorRate');
    else if (i.status === Status.OK) unapplied.push('status');
    const percentile = PERCENTILE_SIGNALS[i.quantile];
    if (i.aggregation === Aggregation.COUNT || i.aggregation === Aggregation.RATE) signals.add('rate');
    else if (i.aggregation === Aggregation.ERROR_RATE) signals.add('errorRate');
    else if (i.aggregation === Aggregation.QUANTILE && percentile) signals.add(percentile);
    else if (i.aggregation !== Aggregation.UNSPECIFIED) unapplied.push('aggregation');
    if (signals.size) params.signal = [...signals];
    if (i.metricName) unapplied.push('metric');
    for (const k of ['minDuration', 'maxDuration', 'minValue', 'maxValue', 'severity', 'text', 'order'] as const) if (has(i, k)) unapplied.push(k);
    i.attributes.forEach((_, n) => unapplied.push(`attribute:${n}`));
    i.groupBy.forEach((_, n) => unapplied.push(`groupBy:${n}`));
    return { path: '/anomalies', params, unapplied };
  }

  if (i.signal === Signal.METRICS || i.metricName) {
    if (i.metricName) params.metric = i.metricName;
    const agg: Record<number, string> = {
      [Aggregation.AVG]: 'avg',
      [Aggregation.MIN]: 'min',
      [Aggregation.MAX]: 'max',
      [Aggregation.SUM]: 'sum',
      [Aggregation.RATE]: 'rate',
      [Aggregation.QUANTILE]: 'quantile',
    };
    if (agg[i.aggregation]) params.agg = agg[i.aggregation]!;
    else if (i.aggregation !== Aggregation.UNSPECIFIED) unapplied.push('aggregation');
    if (i.aggregation === Aggregation.QUANTILE && i.quantile) params.quantile = String(i.quantile);
    if (i.groupBy.length) params.group = i.groupBy;
    const filters = [...attrs.map((a) => a.replace(/^resource:/, ''))];
    if (service) filters.push(`service.name=${service}`);
    if (filters.length) params.filter = filters;
    unapplied.push(...extraServices);
    for (const k of ['minValue', 'maxValue', 'status', 'severity', 'text', 'order'] as const) if (has(i, k)) unapplied.push(k);
    i.operations.forEach((_, n) => unapplied.push(`operation:${n}`));
    if (i.minDuration) unapplied.push('minDuration');
    if (i.maxDuration) unapplied.push('maxDuration');
    return { path: '/metrics', params, unapplied };
  }

  if (i.signal === Signal.LOGS) {
    if (service) params.service = service;
    if (i.text) params.q = i.text;
    const severity = SEVERITIES.find((s) => i.minSeverityNumber >= s.min && i.minSeverityNumber <= s.max);
    if (severity) params.severity = severity.id;
    else if (i.status === Status.ERROR) params.severity = 'error';
    if (i.status === Status.OK) unapplied.push('status');
    if (i.maxSeverityNumber) unapplied.push('severity');
    if (attrs.length) params.attr = attrs;
    unapplied.push(...extraServices);
    i.operations.forEach((_, n) => unapplied.push(`operation:${n}`));
    for (const k of ['minDuration', 'maxDuration', 'order', 'aggregation'] as const) if (has(i, k)) unapplied.push(k);
    i.groupBy.forEach((_, n) => unapplied.push(`groupBy:${n}`));
    return { path: '/logs', params, unapplied };
  }

  if (i.signal === Signal.SERVICES || (summary && i.signal !== Signal.SPANS)) {
    // A summary of requests: every service's numbers, or one service's per operation.
    const one = service !== undefined && i.serviceNames.length === 1;
    const path = one ? `/services/${encodeURIComponent(service)}` : '/services';
    if (!one) i.serviceNames.forEach((_, n) => unapplied.push(`service:${n}`));
    // A service's page is per operation, Services per service: other keys are not.
    i.groupBy.forEach((g, n) => {
      if (g !== (one ? 'operation' : 'service')) unapplied.push(`groupBy:${n}`);
    });
    for (const k of ['status', 'minDuration', 'maxDuration', 'text', 'order', 'severity'] as const) if (has(i, k)) unapplied.push(k);
    i.operations.forEach((_, n) => unapplied.push(`operation:${n}`));
    i.attributes.forEach((_, n) => unapplied.push(`attribute:${n}`));
    return { path, params, unapplied };
  }

  // One service's requests compared: Canary analysis, the service over
  // the range against it over the range moved back, or its candidate
  // version against its baseline version over the range.
  const versions = i.compareVersions;
  const range = i.timeRange;
  const cohorts =
    !service || attrs.length > 0 || !range
      ? null
      : i.compareShiftNano
        ? {
            baselineFrom: nsToMs(range.startUnixNano - i.compareShiftNano),
            baselineTo: ceilMs(range.endUnixNano - i.compareShiftNano),
            candidateFrom: nsToMs(range.startUnixNano),
            candidateTo: ceilMs(range.endUnixNano),
          }
        : versions?.candidate && versions.baseline
          ? { baselineVersion: versions.baseline, candidateVersion: versions.candidate }
          : null;
  if (service && cohorts) {
    const delta = unapplied.filter((k) => k !== 'compare' && k !== 'versions');
    delta.push(...extraServices);
    Object.assign(params, { baseline: service, candidate: service, ...cohorts });
    if (i.operations[0]) Object.assign(params, { rowService: service, rowOperation: i.operations[0] });
    i.operations.slice(1).forEach((_, n) => delta.push(`operation:${n + 1}`));
    for (const k of ['status', 'minDuration', 'maxDuration', 'text', 'order', 'severity', 'aggregation'] as const) if (has(i, k)) delta.push(k);
    i.groupBy.forEach((_, n) => delta.push(`groupBy:${n}`));
    return { path: '/delta', params, unapplied: delta };
  }

  // Requests and spans: the trace search.
  if (service) params.service = service;
  unapplied.push(...extraServices);
  if (i.operations[0]) params.operation = i.operations[0];
  i.operations.slice(1).forEach((_, n) => unapplied.push(`operation:${n + 1}`));
  if (i.status === Status.ERROR) params.status = 'error';
  if (i.status === Status.OK) params.status = 'ok';
  if (i.minDuration) params.minMs = String(Number(i.minDuration.nano) / 1e6);
  if (i.maxDuration) params.maxMs = String(Number(i.maxDuration.nano) / 1e6);
  if (attrs.length) params.attr = attrs;
  if (i.text) params.q = i.text;
  if (i.order === Order.LONGEST_FIRST) params.order = 'longest';
  else if (i.order === Order.OLDEST_FIRST) params.order = 'oldest';
  else if (i.order !== Order.UNSPECIFIED) unapplied.push('order');
  if (has(i, 'severity')) unapplied.push('severity');
  // Spans summarised: Traces lists them, it does not summarise.
  if (has(i, 'aggregation')) unapplied.push('aggregation');
  i.groupBy.forEach((_, n) => unapplied.push(`groupBy:${n}`));
  return { path: '/traces', params, unapplied };
}

function has(i: Interpretation, key: string): boolean {
  switch (key) {
    case 'minValue':
      return !!i.minValue;
    case 'maxValue':
      return !!i.maxValue;
    case 'minDuration':
      return !!i.minDuration;
    case 'maxDuration':
      return !!i.maxDuration;
    case 'status':
      return i.status !== Status.UNSPECIFIED;
    case 'severity':
      return !!(i.minSeverityNumber || i.maxSeverityNumber);
    case 'text':
      return !!i.text;
    case 'order':
      return i.order !== Order.UNSPECIFIED;
    case 'aggregation':
      return i.aggregation !== Aggregation.UNSPECIFIED;
    default:
      return false;
  }
}

/**
 * Whether the page at `pathname` with `params` still shows `i`'s results:
 * false once its form, its time range or the address changed them.
 */
export function shows(i: Interpretation, pathname: string, params: URLSearchParams): boolean {
  const to = target(i);
  if (to.path !== pathname) return false;
  return Object.entries(to.params).every(([k, v]) => {
    const have = params.getAll(k);
    return Array.isArray(v) ? have.length === v.length && v.every((x, n) => have[n] === x) : have.length === 1 && have[0] === v;
  });
}

const CHIP_FIELDS: Record<string, string> = {
  signal: 'signal',
  service: 'service_names',
  operation: 'operations',
  status: 'status',
  minDuration: 'min_duration',
  maxDuration: 'max_duration',
  metric: 'metric_name',
  minValue: 'min_value',
  maxValue: 'max_value',
  attribute: 'attributes',
  text: 'text',
  time: 'time_range',
  aggregation: 'aggregation',
  groupBy: 'group_by',
  order: 'order',
  limit: 'limit',
  compare: 'compare_shift_nano',
  versions: 'compare_versions',
};

/**
 * The Interpretation fields a chip stands for, as the search service names
 * them (Source.field, NotApplied.field): "groupBy:1" is "group_by[1]".
 */
export function chipFields(key: string): string[] {
  if (key === 'severity') return ['min_severity_number', 'max_severity_number'];
  const [part, index] = key.split(':') as [string, string | undefined];
  const field = CHIP_FIELDS[part];
  if (!field) return [];
  return [index === undefined ? field : `${field}[${index}]`];
}
