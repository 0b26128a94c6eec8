// What the Canary analysis page computes: its state in the URL (two
// cohorts, each with its own time range when a change's comparison set
// one, the options, the selected operation), the Compare request built
// from it, the operations' order, changes and rates in words, a field named
// by a refusal, and the histograms as chart columns.
import { create } from '@bufbuild/protobuf';
import { toSpanFilter } from '../../api/filters';
import type { Patch } from '../../app/urlState';
import type { QueryMetricsResponse } from '../../gen/airis/analytics/v1/query_pb';
import {
  CompareRequestSchema,
  Severity,
  TemplateChange,
  Verdict,
  type AttributeDelta,
  type AttributeValue,
  type Change,
  type CompareRequest,
  type Histogram,
  type OperationDelta,
  type Rate,
  type TemplateDelta,
} from '../../gen/airis/delta/v1/delta_pb';
import { formatCount, formatLocale, formatPercent, formatSignedPercent } from '../../lib/format';

/** One side of the comparison as the form and the URL hold it. */
export interface CohortInput {
  service: string;
  /** The value of `attribute` (`service.version` unless it names another); empty: every span of the service. */
  version: string;
  /** A resource attribute other than `service.version` that `version` is a value of (a change's pod template hash, config checksum); empty: `service.version`. */
  attribute: string;
  /** How the reasons name it; empty: "baseline" or "candidate". */
  label: string;
  /** The cohort's own time range, epoch ms (a change's comparison); both empty: the page's (or the window before it). */
  from: string;
  to: string;
}

/** The resource attribute a cohort's version is, unless it names another. */
export const VERSION_KEY = 'service.version';

/** The resource attribute other than service.version that a cohort's version is a value of; '' for service.version. */
export function otherAttribute(c: Pick<CohortInput, 'attribute'>): string {
  const key = c.attribute.trim();
  return key === VERSION_KEY ? '' : key;
}

/** The page's state (besides the time range and the selected row): options as typed, '' for the service's default. */
export interface DeltaInput {
  baseline: CohortInput;
  candidate: CohortInput;
  /** The baseline is the window of the same length just before the page's. */
  previous: boolean;
  /** Percent: "10" fails +10 %. */
  latency: string;
  /** Percentage points: "0.5". */
  errors: string;
  minSamples: string;
  alpha: string;
}

export const SIDES = ['baseline', 'candidate'] as const;
export type Side = (typeof SIDES)[number];

/**
 * The URL's keys of each cohort: `baseline=checkout&baselineVersion=v1&baselineLabel=v1`;
 * a change's comparison adds `baselineAttribute=k8s.pod.label.pod-template-hash`
 * (what `baselineVersion` is a value of) and `baselineFrom`/`baselineTo` (epoch ms).
 */
const COHORT_KEYS = { service: '', version: 'Version', attribute: 'Attribute', label: 'Label', from: 'From', to: 'To' } as const;
const cohortKey = (side: Side, field: keyof CohortInput) => side + COHORT_KEYS[field];

/** `window=previous`: the baseline before the page's time range. */
export const WINDOW_PREVIOUS = 'previous';
/** The selected operation: its service, and its name ('' or absent: the service as a whole). */
export const ROW_SERVICE = 'rowService';
export const ROW_OPERATION = 'rowOperation';

export function readDelta(params: URLSearchParams): DeltaInput {
  const cohort = (side: Side): CohortInput => ({
    service: params.get(cohortKey(side, 'service')) ?? '',
    version: params.get(cohortKey(side, 'version')) ?? '',
    attribute: params.get(cohortKey(side, 'attribute')) ?? '',
    label: params.get(cohortKey(side, 'label')) ?? '',
    from: params.get(cohortKey(side, 'from')) ?? '',
    to: params.get(cohortKey(side, 'to')) ?? '',
  });
  return {
    baseline: cohort('baseline'),
    candidate: cohort('candidate'),
    previous: params.get('window') === WINDOW_PREVIOUS,
    latency: params.get('latency') ?? '',
    errors: params.get('errors') ?? '',
    minSamples: params.get('minSamples') ?? '',
    alpha: params.get('alpha') ?? '',
  };
}

