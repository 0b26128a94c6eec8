// The changes panel's logic (DeltaService.ListChanges): the request as
// plain values, the changes in the table's order, what each changed in
// words, its comparison's outcome, and its comparison as the page's two
// cohorts (what choosing a row writes to the URL).
import { create } from '@bufbuild/protobuf';
import { timeRange } from '../../api/filters';
import { AttributeScope, MatchOperator, SpanKind, StatusCode, type AttributeFilter } from '../../gen/airis/analytics/v1/query_pb';
import {
  ChangeKind,
  ListChangesRequestSchema,
  type AttributeChange,
  type Cohort,
  type DetectedChange,
  type ListChangesRequest,
} from '../../gen/airis/delta/v1/delta_pb';
import { nanosToMs } from '../../lib/time';
import { otherAttribute, SIDES, VERSION_KEY, verdictName, type CohortInput, type Side, type VerdictName } from './delta';

/** What ListChanges is asked, as plain values (a query key): the page's time range and options. */
export interface ChangesParams {
  startMs: number;
  endMs: number;
  latencyIncrease: number;
  errorRateIncrease: number;
  minSamples: number;
  alpha: number;
}

/** The ListChangesRequest: every service, the service's window and limit, each change compared with the page's options. */
export function toListChangesRequest(p: ChangesParams): ListChangesRequest {
  return create(ListChangesRequestSchema, {
    timeRange: timeRange(p.startMs, p.endMs),
    options: {
      latencyIncrease: p.latencyIncrease,
      errorRateIncrease: p.errorRateIncrease,
      minSamples: p.minSamples,
      alpha: p.alpha,
    },
  });
}

export type ChangeKindName = 'attribute' | 'event';
export function changeKindName(k: ChangeKind): ChangeKindName {
  return k === ChangeKind.EVENT ? 'event' : 'attribute';
}

/**
 * The changes in the table's order: the newest first, ties kept in the
 * API's order (which already is newest first, attribute changes before
 * events); an answer already in that order is unchanged.
 */
export function orderChanges<T extends Pick<DetectedChange, 'timeUnixNano'>>(changes: readonly T[]): T[] {
  return changes
    .map((c, i) => ({ c, i }))
    .sort((a, b) => (a.c.timeUnixNano === b.c.timeUnixNano ? a.i - b.i : a.c.timeUnixNano > b.c.timeUnixNano ? -1 : 1))
    .map(({ c }) => c);
}

/** A row's identity, as a React key. */
export function changeKey(c: Pick<DetectedChange, 'kind' | 'serviceName' | 'timeUnixNano' | 'attributes' | 'event'>): string {
  return JSON.stringify([c.kind, c.serviceName, String(c.timeUnixNano), c.attributes.map((a) => a.key), c.event]);
}

/** When it was first seen, in epoch ms. */
export function changeTimeMs(c: Pick<DetectedChange, 'timeUnixNano'>): number {
  return nanosToMs(c.timeUnixNano);
}

/** One attribute's change in words: "service.version v1 → v2", `none` for a value none had before. */
export function attributeChangeText(a: Pick<AttributeChange, 'key' | 'before' | 'after'>, none: string): string {
  return `${a.key} ${a.before || none} → ${a.after || none}`;
}

/**
 * What changed, in words: the attributes' changes joined
 * ("service.version v1 → v2, k8s.pod.label.pod-template-hash aaa → bbb"),
 * or the event's text.
 */
export function changeText(c: Pick<DetectedChange, 'kind' | 'attributes' | 'event'>, none: string): string {
  if (changeKindName(c.kind) === 'event') return c.event;
  return c.attributes.map((a) => attributeChangeText(a, none)).join(', ');
}

/** How the change did: its comparison's verdict and score, why it could not be compared, or not compared. */
export type ChangeOutcome = { kind: 'verdict'; verdict: VerdictName; score: number } | { kind: 'error'; message: string } | { kind: 'none' };
export function changeOutcome(c: Pick<DetectedChange, 'result' | 'error'>): ChangeOutcome {
  if (c.error) return { kind: 'error', message: c.error };
  if (c.result) return { kind: 'verdict', verdict: verdictName(c.result.verdict), score: c.result.score };
  return { kind: 'none' };
}

/** The page's two cohorts, as the URL holds them. */
export type CohortPair = Record<Side, CohortInput>;

/** An attribute filter the page's cohort can hold: one resource attribute equal to a value whose key the URL model can write. */
function expressible(f: AttributeFilter): boolean {
  return f.scope === AttributeScope.RESOURCE && f.operator === MatchOperator.EQUALS && f.key.trim() !== '' && !/[=!~]/.test(f.key) && f.value !== '';
}

/** Epoch ns → ms as the URL writes them, rounded down so two adjoining ranges stay adjoining. */
function floorMs(nanos: bigint): number {
  return Number(nanos / 1_000_000n);
}

/**
 * One side of a change's comparison as the page's cohort: its service,
 * its resource attribute (if any) and label, and its own time range. Null
 * when the page cannot express it (another selector, several attributes,
 * a range shorter than a millisecond).
 */
export function cohortOf(c: Cohort | undefined): CohortInput | null {
  const s = c?.spans;
  if (!s || !s.serviceName || !s.timeRange) return null;
  if (s.operation || s.parentServiceName || s.text || s.kind !== SpanKind.UNSPECIFIED || s.statusCode !== StatusCode.UNSPECIFIED) return null;
  if (s.minDurationNano !== 0n || s.maxDurationNano !== 0n || s.attributes.length > 1) return null;
  const [attribute] = s.attributes;
  if (attribute && !expressible(attribute)) return null;
  const from = floorMs(s.timeRange.startUnixNano);
  const to = floorMs(s.timeRange.endUnixNano);
  if (!(from < to)) return null;
  return {
    service: s.serviceName,
    version: attribute?.value ?? '',
    attribute: attribute && attribute.key !== VERSION_KEY ? attribute.key : '',
    label: c.label,
    from: String(from),
    to: String(to),
  };
}

/** The change's comparison as the page's two cohorts; null when it has none or the page cannot express it. */
export function changeCohorts(c: Pick<DetectedChange, 'comparison'>): CohortPair | null {
  const baseline = cohortOf(c.comparison?.baseline);
  const candidate = cohortOf(c.comparison?.candidate);
  return baseline && candidate ? { baseline, candidate } : null;
}

/** Whether the page shows these cohorts (the change's comparison is the one open). */
export function sameCohorts(a: CohortPair | null, b: CohortPair): boolean {
  if (!a) return false;
  const norm = (c: CohortInput) => ({
    service: c.service.trim(),
    version: c.version.trim(),
    attribute: c.version.trim() ? otherAttribute(c) : '',
    label: c.label.trim(),
    from: c.from.trim(),
    to: c.to.trim(),
  });
  return SIDES.every((side) => JSON.stringify(norm(a[side])) === JSON.stringify(norm(b[side])));
}
