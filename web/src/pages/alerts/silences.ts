// Silences as the editor holds them (times and durations as typed), checked
// as the alert service checks them, converted to and from Silence; matchers
// in Alertmanager's text form (`name="value"`, `name=~"re"`), as links carry
// them; a silence's state and times in words.
import { create } from '@bufbuild/protobuf';
import type { TFunction } from 'i18next';
import { LabelMatcherSchema, MatchOperator, SilenceSchema, SilenceState, type LabelMatcher, type Silence } from '../../gen/airis/aiops/v1/alert_pb';
import { formatInterval, formatLocale } from '../../lib/format';
import { msToNanos, nanosToMs, parseTimeInput } from '../../lib/time';
import { NAME_RE, closestField, type Problems } from './fields';

// === limits: the alert service's (services/aiops/src/alert/silence.rs) ===

export const MAX_MATCHERS = 64;
export const MAX_VALUE_BYTES = 1_024;
export const MAX_CREATED_BY_CHARS = 200;
export const MAX_COMMENT_BYTES = 4_096;

// === matchers ===

export const MATCH_OPS = ['=', '!=', '=~', '!~'] as const;
export type MatchOp = (typeof MATCH_OPS)[number];

const OP_PROTO: Record<MatchOp, MatchOperator> = {
  '=': MatchOperator.EQUAL,
  '!=': MatchOperator.NOT_EQUAL,
  '=~': MatchOperator.REGEX,
  '!~': MatchOperator.NOT_REGEX,
};

export function opOf(op: MatchOperator): MatchOp | null {
  return MATCH_OPS.find((o) => OP_PROTO[o] === op) ?? null;
}

export const isMatchOp = (v: string): v is MatchOp => (MATCH_OPS as readonly string[]).includes(v);

export interface MatcherForm {
  name: string;
  op: MatchOp;
  value: string;
}

/** A label name, as Prometheus has them. */

/** A value quoted as PromQL and Alertmanager quote it: `"a \"b\""`. */
export function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** `alertname="slow"`, `service_name=~"pay.*"`. */
export function formatMatcher(m: { name: string; op: MatchOp; value: string }): string {
  return `${m.name}${m.op}${quote(m.value)}`;
}

/** A stored matcher as text; an unknown operator shows as `?`. */
export function matcherText(m: LabelMatcher): string {
  const op = opOf(m.operator);
  return op ? formatMatcher({ name: m.name, op, value: m.value }) : `${m.name}?${quote(m.value)}`;
}

/** Every matcher of a silence, as text, in order: `alertname="slow", service_name=~"pay.*"`. */
export function matchersText(s: Silence): string {
  return s.matchers.map(matcherText).join(', ');
}

/**
 * One matcher as a link or a person writes it: `name="value"` (escapes
 * `\"`, `\\`, `\n` inside the quotes) or unquoted `name=value`, with any
 * of the four operators; spaces around the operator are allowed. Null
 * when it is none.
 */
export function parseMatcher(text: string): MatcherForm | null {
  const m = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/s.exec(text);
  if (!m) return null;
  const [, name, op, raw] = m as unknown as [string, string, MatchOp, string];
  if (!raw.startsWith('"')) return raw.includes('"') ? null : { name, op, value: raw };
  if (raw.length < 2 || !raw.endsWith('"')) return null;
  let value = '';
  const inner = raw.slice(1, -1);
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]!;
    if (c === '"') return null;
    if (c !== '\\') {
      value += c;
      continue;
    }
    const next = inner[++i];
    if (next === undefined) return null;
    value += next === 'n' ? '\n' : next === 't' ? '\t' : next;
  }
  return { name, op, value };
}

/**
 * Whether an RE2 expression, anchored at both ends, matches the empty
 * value; null when the browser's engine cannot read it (RE2 syntax it
 * lacks), which leaves the verdict to the service.
 */
export function regexMatchesEmpty(re: string): boolean | null {
  let source = re;
  let flags = 'u';
  // RE2's leading flag group, which JavaScript takes as flags.
  const lead = /^\(\?([imsU]+)\)/.exec(source);
  if (lead) {
    if (lead[1]!.includes('U')) return null;
    flags += [...new Set(lead[1]!)].join('');
    source = source.slice(lead[0].length);
  }
  try {
    return new RegExp(`^(?:${source.replace(/\(\?P</g, '(?<')})$`, flags).test('');
  } catch {
    return null;
  }
}

