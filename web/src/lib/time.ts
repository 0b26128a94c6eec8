// Time ranges as they appear in the URL: `from`/`to` are relative
// expressions (`now`, `now-15m`, `now-2d`), epoch milliseconds (what the UI
// writes), epoch seconds (what other tools and scripts paste) or ISO 8601
// times with an explicit offset (`2026-01-31T10:00:05+09:00`). The time
// picker's inputs take the same, and wall times in the browser's zone
// (`2026-01-31 10:00:05`), which a link must not carry: it would mean
// another instant in another zone.

export const RELATIVE_PRESETS = ['5m', '15m', '1h', '3h', '6h', '12h', '24h', '2d'] as const;
export type Preset = (typeof RELATIVE_PRESETS)[number];

export const DEFAULT_FROM = 'now-15m';
export const DEFAULT_TO = 'now';

export type DurationUnit = 'second' | 'minute' | 'hour' | 'day' | 'week';

const UNITS: Record<string, { unit: DurationUnit; ms: number }> = {
  s: { unit: 'second', ms: 1000 },
  m: { unit: 'minute', ms: 60_000 },
  h: { unit: 'hour', ms: 3_600_000 },
  d: { unit: 'day', ms: 86_400_000 },
  w: { unit: 'week', ms: 604_800_000 },
};

/** "15m" → 15 minutes, as written (24h stays 24 hours, not 1 day); null when malformed. */
export function parseSpan(text: string): { count: number; unit: DurationUnit; ms: number } | null {
  const m = /^(\d+)([smhdw])$/.exec(text.trim());
  if (!m) return null;
  const u = UNITS[m[2]!]!;
  const count = Number(m[1]);
  return { count, unit: u.unit, ms: count * u.ms };
}

/** Parses "15m", "2d" into milliseconds; null when malformed. */
export function parseDuration(text: string): number | null {
  return parseSpan(text)?.ms ?? null;
}

/**
 * Epoch seconds below this, milliseconds from it: as seconds it is the year
 * 5138, as milliseconds 1973, so neither reading of a real value is lost.
 */
const EPOCH_MS_FROM = 1e11;

/** "1769821205" (seconds) or "1769821205000" (ms), optionally with a fraction. */
function parseEpoch(text: string): number | null {
  if (!/^\d{10,16}(\.\d+)?$/.test(text)) return null;
  const n = Number(text);
  return Math.round(n < EPOCH_MS_FROM ? n * 1000 : n);
}

// Date, time to the minute, optional seconds and fraction, optional offset.
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * An ISO-like date and time; with `local`, one without offset is read in the
 * browser's zone. Out-of-range fields (February 31, 24:00) are refused
 * rather than rolled over into another day.
 */
function parseDateTime(text: string, local: boolean): number | null {
  const m = DATE_TIME.exec(text);
  if (!m) return null;
  const field = (i: number) => Number(m[i] ?? '0');
  const [y, mo, d, h, mi, s] = [field(1), field(2), field(3), field(4), field(5), field(6)];
  const frac = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const offset = m[8];
  if (h > 23 || mi > 59 || s > 59) return null;
  const wall = Date.UTC(y, mo - 1, d, h, mi, s, frac);
  const check = new Date(wall);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null;
  if (!offset) return local ? new Date(y, mo - 1, d, h, mi, s, frac).getTime() : null;
  if (offset.toUpperCase() === 'Z') return wall;
  const sign = offset.startsWith('-') ? -1 : 1;
  const digits = offset.slice(1).replace(':', '');
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
  return wall - sign * minutes * 60_000;
}

/** Resolves one URL time value against `now` (epoch ms). */
export function resolveTimeExpr(value: string, now: number): number | null {
  const v = value.trim();
  if (v === 'now') return now;
  const rel = /^now-(\d+[smhdw])$/.exec(v);
  if (rel) {
    const d = parseDuration(rel[1]!);
    return d === null ? null : now - d;
  }
  return parseEpoch(v) ?? parseDateTime(v, false);
}