/**
 * The URL patch that applies `d` (blank values removed, trimmed; the
 * attribute only with a value, and not when it is `service.version`) and
 * clears the selected row.
 */
export function deltaPatch(d: DeltaInput): Patch {
  const patch: Patch = {};
  for (const side of SIDES) {
    for (const field of Object.keys(COHORT_KEYS) as (keyof CohortInput)[]) {
      patch[cohortKey(side, field)] = d[side][field].trim() || null;
    }
    if (!d[side].version.trim() || !otherAttribute(d[side])) patch[cohortKey(side, 'attribute')] = null;
  }
  return {
    ...patch,
    window: d.previous ? WINDOW_PREVIOUS : null,
    latency: d.latency.trim() || null,
    errors: d.errors.trim() || null,
    minSamples: d.minSamples.trim() || null,
    alpha: d.alpha.trim() || null,
    [ROW_SERVICE]: null,
    [ROW_OPERATION]: null,
  };
}

/** Both cohorts name a service: what Compare needs from the URL before it runs. */
export function isComplete(d: DeltaInput): boolean {
  return d.baseline.service.trim() !== '' && d.candidate.service.trim() !== '';
}

export type OptionName = 'latency' | 'errors' | 'minSamples' | 'alpha';
export const OPTION_NAMES: readonly OptionName[] = ['latency', 'errors', 'minSamples', 'alpha'];

/** The options as CompareOptions' fields (0: the service's default), or which are out of range. */
export interface ParsedOptions {
  latencyIncrease: number;
  errorRateIncrease: number;
  minSamples: number;
  alpha: number;
  invalid: OptionName[];
}

/** A number as typed, '' being none; either decimal separator. */
function num(text: string): number | null {
  const s = text.trim().replace(',', '.');
  if (s === '') return null;
  const v = Number(s);
  return Number.isFinite(v) ? v : NaN;
}

/** Their ranges, as the service checks them (CompareOptions). */
export function parseOptions(d: Pick<DeltaInput, OptionName>): ParsedOptions {
  const invalid: OptionName[] = [];
  const check = (name: OptionName, ok: (v: number) => boolean, scale: number): number => {
    const v = num(d[name]);
    if (v === null) return 0;
    if (Number.isNaN(v) || !ok(v)) {
      invalid.push(name);
      return 0;
    }
    return v * scale;
  };
  const latencyIncrease = round12(check('latency', (v) => v > 0 && v <= 1000, 0.01));
  const errorRateIncrease = round12(check('errors', (v) => v > 0 && v <= 100, 0.01));
  const minSamples = check('minSamples', (v) => Number.isInteger(v) && v >= 10 && v <= 4_294_967_295, 1);
  const alpha = check('alpha', (v) => v > 0 && v <= 0.2, 1);
  return { latencyIncrease, errorRateIncrease, minSamples, alpha, invalid };
}

/** Rid of binary noise from scaling: 0.07 × 100 is 7.000000000000001. */
const round12 = (v: number) => Number(v.toPrecision(12));

/** A cohort as plain values (a query key): its time range and selector. */
export interface CohortParams extends CohortInput {
  startMs: number;
  endMs: number;
}

/** What Compare is asked, as plain values. */
export interface CompareParams {
  baseline: CohortParams;
  candidate: CohortParams;
  latencyIncrease: number;
  errorRateIncrease: number;
  minSamples: number;
  alpha: number;
}

export interface Window {
  startMs: number;
  endMs: number;
}

/** Each cohort's time range: the page's, the baseline's the window just before it when `previous`. */
export function cohortWindows(range: Window, previous: boolean): Record<Side, Window> {
  const length = range.endMs - range.startMs;
  return {
    baseline: previous ? { startMs: range.startMs - length, endMs: range.startMs } : { ...range },
    candidate: { ...range },
  };
}

