// A summary's answer from the search service's Ask (the query service's
// TopK or ServiceOverview, run as the signed-in user), as table rows: one
// per group, with the number the question asked for marked, the same
// group's number in the comparison's earlier range (or other version), and where to look
// closer (a service's page, or the traces of an operation or an attribute
// value); and a comparison's judgement by the delta service, with the
// Canary analysis page's link to the same comparison. Pure: no React, no
// network.
import { AttributeScope, MatchOperator, StatusCode, TopKDimension, type LatencyPercentiles, type SpanFilter } from '../gen/airis/analytics/v1/query_pb';
import type { Cohort } from '../gen/airis/delta/v1/delta_pb';
import { Aggregation, Signal, type AskResponse, type Interpretation } from '../gen/airis/search/v1/search_pb';
import { severityName, verdictName, type SeverityName, type VerdictName } from '../pages/delta/delta';
import { attrParam } from './interpretation';

/** Whether a page cannot show `i` whole and the answer table does: requests summarised. */
export function summarised(i: Interpretation): boolean {
  if (i.signal === Signal.METRICS || i.signal === Signal.LOGS || i.signal === Signal.ANOMALIES || i.metricName) return false;
  return i.aggregation !== Aggregation.UNSPECIFIED || i.groupBy.length > 0;
}

/** The columns an answer row has; `asked` is the one the question asked for. */
export type Measure = 'count' | 'errors' | 'errorRate' | 'p50' | 'p95' | 'p99';

export interface Row {
  group: string;
  count: bigint;
  errors: bigint;
  errorRate: number;
  p50: bigint;
  p95: bigint;
  p99: bigint;
  /** The asked measure over the earlier range (a comparison), when the group was there. */
  before?: number;
  /** Where the group's requests are shown. */
  link?: { path: string; params: Record<string, string | string[]> };
}

export interface Table {
  /** The query service's RPC that answered ("TopK", "ServiceOverview"). */
  rpc: string;
  /** What a group is: "service", "operation" or an attribute key. */
  groupKind: string;
  asked: Measure;
  rows: Row[];
  /** Whether there is an earlier range, or another version, to compare with. */
  compared: boolean;
  /** The version compared with, when the comparison is of versions. */
  baselineVersion?: string;
}

/** The measure the question asked for. */
export function askedMeasure(i: Interpretation): Measure {
  switch (i.aggregation) {
    case Aggregation.ERROR_RATE:
      return 'errorRate';
    case Aggregation.QUANTILE:
      return i.quantile === 0.5 ? 'p50' : i.quantile === 0.95 ? 'p95' : 'p99';
    case Aggregation.AVG:
    case Aggregation.MIN:
    case Aggregation.MAX:
    case Aggregation.SUM:
      return 'p99';
    default:
      return 'count';
  }
}

export function measureOf(row: Row, m: Measure): number {
  switch (m) {
    case 'count':
      return Number(row.count);
    case 'errors':
      return Number(row.errors);
    case 'errorRate':
      return row.errorRate;
    default:
      return Number(row[m]);
  }
}

const latency = (l: LatencyPercentiles | undefined) => ({ p50: l?.p50Nano ?? 0n, p95: l?.p95Nano ?? 0n, p99: l?.p99Nano ?? 0n });

/** The Traces page's URL filters for the spans `f` selects (its time range aside). */
function traceFilters(f: SpanFilter | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (!f) return out;
  if (f.serviceName) out.service = f.serviceName;
  if (f.operation) out.operation = f.operation;
  if (f.statusCode === StatusCode.ERROR) out.status = 'error';
  // An exclusive bound is a nanosecond inside: shown as the bound asked.
  const ms = (nano: bigint) => String(Math.round(Number(nano) / 1e3) / 1e3);
  if (f.minDurationNano) out.minMs = ms(f.minDurationNano);
  if (f.maxDurationNano) out.maxMs = ms(f.maxDurationNano);
  if (f.attributes.length) out.attr = f.attributes.map(attrParam);
  if (f.text) out.q = f.text;
  return out;
}

/** The rows of an Ask answer, `null` when it is not a summary of requests. */
function rowsOf(answer: AskResponse['answer'], range: Record<string, string>): Omit<Table, 'asked' | 'compared'> | null {
  const query = answer?.query;
  const result = answer?.result;
  if (result?.case === 'top' && query?.case === 'topK') {
    const q = query.value;
    const kind = q.dimension === TopKDimension.OPERATION ? 'operation' : q.dimension === TopKDimension.ATTRIBUTE ? q.attributeKey : 'service';
    // A group's spans are the TopK filter's with the group's value: on
    // Traces, unless a plain service (its page says more).
    const filters = traceFilters(q.filter);
    const group = (value: string): Record<string, string | string[]> => {
      if (kind === 'service') return { service: value };
      if (kind === 'operation') return { operation: value };
      const scope = q.attributeScope === AttributeScope.RESOURCE ? 'resource:' : '';
      return { attr: [...((filters.attr as string[] | undefined) ?? []), `${scope}${kind}=${value}`] };
    };
    const plain = Object.keys(filters).every((k) => k === 'service');
    const rows = result.value.entries.map((e): Row => {
      const link =
        kind === 'service' && plain
          ? { path: `/services/${encodeURIComponent(e.value)}`, params: range }
          : { path: '/traces', params: { ...range, ...filters, ...group(e.value) } };
      return {
        group: e.value,
        count: e.count,
        errors: e.errorCount,
        errorRate: e.count ? Number(e.errorCount) / Number(e.count) : 0,
        ...latency(e.latency),
        link,
      };
    });
    return { rpc: 'TopK', groupKind: kind, rows };
  }
  if (result?.case === 'overview' && query?.case === 'serviceOverview') {
    const service = query.value.serviceName;
    const rows = result.value.series.map(
      (s): Row => ({
        group: service ? s.operation : s.serviceName,
        count: s.requestCount,
        errors: s.errorCount,
        errorRate: s.errorRate,
        ...latency(s.latency),
        link: service
          ? { path: '/traces', params: { ...range, service, operation: s.operation } }
          : { path: `/services/${encodeURIComponent(s.serviceName)}`, params: range },
      }),
    );
    return { rpc: 'ServiceOverview', groupKind: service ? 'operation' : 'service', rows };
  }
  return null;
}

