// Data fetching: every RPC goes through React Query with a key built here.
// Keys hold plain values only (numbers, strings); requests are built from
// them in the query function, so equal keys mean equal requests.
import { create } from '@bufbuild/protobuf';
import {
  keepPreviousData,
  useInfiniteQuery,
  useMutation,
  useQueries,
  useQuery,
  useQueryClient,
  type QueryKey,
  type UseQueryResult,
} from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import type { Anomaly } from '../gen/airis/aiops/v1/anomaly_pb';
import {
  Aggregation,
  LabelFilterSchema,
  SpanOrder,
  type GetTraceResponse,
} from '../gen/airis/analytics/v1/query_pb';
import type { SeriesPoints } from '../lib/insights';
import { msToNanos } from '../lib/time';
import type { AlertParams, TestRuleParams } from './alertHooks';
import type { ChangesParams, CompareParams } from './deltaHooks';
import { aiops, analytics, tokenClient } from './clients';
import {
  parseAttr,
  timeRange,
  toAnomalyFilter,
  toAttributeFilter,
  toSpanFilter,
  type AnomalyFilterInput,
  type AttrFilter,
  type SpanFilterInput,
} from './filters';
import { keepOpen } from './stream';

export interface Range {
  startMs: number;
  endMs: number;
}

export const keys = {
  all: ['airis'] as const,
  services: (r: Range) => ['airis', 'listServices', r.startMs, r.endMs] as const,
  operations: (r: Range, service: string) => ['airis', 'listOperations', r.startMs, r.endMs, service] as const,
  overview: (p: OverviewParams) => ['airis', 'serviceOverview', p] as const,
  serviceMap: (r: Range) => ['airis', 'serviceMap', r.startMs, r.endMs] as const,
  traces: (f: SpanFilterInput, order: OrderName, token: string) => ['airis', 'searchTraces', f, order, token] as const,
  spans: (f: SpanFilterInput, order: OrderName, token: string, size: number) =>
    ['airis', 'searchSpans', f, order, token, size] as const,
  trace: (id: string) => ['airis', 'getTrace', id] as const,
  logs: (p: LogParams) => ['airis', 'searchLogs', p] as const,
  metrics: (p: MetricParams) => ['airis', 'queryMetrics', p] as const,
  metricList: (r: Range, service: string) => ['airis', 'listMetrics', r.startMs, r.endMs, service] as const,
  tokens: () => ['airis', 'listTokens'] as const,
  scoreSeries: (s: SeriesPoints) => ['airis', 'scoreSeries', s.id, s.timesMs, s.values] as const,
  forecast: (s: SeriesPoints, horizon: number) => ['airis', 'forecast', s.id, horizon, s.timesMs, s.values] as const,
  anomalies: (p: AnomalyParams) => ['airis', 'listAnomalies', p] as const,
  /** Every page of ListRules: what a change to a rule makes stale. */
  ruleLists: () => ['airis', 'listRules'] as const,
  rules: (pageToken: string, pageSize: number) => ['airis', 'listRules', pageToken, pageSize] as const,
  rule: (id: string) => ['airis', 'getRule', id] as const,
  testRule: (p: TestRuleParams) => ['airis', 'testRule', p] as const,
  /** Every page of ListSilences: what a change to a silence makes stale. */
  silenceLists: () => ['airis', 'listSilences'] as const,
  /** `states`: SilenceState numbers, ascending; none for all. */
  silences: (states: readonly number[], pageSize: number) => ['airis', 'listSilences', [...states], pageSize] as const,
  silence: (id: string) => ['airis', 'getSilence', id] as const,
  alerts: (p: AlertParams) => ['airis', 'listAlerts', p] as const,
  policy: () => ['airis', 'getNotificationPolicy'] as const,
  notifications: (receiver: string, pageToken: string, pageSize: number) => ['airis', 'listNotifications', receiver, pageToken, pageSize] as const,
  compare: (p: CompareParams | null) => ['airis', 'compare', p] as const,
  changes: (p: ChangesParams | null) => ['airis', 'listChanges', p] as const,
  /** An interpretation (its URL form) asked in a language. */
  ask: (interp: string, locale: string) => ['airis', 'ask', interp, locale] as const,
};

/**
 * keepPreviousData, but only from a query with the same `identity` (the
 * same series or query over another window: an auto-refresh, a zoom). The
 * previous answer for another metric or series must not be drawn, or
 * scored, under this one's name.
 */
function keepPreviousOf<K extends QueryKey>(key: K, identity: (key: K) => unknown) {
  const id = JSON.stringify(identity(key));
  return <T>(previous: T | undefined, query: { queryKey: K } | undefined): T | undefined =>
    query && JSON.stringify(identity(query.queryKey)) === id ? previous : undefined;
}