/** A cohort's own time range (whole epoch ms, start before end), or null: it has none, or not a valid one. */
export function ownWindow(c: Pick<CohortInput, 'from' | 'to'>): Window | null {
  const ms = (text: string) => (/^\d{1,16}$/.test(text.trim()) ? Number(text.trim()) : NaN);
  const startMs = ms(c.from);
  const endMs = ms(c.to);
  return startMs < endMs ? { startMs, endMs } : null;
}

/** Each cohort's time range: its own when it has one (a change's comparison), else as cohortWindows says. */
export function cohortRanges(range: Window, d: Pick<DeltaInput, 'previous' | Side>): Record<Side, Window> {
  const windows = cohortWindows(range, d.previous);
  for (const side of SIDES) windows[side] = ownWindow(d[side]) ?? windows[side];
  return windows;
}

/** The request's plain values, or null while the URL lacks a cohort or has an option out of range. */
export function compareParams(d: DeltaInput, range: Window): CompareParams | null {
  if (!isComplete(d)) return null;
  const options = parseOptions(d);
  if (options.invalid.length) return null;
  const windows = cohortRanges(range, d);
  const cohort = (side: Side): CohortParams => {
    const version = d[side].version.trim();
    return {
      service: d[side].service.trim(),
      version,
      attribute: version ? otherAttribute(d[side]) : '',
      label: d[side].label.trim(),
      // The range asked is in startMs/endMs.
      from: '',
      to: '',
      ...windows[side],
    };
  };
  const { invalid: _, ...rest } = options;
  return { baseline: cohort('baseline'), candidate: cohort('candidate'), ...rest };
}

/** The CompareRequest: each cohort's service and time range, its version (or other attribute's value) as a resource attribute. */
export function toCompareRequest(p: CompareParams): CompareRequest {
  const cohort = (c: CohortParams) => ({
    spans: toSpanFilter({
      startMs: c.startMs,
      endMs: c.endMs,
      service: c.service,
      attrs: c.version ? [`resource:${c.attribute || VERSION_KEY}=${c.version}`] : [],
    }),
    label: c.label,
  });
  return create(CompareRequestSchema, {
    baseline: cohort(p.baseline),
    candidate: cohort(p.candidate),
    options: {
      latencyIncrease: p.latencyIncrease,
      errorRateIncrease: p.errorRateIncrease,
      minSamples: p.minSamples,
      alpha: p.alpha,
    },
  });
}

/**
 * The form's part an INVALID_ARGUMENT or RESOURCE_EXHAUSTED names
 * ("candidate.spans.time_range: required"), if any: a cohort's label, a
 * cohort (its selector or time range), or an option.
 */
export type FormPart = Side | `${Side}.label` | OptionName;
const OPTION_FIELDS: Record<string, OptionName> = {
  latency_increase: 'latency',
  error_rate_increase: 'errors',
  min_samples: 'minSamples',
  alpha: 'alpha',
};
export function formPartOf(message: string): FormPart | null {
  const m = /^\s*(?:(baseline|candidate)(\.label\b)?|options\.(latency_increase|error_rate_increase|min_samples|alpha)\b)/.exec(message);
  if (m?.[1]) return m[2] ? (`${m[1] as Side}.label` as const) : (m[1] as Side);
  if (m?.[3]) return OPTION_FIELDS[m[3]] ?? null;
  // A limit may name the cohort in its words ("the candidate cohort ...").
  return (/\b(baseline|candidate)\b/.exec(message)?.[1] as Side | undefined) ?? null;
}

export type VerdictName = 'pass' | 'fail' | 'inconclusive' | 'unknown';
export function verdictName(v: Verdict): VerdictName {
  switch (v) {
    case Verdict.PASS:
      return 'pass';
    case Verdict.FAIL:
      return 'fail';
    case Verdict.INCONCLUSIVE:
      return 'inconclusive';
    default:
      return 'unknown';
  }
}