/** Whether a matcher passes an alert that lacks its label (the empty value); null when unknown. */
export function matchesEmpty(m: MatcherForm): boolean | null {
  switch (m.op) {
    case '=':
      return m.value === '';
    case '!=':
      return m.value !== '';
    case '=~':
      return regexMatchesEmpty(m.value);
    case '!~': {
      const r = regexMatchesEmpty(m.value);
      return r === null ? null : !r;
    }
  }
}

// === durations, Alertmanager's way: 2h, 1d12h, 1w ===

const DURATION_UNITS: [string, number][] = [
  ['w', 604_800_000],
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
];

/** "2h", "1d 12h", "90m", "1w2d" in milliseconds; null when malformed or zero. */
export function parseSilenceDuration(text: string): number | null {
  const v = text.trim().toLowerCase();
  if (!/^(\d+\s*[wdhms]\s*)+$/.test(v)) return null;
  let ms = 0;
  for (const m of v.matchAll(/(\d+)\s*([wdhms])/g)) ms += Number(m[1]) * DURATION_UNITS.find(([u]) => u === m[2])![1];
  return ms > 0 && Number.isSafeInteger(ms) ? ms : null;
}

/** Milliseconds as parseSilenceDuration reads them, to the second: "1w1d", "1h30m", "45s". */
export function formatSilenceDuration(ms: number): string {
  let rest = Math.max(0, Math.round(ms / 1000)) * 1000;
  if (rest === 0) return '0s';
  let out = '';
  for (const [unit, size] of DURATION_UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

/** The quick choices of the editor. */
export const QUICK_DURATIONS = ['1h', '2h', '4h', '1d', '1w'] as const;
export const DEFAULT_DURATION = '2h';

// === times as typed ===

/** An instant as the time fields show it, in the browser's zone: "2026-01-31 10:00", with seconds when it has them. */
export function formatWallTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  const secs = d.getSeconds() || d.getMilliseconds() ? `:${pad(d.getSeconds())}` : '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}${secs}`;
}

/** A typed time ("now", "2026-01-31 10:00" in the browser's zone, ISO with an offset, epoch) at `now`; null when none. */
export function parseWallTime(text: string, now: number): number | null {
  const v = text.trim();
  if (v === '') return null;
  return parseTimeInput(v, now)?.ms ?? null;
}

// === the form ===

/**
 * A silence being edited. The end is given either by a duration from the
 * start or as a time (`endBy`): the other field shows what follows from it.
 */
export interface SilenceForm {
  /** '' for a new silence. */
  id: string;
  /** The version read, as digits; '' for a new silence. */
  version: string;
  matchers: MatcherForm[];
  /** As typed; "now" for a new silence. */
  start: string;
  duration: string;
  end: string;
  endBy: 'duration' | 'end';
  createdBy: string;
  comment: string;
  /** A stored silence's times, to send unchanged while the fields still show them. */
  stored?: { start: string; end: string; startNanos: bigint; endNanos: bigint; matchers: MatcherForm[] };
}

export const blankMatcher = (): MatcherForm => ({ name: '', op: '=', value: '' });
/** A row left empty: not sent. */
export const isBlank = (m: MatcherForm) => !m.name.trim() && !m.value;

/** A new silence from now, for DEFAULT_DURATION; `matchers` and `comment` to start from (a link, a silence recreated). */
export function newSilenceForm(init: { matchers?: MatcherForm[]; comment?: string; createdBy?: string } = {}): SilenceForm {
  return {
    id: '',
    version: '',
    matchers: init.matchers?.length ? init.matchers.map((m) => ({ ...m })) : [blankMatcher()],
    start: 'now',
    duration: DEFAULT_DURATION,
    end: '',
    endBy: 'duration',
    createdBy: init.createdBy ?? '',
    comment: init.comment ?? '',
  };
}

/** A stored matcher as the form holds it (an unknown operator as `=`). */
export function matcherFormOf(m: LabelMatcher): MatcherForm {
  return { name: m.name, op: opOf(m.operator) ?? '=', value: m.value };
}

/** A form's matcher as sent, its name trimmed. */
export function toLabelMatcher(m: MatcherForm): LabelMatcher {
  return create(LabelMatcherSchema, { name: m.name.trim(), operator: OP_PROTO[m.op], value: m.value });
}

/** A stored silence's matchers as the form holds them. */
export function matcherFormsOf(s: Silence): MatcherForm[] {
  return s.matchers.map(matcherFormOf);
}

/** The link parameters of a new silence of a rule's alerts (`alertname="<rule>"`), as the "Silence" links open it. */
export function silenceAlertsParams(alertname: string): Record<string, string> {
  return { matcher: formatMatcher({ name: 'alertname', op: '=', value: alertname }) };
}

/** A stored silence in the form, its end as a time. */
export function silenceToForm(s: Silence): SilenceForm {
  const startMs = nanosToMs(s.startTimeUnixNano);
  const endMs = nanosToMs(s.endTimeUnixNano);
  const start = formatWallTime(startMs);
  const end = formatWallTime(endMs);
  const matchers = matcherFormsOf(s);
  return {
    id: s.id,
    version: String(s.version),
    matchers,
    start,
    duration: formatSilenceDuration(endMs - startMs),
    end,
    endBy: 'end',
    createdBy: s.createdBy,
    comment: s.comment,
    stored: { start, end, startNanos: s.startTimeUnixNano, endNanos: s.endTimeUnixNano, matchers },
  };
}

/** What a new silence "recreated" from `s` starts with: its matchers and comment. */
export function recreateParams(s: { matchers: MatcherForm[]; comment: string }): Record<string, string[] | string> {
  return { matcher: s.matchers.filter((m) => !isBlank(m)).map(formatMatcher), comment: s.comment };
}

/** A new silence's prefill from its link: `matcher` (repeated) and `comment`; the matchers that could not be read. */
export function prefillOf(params: URLSearchParams): { matchers: MatcherForm[]; comment: string; unread: string[] } {
  const matchers: MatcherForm[] = [];
  const unread: string[] = [];
  for (const text of params.getAll('matcher')) {
    const m = parseMatcher(text);
    if (m) matchers.push(m);
    else if (text.trim()) unread.push(text);
  }
  return { matchers, comment: params.get('comment') ?? '', unread };
}

/** The start the form means at `now`; null when it is not a time. */
export function startOf(form: SilenceForm, now: number): number | null {
  if (form.stored && form.start === form.stored.start) return nanosToMs(form.stored.startNanos);
  return parseWallTime(form.start, now);
}

/** The end the form means at `now`; null when it is not a time (or follows from a start that is none). */
export function endOf(form: SilenceForm, now: number): number | null {
  if (form.endBy === 'end') {
    if (form.stored && form.end === form.stored.end) return nanosToMs(form.stored.endNanos);
    return parseWallTime(form.end, now);
  }
  const start = startOf(form, now);
  const d = parseSilenceDuration(form.duration);
  return start === null || d === null ? null : start + d;
}

/** The end field's text: as typed, or what the duration gives. */
export function endText(form: SilenceForm, now: number): string {
  if (form.endBy === 'end') return form.end;
  const end = endOf(form, now);
  return end === null ? '' : formatWallTime(end);
}

/** The duration field's text: as typed, or what the end gives. */
export function durationText(form: SilenceForm, now: number): string {
  if (form.endBy === 'duration') return form.duration;
  const start = startOf(form, now);
  const end = endOf(form, now);
  return start === null || end === null || end <= start ? '' : formatSilenceDuration(end - start);
}

const sameMatchers = (a: readonly MatcherForm[], b: readonly MatcherForm[]) =>
  a.length === b.length && a.every((m, i) => m.name === b[i]!.name && m.op === b[i]!.op && m.value === b[i]!.value);

const filled = (form: SilenceForm) => form.matchers.filter((m) => !isBlank(m)).map((m) => ({ ...m, name: m.name.trim() }));

/**
 * Whether saving expires the silence and creates a new one, as the service
 * decides it (Alertmanager's rule): other matchers always do; so does a
 * changed start once it has started, or a start in the past before then.
 */
export function replacesSilence(form: SilenceForm, now: number): boolean {
  const s = form.stored;
  if (!form.id || !s) return false;
  if (!sameMatchers(filled(form), s.matchers)) return true;
  if (nanosToMs(s.startNanos) <= now) return form.start !== s.start;
  const start = startOf(form, now);
  return start !== null && start < now;
}

/**
 * The silence the form describes at `now`, for CreateSilence (without
 * `identity`) or UpdateSilence (with the id and the version read). A start
 * of "now" is sent as 0 for a new silence (the service's now); times the
 * fields still show as read are sent exactly as stored.
 */
export function formToSilence(form: SilenceForm, now: number, { identity = false } = {}): Silence {
  const start = startOf(form, now);
  const end = endOf(form, now);
  const startNew = !form.stored && form.start.trim() === 'now';
  const silence = create(SilenceSchema, {
    matchers: filled(form).map(toLabelMatcher),
    startTimeUnixNano:
      form.stored && form.start === form.stored.start ? form.stored.startNanos : startNew || start === null ? 0n : msToNanos(start),
    endTimeUnixNano:
      form.endBy === 'end' && form.stored && form.end === form.stored.end ? form.stored.endNanos : end === null ? 0n : msToNanos(end),
    createdBy: form.createdBy.trim(),
    comment: form.comment,
  });
  if (identity) {
    silence.id = form.id;
    silence.version = form.version ? BigInt(form.version) : 0n;
  }
  return silence;
}

// === checks, as the service makes them ===

export type { Problem, Problems } from './fields';

/** Field ids: the paths the service names in its INVALID_ARGUMENT messages, after "silence.". */
export const FIELD = {
  matchers: 'matchers',
  matcher: (i: number, part: 'name' | 'operator' | 'value') => `matchers[${i}].${part}`,
  start: 'start_time_unix_nano',
  end: 'end_time_unix_nano',
  createdBy: 'created_by',
  comment: 'comment',
} as const;

/** Every field of the form, by id. */
export function fieldIds(form: SilenceForm): string[] {
  const ids: string[] = [FIELD.matchers, FIELD.start, FIELD.end, FIELD.createdBy, FIELD.comment];
  form.matchers.forEach((_, i) => ids.push(FIELD.matcher(i, 'name'), FIELD.matcher(i, 'operator'), FIELD.matcher(i, 'value')));
  return ids;
}

/**
 * The field an INVALID_ARGUMENT message names ("silence.matchers[1].value:
 * … is not a regular expression" → "matchers[1].value"), among `known`:
 * the one it names exactly, else the closest enclosing one; null when none.
 * Indexes count the matchers sent, which skip blank rows: `rows` maps them
 * back to the form's rows.
 */
export function serverFieldOf(message: string, known: readonly string[], rows: readonly number[] = []): string | null {
  const m = /^silence\.([^\s:]+):/.exec(message);
  if (!m) return null;
  const path = m[1]!.replace(/^matchers\[(\d+)\]/, (_, i: string) => `matchers[${rows[Number(i)] ?? Number(i)}]`);
  return closestField(path, known);
}

/** The form's rows of the matchers it sends, in order (blank rows are not sent). */
export function sentRows(form: SilenceForm): number[] {
  return form.matchers.flatMap((m, i) => (isBlank(m) ? [] : [i]));
}

const bytes = (s: string) => new TextEncoder().encode(s).length;

/**
 * What the alert service would refuse in the form at `now`, by field id.
 * Regular expressions are left to the service (RE2 is not the browser's
 * engine), except to tell whether every matcher also matches an empty label.
 */
export function validateSilence(form: SilenceForm, now: number): Problems {
  const p: Problems = {};
  const rows = sentRows(form);
  if (rows.length === 0) p[FIELD.matchers] = { key: 'matchersRequired' };
  else if (rows.length > MAX_MATCHERS) p[FIELD.matchers] = { key: 'tooManyMatchers', values: { max: MAX_MATCHERS } };
  for (const i of rows) {
    const m = form.matchers[i]!;
    const n = i + 1;
    if (!NAME_RE.test(m.name.trim())) p[FIELD.matcher(i, 'name')] = { key: 'matcherName', values: { n } };
    if (bytes(m.value) > MAX_VALUE_BYTES) p[FIELD.matcher(i, 'value')] = { key: 'matcherValueLong', values: { n, max: MAX_VALUE_BYTES } };
  }
  // Only a verdict on every matcher: an expression the browser cannot read might need a value.
  if (rows.length > 0 && !p[FIELD.matchers] && rows.every((i) => matchesEmpty(form.matchers[i]!) === true)) {
    p[FIELD.matchers] = { key: 'matchesEverything' };
  }

  const start = startOf(form, now);
  if (start === null) p[FIELD.start] = { key: 'start' };
  if (form.endBy === 'duration' && parseSilenceDuration(form.duration) === null) p[FIELD.end] = { key: 'duration' };
  else {
    const end = endOf(form, now);
    if (end === null) {
      if (form.endBy === 'end') p[FIELD.end] = { key: 'end' };
    } else if (start !== null && end <= start) p[FIELD.end] = { key: 'endOrder' };
    else if (end <= now) p[FIELD.end] = { key: 'endPast' };
  }

  const creator = form.createdBy.trim();
  if (!creator) p[FIELD.createdBy] = { key: 'createdByRequired' };
  else if ([...creator].length > MAX_CREATED_BY_CHARS) p[FIELD.createdBy] = { key: 'createdByLong', values: { max: MAX_CREATED_BY_CHARS } };
  if (!form.comment.trim()) p[FIELD.comment] = { key: 'commentRequired' };
  else if (bytes(form.comment) > MAX_COMMENT_BYTES) p[FIELD.comment] = { key: 'commentLong', values: { max: MAX_COMMENT_BYTES } };
  return p;
}

// === a silence in words ===

export const STATE_NAMES = ['active', 'pending', 'expired'] as const;
export type SilenceStateName = (typeof STATE_NAMES)[number];

const STATE_PROTO: Record<SilenceStateName, SilenceState> = {
  active: SilenceState.ACTIVE,
  pending: SilenceState.PENDING,
  expired: SilenceState.EXPIRED,
};

export const stateProto = (s: SilenceStateName): SilenceState => STATE_PROTO[s];

/** The list's filter, as the URL's `state` says it: one state, all, or (absent) those not expired. */
export const STATE_FILTERS = ['current', 'active', 'pending', 'expired', 'all'] as const;
export type StateFilter = (typeof STATE_FILTERS)[number];

export function stateFilterOf(param: string | null): StateFilter {
  return (STATE_FILTERS as readonly string[]).includes(param ?? '') ? (param as StateFilter) : 'current';
}

/** The states ListSilences is asked for; none: all. */
export function statesOf(filter: StateFilter): SilenceStateName[] {
  switch (filter) {
    case 'current':
      return ['active', 'pending'];
    case 'all':
      return [];
    default:
      return [filter];
  }
}

/** A silence's state at `now` (epoch ms), from its times as the service judges them. */
export function stateAt(s: Silence, now: number): SilenceStateName {
  const n = msToNanos(now);
  if (s.endTimeUnixNano <= n) return 'expired';
  if (s.startTimeUnixNano > n) return 'pending';
  return 'active';
}

/** A length of time to the precision that matters when read: hours beyond a day, minutes beyond a minute. */
export function roughly(ms: number): string {
  const abs = Math.abs(ms);
  const step = abs >= 86_400_000 ? 3_600_000 : abs >= 60_000 ? 60_000 : 1_000;
  return formatInterval(Math.max(step, Math.round(abs / step) * step));
}

/** "ends in 1 h 40 min", "starts in 3 h", "ended 2 d 4 h ago", in the language of `t`. */
export function relativeText(s: Silence, now: number, t: TFunction): string {
  const start = nanosToMs(s.startTimeUnixNano);
  const end = nanosToMs(s.endTimeUnixNano);
  switch (stateAt(s, now)) {
    case 'pending':
      return t('silences.relative.startsIn', { duration: roughly(start - now) });
    case 'active':
      return t('silences.relative.endsIn', { duration: roughly(end - now) });
    case 'expired':
      return t('silences.relative.ended', { duration: roughly(now - end) });
  }
}

/** "started 20 min ago" for a silence that has started, else null. */
export function startedText(s: Silence, now: number, t: TFunction): string | null {
  const start = nanosToMs(s.startTimeUnixNano);
  return start <= now && stateAt(s, now) === 'active' ? t('silences.relative.started', { duration: roughly(now - start) }) : null;
}

/** Date and time to the minute with the zone, in the current language: "01/31/2026, 10:00 GMT+9". */
export function formatSilenceTime(ms: number, timeZone?: string): string {
  return new Intl.DateTimeFormat(formatLocale(), {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
    ...(timeZone ? { timeZone } : {}),
  }).format(ms);
}