/** The answer table of an Ask response for `i`, or null when its answer is not a summary of requests. */
export function answerTable(i: Interpretation, response: AskResponse, range: Record<string, string>): Table | null {
  const now = rowsOf(response.answer, range);
  if (!now) return null;
  const asked = askedMeasure(i);
  const before = response.baseline ? rowsOf(response.baseline, range) : null;
  const earlier = new Map(before?.rows.map((r) => [r.group, measureOf(r, asked)]));
  const baselineVersion = i.compareVersions?.baseline;
  return {
    ...now,
    asked,
    compared: before !== null,
    ...(before && baselineVersion ? { baselineVersion } : {}),
    rows: now.rows.map((r) => (earlier.has(r.group) ? { ...r, before: earlier.get(r.group) } : r)),
  };
}

/** A comparison's judgement (the delta service's Compare of the range against the range moved back, or of two versions), as the answer shows it. */
export interface Judgement {
  verdict: VerdictName;
  /** 0 to 100. */
  score: number;
  /** How the two ranges are named ("yesterday", "today"). */
  baseline: string;
  candidate: string;
  /** The first reasons, failures first, in the page's language. */
  reasons: { severity: SeverityName; text: string }[];
  /** How many more reasons the Canary analysis page shows. */
  more: number;
  /**
   * The same cohorts on the Canary analysis page, every signal and operation judged (one operation asked: selected);
   * null when the page cannot hold them (no service, or attribute filters besides a version).
   */
  link: { path: string; params: Record<string, string> } | null;
  /** Whether the cohorts are two versions over one range (else one service over two ranges). */
  versions: boolean;
}

/** The reasons shown under the verdict; the rest are on the Canary analysis page. */
export const JUDGEMENT_REASONS = 3;

const ms = (nano: bigint) => String(nano / 1_000_000n);

/** The judgement of an Ask response, or null when it has none. */
export function judgementOf(response: AskResponse, language: 'ko' | 'en'): Judgement | null {
  const j = response.judgement;
  if (j?.query.case !== 'compare' || j.result.case !== 'comparison') return null;
  const { baseline, candidate } = j.query.value;
  const compared = j.result.value;
  const reasons = compared.reasons.map((r) => ({ severity: severityName(r.severity), text: language === 'ko' ? r.ko : r.en }));
  // A cohort the page holds: one service over a range, of one version at most.
  const cohort = (c: Cohort | undefined) => {
    const spans = c?.spans;
    const range = spans?.timeRange;
    const [version, ...more] = spans?.attributes ?? [];
    const byVersion = version?.key === 'service.version' && version.scope === AttributeScope.RESOURCE && version.operator === MatchOperator.EQUALS;
    if (!spans || !range || !spans.serviceName || spans.operation || more.length > 0 || (version && !byVersion)) return null;
    return { service: spans.serviceName, label: c.label, version: version?.value ?? '', from: ms(range.startUnixNano), to: ms(range.endUnixNano + 999_999n) };
  };
  const before = cohort(baseline);
  const now = cohort(candidate);
  const operations = compared.options?.operations ?? [];
  // Two versions over one range, or one service (of one version, maybe) over two ranges.
  const versions = !!(before?.version && now?.version && before.version !== now.version && before.from === now.from && before.to === now.to);
  let link: Judgement['link'] = null;
  if (before && now) {
    // Two versions share the page's range; two ranges each have their own.
    const params: Record<string, string> = versions
      ? { baseline: before.service, baselineVersion: before.version, candidate: now.service, candidateVersion: now.version, from: now.from, to: now.to }
      : {
          baseline: before.service,
          baselineLabel: before.label,
          baselineFrom: before.from,
          baselineTo: before.to,
          candidate: now.service,
          candidateLabel: now.label,
          candidateFrom: now.from,
          candidateTo: now.to,
          from: now.from,
          to: now.to,
          ...(before.version ? { baselineVersion: before.version } : {}),
          ...(now.version ? { candidateVersion: now.version } : {}),
        };
    // One operation asked: the page opens on it.
    if (operations.length === 1) Object.assign(params, { rowService: now.service, rowOperation: operations[0] });
    link = { path: '/delta', params };
  }
  return {
    verdict: verdictName(compared.verdict),
    score: compared.score,
    baseline: baseline?.label ?? '',
    candidate: candidate?.label ?? '',
    reasons: reasons.slice(0, JUDGEMENT_REASONS),
    more: Math.max(0, reasons.length - JUDGEMENT_REASONS),
    link,
    versions,
  };
}
