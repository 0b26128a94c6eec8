// Time ranges as they appear in the URL: `from`/`to` are either relative
// expressions (`now`, `now-15m`, `now-2d`) or absolute epoch milliseconds.

export const RELATIVE_PRESETS = ['5m', '15m', '1h', '3h', '6h', '12h', '24h', '2d'] as const;
export type Preset = (typeof RELATIVE_PRESETS)[number];

export const DEFAULT_FROM = 'now-15m';
export const DEFAULT_TO = 'now';

const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Parses "15m", "2d" into milliseconds; null when malformed. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+)([smhdw])$/.exec(text.trim());
  if (!m) return null;
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** Whether `value` is a valid `from`/`to` value. */
export function isValidTimeExpr(value: string): boolean {
  return resolveTimeExpr(value, 0) !== null;
}

/** Resolves one time expression against `now` (epoch ms). */
export function resolveTimeExpr(value: string, now: number): number | null {
  const v = value.trim();
  if (v === 'now') return now;
  const rel = /^now-(\d+[smhdw])$/.exec(v);
  if (rel) {
    const d = parseDuration(rel[1]!);
    return d === null ? null : now - d;
  }
  if (/^\d{10,16}$/.test(v)) return Number(v);
  return null;
}

export interface ResolvedRange {
  startMs: number;
  endMs: number;
}

/**
 * Resolves a URL range; falls back to the default range when either side is
 * malformed or the range is empty/inverted.
 */
export function resolveRange(from: string | null, to: string | null, now: number): ResolvedRange {
  const s = resolveTimeExpr(from ?? DEFAULT_FROM, now);
  const e = resolveTimeExpr(to ?? DEFAULT_TO, now);
  if (s === null || e === null || s >= e) {
    return { startMs: resolveTimeExpr(DEFAULT_FROM, now)!, endMs: now };
  }
  return { startMs: s, endMs: e };
}

/** Whether the range follows "now" (so auto-refresh moves it). */
export function isRelative(from: string | null, to: string | null): boolean {
  return (from ?? DEFAULT_FROM).startsWith('now') && (to ?? DEFAULT_TO).startsWith('now');
}

/** The preset matching `from`/`to`, if any. */
export function presetOf(from: string | null, to: string | null): Preset | null {
  if ((to ?? DEFAULT_TO) !== 'now') return null;
  const f = from ?? DEFAULT_FROM;
  const p = f.startsWith('now-') ? f.slice(4) : '';
  return (RELATIVE_PRESETS as readonly string[]).includes(p) ? (p as Preset) : null;
}

export function msToNanos(ms: number): bigint {
  return BigInt(Math.round(ms)) * 1_000_000n;
}

export function nanosToMs(nanos: bigint): number {
  return Number(nanos / 1000n) / 1000;
}

/** The browser's time zone with its current UTC offset, e.g. "Asia/Seoul (UTC+9)". */
export function timeZoneLabel(date = new Date(), tz?: string): string {
  const zone = tz ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC';
  return `${zone} (${utcOffsetLabel(date, zone)})`;
}

export function utcOffsetLabel(date: Date, zone: string): string {
  // The offset of `zone` at `date`: format the instant as wall time in that
  // zone and compare to UTC.
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(date);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  const minutes = Math.round((asUtc - Math.floor(date.getTime() / 1000) * 1000) / 60_000);
  if (minutes === 0) return 'UTC';
  const sign = minutes > 0 ? '+' : '-';
  const abs = Math.abs(minutes);
  const h = Math.floor(abs / 60);
  const m = abs % 60;
  return `UTC${sign}${h}${m ? ':' + String(m).padStart(2, '0') : ''}`;
}

/** Value for <input type="datetime-local"> in the browser's zone. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Parses a datetime-local value (browser zone) into epoch ms. */
export function fromLocalInput(value: string): number | null {
  if (!value) return null;
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms : null;
}

/**
 * ServiceMap and ServiceOverview work in whole minutes: the range is widened
 * to the minutes it touches. The seconds actually covered, for per-second
 * figures derived from their counts.
 */
export function widenedToMinutesSeconds(startMs: number, endMs: number): number {
  const s = Math.floor(startMs / 60_000) * 60_000;
  const e = Math.ceil(endMs / 60_000) * 60_000;
  return Math.max(60, (e - s) / 1000);
}