export type SeverityName = 'fail' | 'inconclusive' | 'info';
export function severityName(s: Severity): SeverityName {
  return s === Severity.FAIL ? 'fail' : s === Severity.INCONCLUSIVE ? 'inconclusive' : 'info';
}

/** Worse first: FAIL, INCONCLUSIVE, PASS. */
const VERDICT_RANK: Record<VerdictName, number> = { fail: 3, inconclusive: 2, unknown: 1, pass: 0 };

/** An operation's identity in the URL and as a React key. */
export function rowKey(op: Pick<OperationDelta, 'serviceName' | 'operation'>): string {
  return JSON.stringify([op.serviceName, op.operation]);
}

export const SORT_KEYS = ['verdict', 'name', 'shift', 'p99', 'errors'] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export function isSortKey(k: string): k is SortKey {
  return (SORT_KEYS as readonly string[]).includes(k);
}

/** What a row sorts by; null (no value: an operation not judged) sorts last either way. */
function sortValue(op: OperationDelta, key: SortKey): number | string | null {
  switch (key) {
    case 'verdict':
      return VERDICT_RANK[verdictName(op.verdict)];
    case 'name':
      // The service as a whole ('' operation) first.
      return `${op.serviceName}\u0000${op.operation}`;
    case 'shift':
      return op.latency?.shift ? op.latency.shift.estimate : null;
    case 'p99':
      return op.latency?.p99 ? op.latency.p99.estimate : null;
    case 'errors':
      return op.errors ? op.errors.difference : null;
  }
}

/**
 * The operations in the table's order: by `key` (`desc`: worse or larger
 * first), ties and values missing kept in the API's order (services as a
 * whole first, then their operations by name), missing values last.
 */
export function orderOperations(ops: readonly OperationDelta[], key: SortKey, dir: 'asc' | 'desc'): OperationDelta[] {
  const sign = dir === 'asc' ? 1 : -1;
  return ops
    .map((op, i) => ({ op, i, v: sortValue(op, key) }))
    .sort((a, b) => {
      if (a.v === null || b.v === null) return a.v === b.v ? a.i - b.i : a.v === null ? 1 : -1;
      const c = typeof a.v === 'number' && typeof b.v === 'number' ? a.v - b.v : a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
      return c * sign || a.i - b.i;
    })
    .map((r) => r.op);
}

/** A relative change in words: "+18%", its interval "+12% … +26%". */
export function formatChange(c: Change | undefined): { estimate: string; interval: string } | null {
  if (!c || !Number.isFinite(c.estimate)) return null;
  return { estimate: formatSignedPercent(c.estimate), interval: `${formatSignedPercent(c.lower)} … ${formatSignedPercent(c.upper)}` };
}

/** An error rate with its Wilson interval: "1.23%", "0.9% – 1.6%". */
export function formatRate(r: Rate | undefined): { rate: string; interval: string } | null {
  if (!r || r.total === 0n) return null;
  return { rate: formatPercent(r.rate), interval: `${formatPercent(r.lower)} – ${formatPercent(r.upper)}` };
}

/** A difference of rates in percentage points, signed: 0.012 → "+1.2". */
export function formatPoints(difference: number): string {
  if (!Number.isFinite(difference)) return '–';
  const pp = round12(difference * 100);
  const digits = Math.abs(pp) >= 10 ? 0 : Math.abs(pp) >= 1 ? 1 : 2;
  return new Intl.NumberFormat(formatLocale(), { maximumFractionDigits: digits, signDisplay: 'exceptZero' }).format(pp);
}

/**
 * Both cohorts' durations as a 'steps' chart's columns: x the buckets'
 * bounds in milliseconds, each cohort's share of its spans per bucket
 * (cohorts of different sizes compare), the last bucket's share repeated
 * at its upper bound so that its step is drawn. `log` when every bound is
 * above zero.
 */