/** A window query's key without its window: what it asks, wherever in time. */
const apartFromWindow = (key: readonly [string, string, Range]) => ({ ...key[2], startMs: 0, endMs: 0 });

export type OrderName = 'newest' | 'oldest' | 'longest';
const ORDER: Record<OrderName, SpanOrder> = {
  newest: SpanOrder.UNSPECIFIED,
  oldest: SpanOrder.OLDEST_FIRST,
  longest: SpanOrder.LONGEST_FIRST,
};

export function useServices(r: Range) {
  return useQuery({
    queryKey: keys.services(r),
    queryFn: ({ signal }) => analytics.listServices({ timeRange: timeRange(r.startMs, r.endMs) }, { signal }),
    placeholderData: keepPreviousData,
  });
}

export function useOperations(r: Range, service: string) {
  return useQuery({
    queryKey: keys.operations(r, service),
    queryFn: ({ signal }) =>
      analytics.listOperations({ timeRange: timeRange(r.startMs, r.endMs), serviceName: service }, { signal }),
    enabled: !!service,
    placeholderData: keepPreviousData,
  });
}

export interface OverviewParams extends Range {
  service?: string;
  entrySpansOnly: boolean;
  stepSeconds?: number;
}

function fetchOverview(p: OverviewParams) {
  return ({ signal }: { signal: AbortSignal }) =>
    analytics.serviceOverview(
      {
        timeRange: timeRange(p.startMs, p.endMs),
        serviceName: p.service ?? '',
        entrySpansOnly: p.entrySpansOnly,
        stepSeconds: p.stepSeconds ?? 0,
      },
      { signal },
    );
}

export function useServiceOverview(p: OverviewParams) {
  return useQuery({ queryKey: keys.overview(p), queryFn: fetchOverview(p), placeholderData: keepPreviousData });
}

/** ServiceOverview over a look-back, for scoring and forecasting: see useMetricHistory. */
export function useServiceOverviewHistory(p: OverviewParams, enabled: boolean) {
  const queryKey = keys.overview(p);
  return useQuery({ queryKey, queryFn: fetchOverview(p), enabled, placeholderData: keepPreviousOf(queryKey, apartFromWindow) });
}

export function useServiceMap(r: Range) {
  return useQuery({
    queryKey: keys.serviceMap(r),
    queryFn: ({ signal }) => analytics.serviceMap({ timeRange: timeRange(r.startMs, r.endMs) }, { signal }),
    placeholderData: keepPreviousData,
  });
}

export function useSearchTraces(f: SpanFilterInput, order: OrderName, pageToken: string, pageSize = 100) {
  return useQuery({
    queryKey: keys.traces(f, order, pageToken),
    queryFn: ({ signal }) =>
      analytics.searchTraces({ filter: toSpanFilter(f), order: ORDER[order], page: { pageSize, pageToken } }, { signal }),
    placeholderData: keepPreviousData,
  });
}

export function useSearchSpans(f: SpanFilterInput, order: OrderName, pageToken: string, pageSize: number) {
  return useQuery({
    queryKey: keys.spans(f, order, pageToken, pageSize),
    queryFn: ({ signal }) =>
      analytics.searchSpans({ filter: toSpanFilter(f), order: ORDER[order], page: { pageSize, pageToken } }, { signal }),
    placeholderData: keepPreviousData,
  });
}

export function useTrace(traceId: string) {
  return useQuery<GetTraceResponse>({
    queryKey: keys.trace(traceId),
    queryFn: ({ signal }) => analytics.getTrace({ traceId }, { signal }),
    enabled: !!traceId,
    // A finished trace does not change; a trace still arriving is refreshed
    // by the user.
    staleTime: 60_000,
  });
}

export interface LogParams extends Range {
  service?: string;
  query?: string;
  minSeverity?: number;
  maxSeverity?: number;
  attrs?: string[];
  traceId?: string;
  pageToken?: string;
  pageSize?: number;
}

export function useSearchLogs(p: LogParams, enabled = true) {
  return useQuery({
    queryKey: keys.logs(p),
    queryFn: ({ signal }) =>
      analytics.searchLogs(
        {
          timeRange: timeRange(p.startMs, p.endMs),
          serviceName: p.service ?? '',
          query: p.query ?? '',
          minSeverityNumber: p.minSeverity ?? 0,
          maxSeverityNumber: p.maxSeverity ?? 0,
          attributes: (p.attrs ?? []).map(parseAttr).filter((a): a is AttrFilter => !!a).map(toAttributeFilter),
          traceId: p.traceId ?? '',
          page: { pageSize: p.pageSize ?? 100, pageToken: p.pageToken ?? '' },
          histogramStepSeconds: 0,
        },
        { signal },
      ),
    enabled,
    placeholderData: keepPreviousData,
  });
}

