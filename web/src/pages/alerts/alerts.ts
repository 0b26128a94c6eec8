// The alerts stored rules raised (ListAlerts) as the Alerts page shows
// them: the state filter of the URL, an alert's state, labels and
// annotations in order, its value in the unit of what it watches, and how
// long it has been firing.
import type { TFunction } from 'i18next';
import { AlertState, type Alert } from '../../gen/airis/aiops/v1/alert_pb';
import { formatCompact, formatDurationMs, formatPercent, formatRate } from '../../lib/format';
import { nanosToMs } from '../../lib/time';
import { roughly } from './silences';

export const ALERT_STATES = ['firing', 'pending', 'resolved'] as const;
export type AlertStateName = (typeof ALERT_STATES)[number];

const STATE_PROTO: Record<AlertStateName, AlertState> = {
  firing: AlertState.FIRING,
  pending: AlertState.PENDING,
  resolved: AlertState.RESOLVED,
};

export const alertStateProto = (s: AlertStateName): AlertState => STATE_PROTO[s];

/** An alert's state by name; null for one this UI does not know. */
export function alertStateName(s: AlertState): AlertStateName | null {
  return ALERT_STATES.find((n) => STATE_PROTO[n] === s) ?? null;
}

/** The list's filter, as the URL's `state` says it: one state, all, or (absent) those still open. */
export const ALERT_FILTERS = ['open', 'firing', 'pending', 'resolved', 'all'] as const;
export type AlertFilter = (typeof ALERT_FILTERS)[number];

export function alertFilterOf(param: string | null): AlertFilter {
  return (ALERT_FILTERS as readonly string[]).includes(param ?? '') ? (param as AlertFilter) : 'open';
}

/** The states ListAlerts is asked for; none: all. */
export function alertStatesOf(filter: AlertFilter): AlertStateName[] {
  switch (filter) {
    case 'open':
      return ['firing', 'pending'];
    case 'all':
      return [];
    default:
      return [filter];
  }
}

/** The name of the rule that raised it (the `alertname` label). */
export const alertName = (a: Alert): string => a.episode?.labels['alertname'] ?? '';

/** Its labels by name, `alertname` left out (the rule's name says it). */
export function alertLabels(a: Alert): [string, string][] {
  const labels = a.episode?.labels ?? {};
  return Object.keys(labels)
    .filter((k) => k !== 'alertname')
    .sort()
    .map((k) => [k, labels[k]!]);
}

/** Annotations most read first: summary, description, then the others by name. */
const ANNOTATION_ORDER = ['summary', 'description'];

export function alertAnnotations(a: Alert): [string, string][] {
  const annotations = a.episode?.annotations ?? {};
  const rank = (k: string) => {
    const i = ANNOTATION_ORDER.indexOf(k);
    return i < 0 ? ANNOTATION_ORDER.length : i;
  };
  return Object.keys(annotations)
    .sort((x, y) => rank(x) - rank(y) || (x < y ? -1 : x > y ? 1 : 0))
    .map((k) => [k, annotations[k]!]);
}

/** One alert of a rule from its first active minute: what tells two apart. */
export const alertKey = (a: Alert): string => `${a.ruleId}@${a.episode?.activeUnixNano ?? 0n}`;

/**
 * The value judged, in the unit of the series its labels name (a RED
 * signal: request rate per second, error rate in %, latency in ms);
 * otherwise (a metric, an anomaly score, a burn rate) as a plain number.
 */
export function alertValueText(a: Alert): string {
  const value = a.episode?.value ?? 0;
  if (!Number.isFinite(value)) return '–';
  switch (a.episode?.labels['signal']) {
    case 'request_rate':
      return formatRate(value);
    case 'error_rate':
      return formatPercent(value);
    case 'latency_p50':
    case 'latency_p95':
    case 'latency_p99':
      return formatDurationMs(value);
    default:
      return formatCompact(value);
  }
}

/** Its times as epoch ms; null for what has not happened (fired, resolved). */
export function alertTimes(a: Alert): { activeMs: number; firedMs: number | null; resolvedMs: number | null } {
  const e = a.episode;
  return {
    activeMs: e ? nanosToMs(e.activeUnixNano) : 0,
    firedMs: e?.firedUnixNano ? nanosToMs(e.firedUnixNano) : null,
    resolvedMs: e?.resolvedUnixNano ? nanosToMs(e.resolvedUnixNano) : null,
  };
}

/**
 * How long, in words: "firing for 12 min", "pending for 2 min", "fired
 * for 7 min" (resolved), "resolved without firing".
 */
export function alertDurationText(a: Alert, now: number, t: TFunction): string {
  const { activeMs, firedMs, resolvedMs } = alertTimes(a);
  switch (alertStateName(a.state)) {
    case 'firing':
      return t('alertList.duration.firing', { duration: roughly(now - (firedMs ?? activeMs)) });
    case 'pending':
      return t('alertList.duration.pending', { duration: roughly(now - activeMs) });
    case 'resolved':
      return firedMs !== null
        ? t('alertList.duration.fired', { duration: roughly((resolvedMs ?? now) - firedMs) })
        : t('alertList.duration.neverFired');
    default:
      return '';
  }
}
