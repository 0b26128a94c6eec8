// The page's time range, resolved once per render pass and shared by every
// panel so they all ask about the same window. Relative ranges move on
// auto-refresh ticks and on "refresh".
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useLocation } from 'react-router';
import { DEFAULT_FROM, DEFAULT_TO, isRelative, parseDuration, rangeProblem, resolveRange, type ResolvedRange } from '../lib/time';
import { useUrlState } from './urlState';

export const REFRESH_OPTIONS = ['off', '10s', '30s', '1m', '5m'] as const;
export type RefreshOption = (typeof REFRESH_OPTIONS)[number];

export interface TimeRangeValue extends ResolvedRange {
  /** The range shown, as in the URL: the default when the URL's cannot be shown. */
  from: string;
  to: string;
  refresh: RefreshOption;
  relative: boolean;
  /** Why the URL's range is not the one shown (the default is, instead). */
  problem: 'invalid' | 'order' | null;
  setRange(from: string, to: string): void;
  /** Zoom to an absolute window (brush on a chart). */
  zoom(startMs: number, endMs: number): void;
  setRefresh(r: RefreshOption): void;
  reload(): void;
}

const Ctx = createContext<TimeRangeValue | null>(null);

export function TimeRangeProvider({ children }: { children: ReactNode }) {
  const [params, update] = useUrlState();
  const urlFrom = params.get('from') ?? DEFAULT_FROM;
  const urlTo = params.get('to') ?? DEFAULT_TO;
  // A range the page cannot show (a side is not a time, or it starts at or
  // after its end) is replaced by the default, and `problem` says why.
  const problem = rangeProblem(urlFrom, urlTo, Date.now());
  const from = problem ? DEFAULT_FROM : urlFrom;
  const to = problem ? DEFAULT_TO : urlTo;
  const refreshParam = params.get('refresh');
  const refresh: RefreshOption = (REFRESH_OPTIONS as readonly string[]).includes(refreshParam ?? '')
    ? (refreshParam as RefreshOption)
    : 'off';
  const relative = isRelative(from, to);
  const [tick, setTick] = useState(0);
  // Opening another page resolves "now" anew; staying on a page (selecting
  // a span or an edge) keeps the window, so panels do not refetch.
  const { pathname } = useLocation();

  // Rounded to whole seconds so that panels rendering together share keys.
  const resolved = useMemo(() => {
    void tick;
    void pathname;
    const now = Math.floor(Date.now() / 1000) * 1000;
    return resolveRange(from, to, now);
  }, [from, to, tick, pathname]);

  useEffect(() => {
    if (refresh === 'off' || !relative) return;
    const ms = parseDuration(refresh);
    if (!ms) return;
    const id = setInterval(() => setTick((t) => t + 1), ms);
    return () => clearInterval(id);
  }, [refresh, relative]);

  const setRange = useCallback((f: string, t: string) => update({ from: f, to: t }), [update]);
  const zoom = useCallback(
    (s: number, e: number) => update({ from: String(Math.floor(s)), to: String(Math.ceil(e)) }),
    [update],
  );
  const setRefresh = useCallback((r: RefreshOption) => update({ refresh: r === 'off' ? null : r }, { replace: true }), [update]);
  const reload = useCallback(() => setTick((t) => t + 1), []);

  const value = useMemo<TimeRangeValue>(
    () => ({ ...resolved, from, to, problem, refresh, relative, setRange, zoom, setRefresh, reload }),
    [resolved, from, to, problem, refresh, relative, setRange, zoom, setRefresh, reload],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useTimeRange(): TimeRangeValue {
  const v = useContext(Ctx);
  if (!v) throw new Error('useTimeRange outside TimeRangeProvider');
  return v;
}