export type AggregationName = 'sum' | 'avg' | 'min' | 'max' | 'rate' | 'quantile';
export const AGGREGATION: Record<AggregationName, Aggregation> = {
  sum: Aggregation.SUM,
  avg: Aggregation.AVG,
  min: Aggregation.MIN,
  max: Aggregation.MAX,
  rate: Aggregation.RATE,
  quantile: Aggregation.QUANTILE,
};

export interface MetricParams extends Range {
  metric: string;
  aggregation: AggregationName;
  quantile?: number;
  groupBy?: string[];
  filters?: string[];
  stepSeconds?: number;
}

function fetchMetrics(p: MetricParams) {
  return ({ signal }: { signal: AbortSignal }) =>
    analytics.queryMetrics(
      {
        metricName: p.metric,
        timeRange: timeRange(p.startMs, p.endMs),
        aggregation: AGGREGATION[p.aggregation],
        quantile: p.aggregation === 'quantile' ? (p.quantile ?? 0.95) : 0,
        groupBy: p.groupBy ?? [],
        stepSeconds: p.stepSeconds ?? 0,
        filters: (p.filters ?? [])
          .map(parseAttr)
          .filter((a): a is AttrFilter => !!a)
          .map((a) => create(LabelFilterSchema, { key: a.key, operator: toAttributeFilter(a).operator, value: a.op === 'exists' ? '' : a.value })),
      },
      { signal },
    );
}

export function useQueryMetrics(p: MetricParams, enabled = true) {
  return useQuery({ queryKey: keys.metrics(p), queryFn: fetchMetrics(p), enabled: enabled && !!p.metric, placeholderData: keepPreviousData });
}

/**
 * QueryMetrics over a look-back, for scoring and forecasting (lib/insights).
 * While it reloads, the previous answer stays only if it was for the same
 * query over another window: its points are scored under this query's name.
 */
export function useMetricHistory(p: MetricParams, enabled: boolean) {
  const queryKey = keys.metrics(p);
  return useQuery({
    queryKey,
    queryFn: fetchMetrics(p),
    enabled: enabled && !!p.metric,
    placeholderData: keepPreviousOf(queryKey, apartFromWindow),
  });
}

/** Metric names, paged by the API; pages accumulate ("more"). */
export function useListMetrics(r: Range, service: string, enabled = true) {
  return useInfiniteQuery({
    enabled,
    queryKey: keys.metricList(r, service),
    initialPageParam: '',
    queryFn: ({ signal, pageParam }) =>
      analytics.listMetrics(
        { timeRange: timeRange(r.startMs, r.endMs), serviceName: service, page: { pageSize: 200, pageToken: pageParam } },
        { signal },
      ),
    getNextPageParam: (last) => last.page?.nextPageToken || undefined,
  });
}

export function useTokens(enabled: boolean) {
  return useQuery({
    queryKey: keys.tokens(),
    queryFn: ({ signal }) => tokenClient.listTokens({}, { signal }),
    enabled,
  });
}

export function useMintToken() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (v: { description: string; ttlDays: number }) =>
      tokenClient.mintIngestToken({ description: v.description, ttlDays: v.ttlDays }),
    onSuccess: () => qc.invalidateQueries({ queryKey: keys.tokens() }),
  });
}

export function useRevokeToken() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (tokenId: string) => tokenClient.revokeToken({ tokenId }),
    onSuccess: () => qc.invalidateQueries({ queryKey: keys.tokens() }),
  });
}

function aiopsPoints(s: SeriesPoints) {
  return s.timesMs.map((ms, i) => ({ timeUnixNano: msToNanos(ms), value: s.values[i]! }));
}

// One result per series, the same array until one of them changes, so that
// what is drawn from them is computed again only then.
const eachResult = <T>(results: UseQueryResult<T>[]) => results;

/**
 * Anomaly scores of each series, one ScoreSeries call each. The detector
 * starts fresh on every call: send the look-back too (lib/insights).
 */
export function useScoreSeries(series: readonly SeriesPoints[]) {
  return useQueries({
    queries: series.map((s) => {
      const queryKey = keys.scoreSeries(s);
      return {
        queryKey,
        queryFn: ({ signal }: { signal: AbortSignal }) => aiops.scoreSeries({ points: aiopsPoints(s) }, { signal }),
        placeholderData: keepPreviousOf(queryKey, (k) => k[2]),
        // The same points always score the same.
        staleTime: Infinity,
      };
    }),
    combine: eachResult,
  });
}