/**
 * What someone typed into a time input: its value for the URL (relative
 * expressions as typed so the range keeps following now, absolute times as
 * epoch ms) and the instant it means now. Null when it is not a time.
 */
export function parseTimeInput(text: string, now: number): { value: string; ms: number } | null {
  const v = text.trim();
  if (/^now(-\d+[smhdw])?$/.test(v)) return { value: v, ms: resolveTimeExpr(v, now)! };
  const ms = parseEpoch(v) ?? parseDateTime(v, true);
  return ms === null ? null : { value: String(ms), ms };
}

export type RangeInputError = 'from' | 'to' | 'order';

/**
 * The picker's two inputs as a URL range, or what is wrong with them: a
 * side that is not a time, or a start that is not before the end (an empty
 * range shows nothing).
 */
export function parseRangeInput(
  fromText: string,
  toText: string,
  now: number,
): { from: string; to: string } | { errors: RangeInputError[] } {
  const from = parseTimeInput(fromText, now);
  const to = parseTimeInput(toText, now);
  if (!from || !to) return { errors: [...(from ? [] : ['from' as const]), ...(to ? [] : ['to' as const])] };
  if (from.ms >= to.ms) return { errors: ['order'] };
  return { from: from.value, to: to.value };
}

export interface ResolvedRange {
  startMs: number;
  endMs: number;
}

/** Why a URL range cannot be shown: a side is not a time, or it starts at or after its end. */
export function rangeProblem(from: string | null, to: string | null, now: number): 'invalid' | 'order' | null {
  const s = resolveTimeExpr(from ?? DEFAULT_FROM, now);
  const e = resolveTimeExpr(to ?? DEFAULT_TO, now);
  if (s === null || e === null) return 'invalid';
  return s >= e ? 'order' : null;
}

/**
 * Resolves a URL range; falls back to the default range when either side is
 * malformed or the range is empty/inverted (`rangeProblem` says which).
 */
export function resolveRange(from: string | null, to: string | null, now: number): ResolvedRange {
  if (rangeProblem(from, to, now)) return { startMs: resolveTimeExpr(DEFAULT_FROM, now)!, endMs: now };
  return { startMs: resolveTimeExpr(from ?? DEFAULT_FROM, now)!, endMs: resolveTimeExpr(to ?? DEFAULT_TO, now)! };
}

/** Whether the range follows "now" (so auto-refresh moves it). */
export function isRelative(from: string | null, to: string | null): boolean {
  return (from ?? DEFAULT_FROM).startsWith('now') && (to ?? DEFAULT_TO).startsWith('now');
}

/** "now-7m" → "now": the last 7 minutes, in the unit written; null for other ranges. */
export function relativeSpan(from: string | null, to: string | null): { count: number; unit: DurationUnit } | null {
  if ((to ?? DEFAULT_TO) !== 'now') return null;
  const f = from ?? DEFAULT_FROM;
  const span = f.startsWith('now-') ? parseSpan(f.slice(4)) : null;
  return span && span.count > 0 ? { count: span.count, unit: span.unit } : null;
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

/** The browser's time zone, e.g. "Asia/Seoul". */
export function browserZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC';
}

/** The browser's time zone with its current UTC offset, e.g. "Asia/Seoul (UTC+9)". */
export function timeZoneLabel(date = new Date(), tz?: string): string {
  const zone = tz ?? browserZone();
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

/**
 * An instant as the picker's inputs show it, in the browser's zone:
 * "2026-01-31 10:00:05", with ".123" when it has milliseconds, so a
 * sub-minute (or sub-second) range reopens as it was.
 */
export function formatTimeInput(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const frac = d.getMilliseconds() ? `.${pad(d.getMilliseconds(), 3)}` : '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${frac}`;
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
