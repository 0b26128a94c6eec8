// Number, duration and date formatting with Intl in the current locale.
// Values are shown as the API returns them: formatting never recomputes.
import type { DurationUnit } from './time';

let locale = 'en';
export function setFormatLocale(l: string): void {
  locale = l;
}
export function formatLocale(): string {
  return locale;
}

// Building an Intl.NumberFormat costs tens of microseconds: a waterfall
// formats hundreds of durations per scroll frame. One per locale and options.
const numberFormats = new Map<string, Intl.NumberFormat>();
function numberFormat(options?: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = `${locale}|${JSON.stringify(options ?? {})}`;
  let nf = numberFormats.get(key);
  if (!nf) {
    nf = new Intl.NumberFormat(locale, options);
    numberFormats.set(key, nf);
  }
  return nf;
}

/**
 * A latency in nanoseconds as "850 µs", "12.3 ms", "1.24 s"; seconds and
 * up in the words formatInterval uses, so one page never mixes "1.24 s"
 * with "2분 5초": "1.24초", "2분 5초" in Korean. Below a second the SI
 * symbols (ns, µs, ms) in every language.
 */
export function formatDurationNanos(nanos: bigint | number): string {
  const ns = typeof nanos === 'bigint' ? Number(nanos) : nanos;
  if (!Number.isFinite(ns)) return '–';
  const abs = Math.abs(ns);
  const nf = (v: number, digits: number) =>
    numberFormat({ maximumFractionDigits: digits }).format(v);
  if (abs < 1_000) return `${nf(ns, 0)} ns`;
  if (abs < 1_000_000) return `${nf(ns / 1_000, abs < 10_000 ? 1 : 0)} µs`;
  if (abs < 1_000_000_000) return `${nf(ns / 1_000_000, abs < 10_000_000 ? 2 : abs < 100_000_000 ? 1 : 0)} ms`;
  if (abs < 60_000_000_000) return shortUnit(ns / 1_000_000_000, 'second', 2);
  return (ns < 0 ? '-' : '') + unitParts(Math.round(abs / 1_000_000_000), 2);
}

type ClockUnit = 'day' | 'hour' | 'minute' | 'second';
const CLOCK_UNITS: [ClockUnit, number][] = [
  ['day', 86_400],
  ['hour', 3_600],
  ['minute', 60],
  ['second', 1],
];

// English UIs write unit symbols (10 s, 5 min, 1 h, 2 d), where Intl's short
// English forms are "sec" and "hr"; elsewhere Intl's short forms read right
// (Korean: 10초, 5분, 1시간, 2일).
const EN_SYMBOLS: Record<ClockUnit, string> = { day: 'd', hour: 'h', minute: 'min', second: 's' };

function shortUnit(n: number, unit: ClockUnit, maximumFractionDigits = 0): string {
  if (locale.startsWith('en')) return `${numberFormat({ maximumFractionDigits }).format(n)} ${EN_SYMBOLS[unit]}`;
  return numberFormat({ style: 'unit', unit, unitDisplay: 'short', maximumFractionDigits }).format(n);
}

/** Whole seconds in days, hours, minutes and seconds, the `most` largest from the first that is not zero. */
function unitParts(seconds: number, most: number): string {
  const first = CLOCK_UNITS.findIndex(([, s]) => seconds >= s);
  if (first < 0) return shortUnit(0, 'second');
  let rest = seconds;
  const parts: string[] = [];
  for (const [unit, s] of CLOCK_UNITS.slice(first, first + most)) {
    const n = Math.floor(rest / s);
    rest -= n * s;
    if (n > 0) parts.push(shortUnit(n, unit));
  }
  return parts.join(' ');
}

/**
 * An interval (auto-refresh, a chart step) in words of the language:
 * "10 s", "1 min 30 s", "1 h" in English, "10초", "1분 30초", "1시간" in Korean;
 * none at all is "0 s", "0초".
 */
export function formatInterval(ms: number): string {
  if (ms > 0 && ms < 1000) return formatDurationMs(ms);
  return unitParts(Math.round(ms / 1000), CLOCK_UNITS.length);
}

/** A span of time in full words, as in "Last 15 minutes" / "최근 15분". */
export function formatSpan(count: number, unit: DurationUnit): string {
  return numberFormat({ style: 'unit', unit, unitDisplay: 'long' }).format(count);
}