export function histogramColumns(h: Histogram | undefined): { x: number[]; baseline: number[]; candidate: number[]; log: boolean } | null {
  if (!h) return null;
  const bounds = h.boundsNano;
  const n = bounds.length - 1;
  if (n < 1) return null;
  const shares = (counts: readonly bigint[]) => {
    const values = Array.from({ length: n }, (_, i) => Number(counts[i] ?? 0n));
    const total = values.reduce((a, b) => a + b, 0);
    const out = values.map((v) => (total > 0 ? v / total : 0));
    return [...out, out[n - 1]!];
  };
  const x = bounds.map((b) => Number(b) / 1_000_000);
  return { x, baseline: shares(h.baselineCounts), candidate: shares(h.candidateCounts), log: x.every((v) => v > 0) };
}

/** The versions each service runs, from QueryMetrics grouped by service.name and service.version (as the Services page asks). */
export function versionsByService(data: QueryMetricsResponse | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const s of data?.series ?? []) {
    const service = s.labels['service.name'] ?? '';
    const version = s.labels['service.version'] ?? '';
    if (!service || !version) continue;
    const list = out.get(service) ?? [];
    if (!list.includes(version)) list.push(version);
    out.set(service, list);
  }
  for (const list of out.values()) list.sort((a, b) => a.localeCompare(b));
  return out;
}

/** A template's change as the badge names it: never a colour alone. */
export type TemplateChangeName = 'new' | 'vanished' | 'more' | 'less' | 'same';
export function templateChangeName(c: TemplateChange): TemplateChangeName {
  switch (c) {
    case TemplateChange.NEW:
      return 'new';
    case TemplateChange.VANISHED:
      return 'vanished';
    case TemplateChange.MORE:
      return 'more';
    case TemplateChange.LESS:
      return 'less';
    default:
      return 'same';
  }
}

/** The badge's mark beside its word: a new or more frequent template is the one to look at. */
export const TEMPLATE_CHANGE_GLYPH: Record<TemplateChangeName, string> = { new: '+', vanished: '−', more: '↑', less: '↓', same: '=' };
/** The badge's class: a new or more frequent error template is what fails. */
export function templateChangeTone(change: TemplateChangeName, error: boolean): 'badge-error' | 'badge-warn' | 'badge-ok' | '' {
  if (change === 'new' || change === 'more') return error ? 'badge-error' : 'badge-warn';
  if (change === 'vanished' || change === 'less') return 'badge-ok';
  return '';
}

/** OpenTelemetry's SeverityNumber: 17 (ERROR) and above are errors. */
export const ERROR_SEVERITY = 17;
export const isErrorSeverity = (severityNumber: number) => severityNumber >= ERROR_SEVERITY;

/** The template's text cut at its wildcards, each `<*>` a part of its own to be marked. */
export function templateParts(template: string): { text: string; wildcard: boolean }[] {
  const out: { text: string; wildcard: boolean }[] = [];
  const pieces = template.split('<*>');
  pieces.forEach((text, i) => {
    if (i > 0) out.push({ text: '<*>', wildcard: true });
    if (text) out.push({ text, wildcard: false });
  });
  return out;
}

/**
 * The templates in the table's order: changed ones first, then the rest,
 * each group in the API's order (the service ranks new, more, vanished,
 * less, then by records); an answer already in that order is unchanged.
 */
export function orderTemplates<T extends Pick<TemplateDelta, 'change'>>(templates: readonly T[]): T[] {
  const changed = (t: T) => templateChangeName(t.change) !== 'same';
  return [...templates.filter(changed), ...templates.filter((t) => !changed(t))];
}

/** A template row's element id, for a reason that names it. */
export function templateRowId(index: number): string {
  return `delta-template-${index}`;
}

/** Where a reason's template is among the table's rows; -1 when it is not listed (at most 200 are). */
export function templateIndex(templates: readonly Pick<TemplateDelta, 'template'>[], template: string): number {
  return template ? templates.findIndex((t) => t.template === template) : -1;
}