/** `horizon` steps of each series predicted, one Forecast call each; it needs at least 10 points. */
export function useForecast(series: readonly SeriesPoints[], horizon: number) {
  return useQueries({
    queries: series.map((s) => {
      const queryKey = keys.forecast(s, horizon);
      return {
        queryKey,
        queryFn: ({ signal }: { signal: AbortSignal }) => aiops.forecast({ points: aiopsPoints(s), horizon }, { signal }),
        placeholderData: keepPreviousOf(queryKey, (k) => k[2]),
        // The same history always gives the same forecast.
        staleTime: Infinity,
      };
    }),
    combine: eachResult,
  });
}

export interface AnomalyParams extends Range, AnomalyFilterInput {
  pageToken?: string;
  /** 0: the API's 100; at most 1,000. */
  pageSize?: number;
}

function fetchAnomalies(p: AnomalyParams) {
  return ({ signal }: { signal: AbortSignal }) =>
    aiops.listAnomalies(
      {
        timeRange: timeRange(p.startMs, p.endMs),
        filter: toAnomalyFilter(p),
        page: { pageSize: p.pageSize ?? 0, pageToken: p.pageToken ?? '' },
      },
      { signal },
    );
}

/** Anomalies that continuous detection stored in a time range, newest first, paged. */
export function useListAnomalies(p: AnomalyParams) {
  return useQuery({ queryKey: keys.anomalies(p), queryFn: fetchAnomalies(p), placeholderData: keepPreviousData });
}

/**
 * The stored anomalies of one series over a chart's window, to mark on
 * it. While it reloads, the previous answer stays only if it was for the
 * same series over another window: another series' must not be drawn.
 */
export function useSeriesAnomalies(p: AnomalyParams, enabled: boolean) {
  const queryKey = keys.anomalies(p);
  return useQuery({ queryKey, queryFn: fetchAnomalies(p), enabled, placeholderData: keepPreviousOf(queryKey, apartFromWindow) });
}

/** WatchAnomalies sends a message at least every 30 s: a stream silent for longer is dead. */
const WATCH_SILENCE_MS = 75_000;
/** A stream open this long before it ended was fine (a proxy's limit ended it): reopened at once. */
const WATCH_HEALTHY_MS = 20_000;

export interface WatchState {
  /** The last failure, until a message arrives again; null while all is well. */
  error: unknown;
  /** Retrying cannot help (a refused filter, a missing role): the stream stays closed. */
  stopped: boolean;
}

const WATCH_OK: WatchState = { error: null, stopped: false };

/**
 * WatchAnomalies while `enabled`: every batch of newly stored anomalies
 * matching `f` goes to `on.anomalies`. A stream that fails or falls silent
 * is reopened with backoff, one that a proxy ended after a healthy while
 * at once (api/stream). Anomalies stored between two streams are sent by
 * neither: `on.reconnected` runs when a reopened stream answers, for the
 * caller to list them again. Closed on unmount, when disabled and when the
 * filter changes.
 */
export function useWatchAnomalies(
  f: AnomalyFilterInput,
  enabled: boolean,
  on: { anomalies: (batch: Anomaly[]) => void; reconnected: () => void },
): WatchState {
  const filterKey = JSON.stringify(f);
  const [state, setState] = useState<WatchState & { key: string }>({ ...WATCH_OK, key: filterKey });
  const cb = useRef(on);
  useEffect(() => {
    cb.current = on;
  });

  useEffect(() => {
    if (!enabled) return;
    const filter = toAnomalyFilter(JSON.parse(filterKey) as AnomalyFilterInput);
    const stop = new AbortController();
    const set = (s: WatchState) => {
      if (!stop.signal.aborted) setState({ ...s, key: filterKey });
    };
    void keepOpen(
      (signal) => aiops.watchAnomalies({ filter }, { signal }),
      {
        message: (res) => {
          if (res.anomalies.length > 0) cb.current.anomalies(res.anomalies);
        },
        answered: (reopened) => {
          set(WATCH_OK);
          if (reopened) cb.current.reconnected();
        },
        failed: (error, stopped) => set({ error, stopped }),
      },
      stop.signal,
      { silenceMs: WATCH_SILENCE_MS, healthyMs: WATCH_HEALTHY_MS },
    );
    return () => {
      stop.abort();
      // Opened again later, the stream starts without the old failure.
      setState({ ...WATCH_OK, key: filterKey });
    };
  }, [enabled, filterKey]);

  return enabled && state.key === filterKey ? state : WATCH_OK;
}