export function formatDurationMs(ms: number): string {
  return formatDurationNanos(ms * 1_000_000);
}

/** A ratio in [0, 1] as a percentage: 0.0123 → "1.23%". */
export function formatPercent(ratio: number): string {
  const digits = ratio === 0 ? 0 : ratio < 0.001 ? 3 : 2;
  return numberFormat({
    style: 'percent',
    maximumFractionDigits: digits,
    minimumFractionDigits: 0,
  }).format(ratio);
}

/**
 * A relative change (0.2 is 20 % more) with its sign: "+20%", "−3.5%",
 * "0%"; whole percents from 10 % on, one decimal below.
 */
export function formatSignedPercent(ratio: number): string {
  if (!Number.isFinite(ratio)) return '–';
  const digits = Math.abs(ratio) >= 0.1 ? 0 : 1;
  return numberFormat({ style: 'percent', maximumFractionDigits: digits, signDisplay: 'exceptZero' }).format(ratio);
}

/** Requests per second: "12.4/s". */
export function formatRate(perSecond: number): string {
  const digits = perSecond >= 100 ? 0 : perSecond >= 1 ? 2 : 3;
  return `${numberFormat({ maximumFractionDigits: digits }).format(perSecond)}/s`;
}

export function formatCount(n: bigint | number): string {
  return numberFormat().format(n);
}

/** An anomaly score or a pattern's strength, in [0, 1]: "0.73". */
export function formatScore(v: number): string {
  return numberFormat({ minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(v);
}

/** Compact number for axes: 1.2K, 3.4M (locale aware, e.g. 1.2천 in Korean). */
export function formatCompact(n: number): string {
  const abs = Math.abs(n);
  if (abs < 1000) {
    return numberFormat({ maximumFractionDigits: abs < 1 ? 3 : abs < 10 ? 2 : 1 }).format(n);
  }
  return numberFormat({ notation: 'compact', maximumFractionDigits: 1 }).format(n);
}

/** A value with an OTel/UCUM unit: "ms", "s", "By", "1", "{request}". */
export function formatWithUnit(value: number, unit: string): string {
  if (!Number.isFinite(value)) return '–';
  switch (unit) {
    case 'ms':
      return formatDurationMs(value);
    case 's':
      return formatDurationMs(value * 1000);
    case 'us':
    case 'µs':
      return formatDurationNanos(value * 1000);
    case 'ns':
      return formatDurationNanos(value);
    case 'By':
      return formatBytes(value);
    default: {
      const n = numberFormat({ maximumFractionDigits: Math.abs(value) < 10 ? 3 : 1 }).format(value);
      const u = unit && unit !== '1' ? ' ' + unit.replace(/^\{(.*)\}$/, '$1') : '';
      return n + u;
    }
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${numberFormat({ maximumFractionDigits: 1 }).format(v)} ${units[i]}`;
}

/** Date and time with seconds (and milliseconds with `withMs`), in the browser's zone. */
export function formatDateTime(ms: number, withMs = false): string {
  return new Intl.DateTimeFormat(locale, {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    ...(withMs ? { fractionalSecondDigits: 3 } : {}),
    hourCycle: 'h23',
  }).format(ms);
}

/**
 * The two ends of a time range: the end without its date when it is the
 * start's day, milliseconds when either end has them (a brushed window of
 * a second must not read "10:00:05 – 10:00:05").
 */
export function formatRangeEnds(startMs: number, endMs: number): [string, string] {
  const withMs = startMs % 1000 !== 0 || endMs % 1000 !== 0;
  const sameDay = new Date(startMs).toDateString() === new Date(endMs).toDateString();
  const end = sameDay
    ? new Intl.DateTimeFormat(locale, {
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        ...(withMs ? { fractionalSecondDigits: 3 } : {}),
        hourCycle: 'h23',
      }).format(endMs)
    : formatDateTime(endMs, withMs);
  return [formatDateTime(startMs, withMs), end];
}

/** Time with milliseconds, for log lines and spans. */
export function formatTimeMs(ms: number): string {
  return new Intl.DateTimeFormat(locale, {
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    fractionalSecondDigits: 3,
    hourCycle: 'h23',
  }).format(ms);
}

export function formatTime(ms: number): string {
  return new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(ms);
}

export function formatShortDateTime(ms: number): string {
  return new Intl.DateTimeFormat(locale, { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(ms);
}