/** A template's records in a cohort and their share of the cohort's records, with the share's Wilson interval. */
export function formatShare(r: Rate | undefined): { count: string; share: string; interval: string } | null {
  if (!r || r.total === 0n) return null;
  return { count: formatCount(r.count), share: formatPercent(r.rate), interval: `${formatPercent(r.lower)} – ${formatPercent(r.upper)}` };
}

/** What an attribute row says: its values changed significantly, did not, or could not be tested (too few spans). */
export type AttributeStatus = 'changed' | 'same' | 'untested';
export function attributeStatus(a: Pick<AttributeDelta, 'test'>): AttributeStatus {
  if (!a.test) return 'untested';
  return a.test.significant ? 'changed' : 'same';
}

/** The badge's mark beside its word, never a colour alone. */
export const ATTRIBUTE_STATUS_GLYPH: Record<AttributeStatus, string> = { changed: '≠', same: '=', untested: '?' };

/**
 * The attribute rows in the table's order: significant changes first, the
 * smallest q first, then the rest in the API's order (by service, operation
 * and key); an answer already in that order is unchanged.
 */
export function orderAttributes<T extends Pick<AttributeDelta, 'test'>>(attributes: readonly T[]): T[] {
  const changed = attributes
    .map((a, i) => ({ a, i }))
    .filter(({ a }) => attributeStatus(a) === 'changed')
    .sort((x, y) => (x.a.test?.qValue ?? 1) - (y.a.test?.qValue ?? 1) || x.i - y.i)
    .map(({ a }) => a);
  return [...changed, ...attributes.filter((a) => attributeStatus(a) !== 'changed')];
}

/** An attribute row's identity: its service, operation and key. */
export function attributeKey(a: Pick<AttributeDelta, 'serviceName' | 'operation' | 'key'>): string {
  return JSON.stringify([a.serviceName, a.operation, a.key]);
}

/** An attribute row's element id, for a reason that names it. */
export function attributeRowId(index: number): string {
  return `delta-attribute-${index}`;
}

/** Where a reason's attribute row is (same service, operation and key); -1 when it names none or it is not listed (at most 200 are). */
export function attributeIndex(
  attributes: readonly Pick<AttributeDelta, 'serviceName' | 'operation' | 'key'>[],
  reason: { serviceName: string; operation: string; attribute: string },
): number {
  if (!reason.attribute) return -1;
  return attributes.findIndex((a) => a.key === reason.attribute && a.serviceName === reason.serviceName && a.operation === reason.operation);
}

/** Values a row shows before it is opened. */
export const VALUES_SHOWN = 5;

/** A value as the table names it: the value, `other` for the rest folded together, `empty` for an empty string. */
export function valueName(v: Pick<AttributeValue, 'value' | 'other'>): { text: string; kind: 'value' | 'other' | 'empty' } {
  if (v.other) return { text: '', kind: 'other' };
  if (v.value === '') return { text: '', kind: 'empty' };
  return { text: v.value, kind: 'value' };
}

/**
 * The test in numbers: "χ² 90.2", its degrees of freedom, "< 0.001" or
 * the q-value to two significant digits, Cramér's V to two decimals; null
 * when not tested.
 */
export function formatChiSquare(a: Pick<AttributeDelta, 'test' | 'degreesOfFreedom' | 'cramersV'>): { chi2: string; df: string; q: string; v: string } | null {
  if (!a.test) return null;
  const locale = formatLocale();
  const fixed = (v: number, digits: number) => new Intl.NumberFormat(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(v);
  const q = a.test.qValue;
  return {
    chi2: fixed(a.test.statistic, 1),
    df: String(a.degreesOfFreedom),
    // As the other tests' q-values read (toPrecision), the smallest bounded.
    q: q < 0.001 ? '< 0.001' : `= ${q.toPrecision(2)}`,
    v: fixed(a.cramersV, 2),
  };
}

/** A share (0 to 1) as a position or width on a bar of 0 to 100 %. */
export function shareWidth(share: number): string {
  if (!Number.isFinite(share)) return '0%';
  return `${round12(Math.min(100, Math.max(0, share * 100)))}%`;
}
