// Number, duration and date formatting with Intl in the current locale.
// Values are shown as the API returns them: formatting never recomputes.

let locale = 'en';
export function setFormatLocale(l: string): void {
  locale = l;
}
export function formatLocale(): string {
  return locale;
}

/** A duration in nanoseconds as "850 µs", "12.3 ms", "1.24 s", "2m 5s". */
export function formatDurationNanos(nanos: bigint | number): string {
  const ns = typeof nanos === 'bigint' ? Number(nanos) : nanos;
  if (!Number.isFinite(ns)) return '–';
  const abs = Math.abs(ns);
  const nf = (v: number, digits: number) =>
    new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(v);
  if (abs < 1_000) return `${nf(ns, 0)} ns`;
  if (abs < 1_000_000) return `${nf(ns / 1_000, abs < 10_000 ? 1 : 0)} µs`;
  if (abs < 1_000_000_000) return `${nf(ns / 1_000_000, abs < 10_000_000 ? 2 : abs < 100_000_000 ? 1 : 0)} ms`;
  if (abs < 60_000_000_000) return `${nf(ns / 1_000_000_000, 2)} s`;
  const totalS = Math.round(ns / 1_000_000_000);
  const m = Math.floor(totalS / 60);
  const s = totalS % 60;
  if (m < 60) return `${m}m ${s}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

export function formatDurationMs(ms: number): string {
  return formatDurationNanos(ms * 1_000_000);
}

/** A ratio in [0, 1] as a percentage: 0.0123 → "1.23%". */
export function formatPercent(ratio: number): string {
  const digits = ratio === 0 ? 0 : ratio < 0.001 ? 3 : 2;
  return new Intl.NumberFormat(locale, {
    style: 'percent',
    maximumFractionDigits: digits,
    minimumFractionDigits: 0,
  }).format(ratio);
}

/** Requests per second: "12.4/s". */
export function formatRate(perSecond: number): string {
  const digits = perSecond >= 100 ? 0 : perSecond >= 1 ? 2 : 3;
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(perSecond)}/s`;
}

export function formatCount(n: bigint | number): string {
  return new Intl.NumberFormat(locale).format(n);
}

/** Compact number for axes: 1.2K, 3.4M (locale aware, e.g. 1.2천 in Korean). */
export function formatCompact(n: number): string {
  const abs = Math.abs(n);
  if (abs < 1000) {
    return new Intl.NumberFormat(locale, { maximumFractionDigits: abs < 1 ? 3 : abs < 10 ? 2 : 1 }).format(n);
  }
  return new Intl.NumberFormat(locale, { notation: 'compact', maximumFractionDigits: 1 }).format(n);
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
      const n = new Intl.NumberFormat(locale, { maximumFractionDigits: Math.abs(value) < 10 ? 3 : 1 }).format(value);
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
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }).format(v)} ${units[i]}`;
}

/** Date and time with seconds, in the browser's zone. */
export function formatDateTime(ms: number): string {
  return new Intl.DateTimeFormat(locale, {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).format(ms);
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
