import { create } from '@bufbuild/protobuf';
import i18next, { type TFunction } from 'i18next';
import { beforeAll, describe, expect, it } from 'vitest';
import { LabelMatcherSchema, MatchOperator, SilenceSchema, SilenceState, type Silence } from '../../gen/airis/aiops/v1/alert_pb';
import { en, ko } from '../../i18n/all';
import { setFormatLocale } from '../../lib/format';
import { msToNanos } from '../../lib/time';
import {
  durationText,
  endOf,
  endText,
  FIELD,
  fieldIds,
  formatMatcher,
  formatSilenceDuration,
  formatSilenceTime,
  formatWallTime,
  formToSilence,
  matchersText,
  matchesEmpty,
  newSilenceForm,
  parseMatcher,
  parseSilenceDuration,
  prefillOf,
  recreateParams,
  regexMatchesEmpty,
  relativeText,
  replacesSilence,
  sentRows,
  serverFieldOf,
  silenceToForm,
  startedText,
  stateAt,
  stateFilterOf,
  statesOf,
  validateSilence,
  type SilenceForm,
} from './silences';

const NOW = Date.UTC(2026, 0, 31, 1, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;

let t: TFunction;
let tKo: TFunction;
beforeAll(async () => {
  const i18n = i18next.createInstance();
  await i18n.init({ lng: 'en', resources: { en: { translation: en }, ko: { translation: ko } }, interpolation: { escapeValue: false } });
  t = i18n.getFixedT('en');
  tKo = i18n.getFixedT('ko');
  setFormatLocale('en');
});

/** A stored silence: alertname="slow", service_name=~"pay.*", from `startMs` to `endMs`. */
function stored(startMs: number, endMs: number): Silence {
  return create(SilenceSchema, {
    id: 's1',
    version: 3n,
    matchers: [
      create(LabelMatcherSchema, { name: 'alertname', operator: MatchOperator.EQUAL, value: 'slow' }),
      create(LabelMatcherSchema, { name: 'service_name', operator: MatchOperator.REGEX, value: 'pay.*' }),
    ],
    // Nanoseconds that milliseconds do not carry: sent back unchanged, they must stay exact.
    startTimeUnixNano: msToNanos(startMs) + 123_456n,
    endTimeUnixNano: msToNanos(endMs) + 789n,
    createdBy: 'mina',
    comment: '결제 점검',
    state: SilenceState.ACTIVE,
  });
}

/** A complete new silence for 2 h. */
function validForm(patch: Partial<SilenceForm> = {}): SilenceForm {
  return { ...newSilenceForm({ matchers: [{ name: 'alertname', op: '=', value: 'slow' }], createdBy: 'mina', comment: 'maintenance' }), ...patch };
}

describe('matchers as text', () => {
  it('reads the four operators, quoted or not, with escapes', () => {
    expect(parseMatcher('alertname="slow"')).toEqual({ name: 'alertname', op: '=', value: 'slow' });
    expect(parseMatcher('service_name=~"pay.*"')).toEqual({ name: 'service_name', op: '=~', value: 'pay.*' });
    expect(parseMatcher('env != "dev"')).toEqual({ name: 'env', op: '!=', value: 'dev' });
    expect(parseMatcher('team!~"a|b"')).toEqual({ name: 'team', op: '!~', value: 'a|b' });
    expect(parseMatcher('severity=page')).toEqual({ name: 'severity', op: '=', value: 'page' });
    expect(parseMatcher('msg="say \\"hi\\" \\\\ now"')).toEqual({ name: 'msg', op: '=', value: 'say "hi" \\ now' });
    expect(parseMatcher('x=""')).toEqual({ name: 'x', op: '=', value: '' });
  });
  it('refuses what is not a matcher', () => {
    for (const bad of ['', 'alertname', '9x="a"', 'a=="b"x', 'a="unclosed', 'a="b"c"', 'a=b"c', 'a="b\\"', '=x']) expect(parseMatcher(bad), bad).toBeNull();
  });
  it('writes what it reads', () => {
    for (const m of [
      { name: 'alertname', op: '=' as const, value: 'ui e2e "quoted" \\ back' },
      { name: 'service_name', op: '=~' as const, value: 'check.*|pay' },
      { name: 'x', op: '!~' as const, value: 'line\nbreak' },
    ]) {
      expect(parseMatcher(formatMatcher(m))).toEqual(m);
    }
    expect(formatMatcher({ name: 'alertname', op: '=', value: 'slow' })).toBe('alertname="slow"');
    expect(matchersText(stored(NOW, NOW + HOUR))).toBe('alertname="slow", service_name=~"pay.*"');
  });
  it('reads a prefill from the link, saying what it could not read', () => {
    const params = new URLSearchParams('matcher=alertname%3D%22slow%22&matcher=service_name%3D~%22pay.*%22&matcher=oops&comment=deploy');
    expect(prefillOf(params)).toEqual({
      matchers: [
        { name: 'alertname', op: '=', value: 'slow' },
        { name: 'service_name', op: '=~', value: 'pay.*' },
      ],
      comment: 'deploy',
      unread: ['oops'],
    });
    // A recreated silence's link reads back as the same matchers and comment.
    const form = silenceToForm(stored(NOW - HOUR, NOW - MIN));
    const link = new URLSearchParams();
    for (const [k, v] of Object.entries(recreateParams(form))) for (const x of [v].flat()) link.append(k, x);
    const again = prefillOf(link);
    expect(again.matchers).toEqual(form.matchers);
    expect(again.comment).toBe('결제 점검');
  });
  it('knows which matchers pass a missing label', () => {
    expect(matchesEmpty({ name: 'a', op: '=', value: '' })).toBe(true);
    expect(matchesEmpty({ name: 'a', op: '=', value: 'x' })).toBe(false);
    expect(matchesEmpty({ name: 'a', op: '!=', value: 'x' })).toBe(true);
    expect(matchesEmpty({ name: 'a', op: '!=', value: '' })).toBe(false);
    expect(matchesEmpty({ name: 'a', op: '=~', value: '.*' })).toBe(true);
    expect(matchesEmpty({ name: 'a', op: '=~', value: '.+' })).toBe(false);
    expect(matchesEmpty({ name: 'a', op: '!~', value: '.+' })).toBe(true);
    // Anchored at both ends, as RE2 in the service: "a|" also matches nothing.
    expect(regexMatchesEmpty('a|')).toBe(true);
    expect(regexMatchesEmpty('(?i)PAY.*')).toBe(false);
    expect(regexMatchesEmpty('(?P<x>a*)')).toBe(true);
    expect(regexMatchesEmpty('(unclosed')).toBeNull();
  });
});

describe('durations', () => {
  it('reads and writes Alertmanager durations', () => {
    expect(['2h', '1d12h', '1d 12h', '90m', '1w', ' 45s ', '1W'].map(parseSilenceDuration)).toEqual([
      2 * HOUR,
      36 * HOUR,
      36 * HOUR,
      90 * MIN,
      168 * HOUR,
      45_000,
      168 * HOUR,
    ]);
    for (const bad of ['', '0h', '2', 'h', '1.5h', '-1h', '2 hours']) expect(parseSilenceDuration(bad), bad).toBeNull();
    expect([2 * HOUR, 90 * MIN, 192 * HOUR, 45_400, 0].map(formatSilenceDuration)).toEqual(['2h', '1h30m', '1w1d', '45s', '0s']);
  });
});

describe('the form', () => {
  it('starts now, for 2 hours, and sends a start of 0 (the service’s now)', () => {
    const form = validForm();
    expect(form.start).toBe('now');
    expect(endOf(form, NOW)).toBe(NOW + 2 * HOUR);
    expect(endText(form, NOW)).toBe(formatWallTime(NOW + 2 * HOUR));
    const s = formToSilence(form, NOW);
    expect(s.startTimeUnixNano).toBe(0n);
    expect(s.endTimeUnixNano).toBe(msToNanos(NOW + 2 * HOUR));
    expect(s.matchers.map((m) => [m.name, m.operator, m.value])).toEqual([['alertname', MatchOperator.EQUAL, 'slow']]);
    expect([s.id, s.version, s.createdBy, s.comment]).toEqual(['', 0n, 'mina', 'maintenance']);
  });
  it('follows an end typed instead of a duration', () => {
    const form = validForm({ end: formatWallTime(NOW + 3 * HOUR), endBy: 'end' });
    expect(endOf(form, NOW)).toBe(NOW + 3 * HOUR);
    expect(durationText(form, NOW)).toBe('3h');
  });
  it('leaves blank rows out and trims names and the author', () => {
    const form = validForm({
      matchers: [
        { name: '', op: '=', value: '' },
        { name: ' service_name ', op: '=~', value: ' pay.* ' },
      ],
      createdBy: '  mina ',
    });
    const s = formToSilence(form, NOW);
    expect(s.matchers.map((m) => [m.name, m.value])).toEqual([['service_name', ' pay.* ']]);
    expect(s.createdBy).toBe('mina');
    expect(sentRows(form)).toEqual([1]);
  });
  it('sends a stored silence back exactly as read, with its id and version', () => {
    const silence = stored(NOW - HOUR, NOW + HOUR);
    const form = silenceToForm(silence);
    expect(form.endBy).toBe('end');
    expect(form.duration).toBe('2h');
    const s = formToSilence(form, NOW, { identity: true });
    expect([s.id, s.version]).toEqual(['s1', 3n]);
    expect(s.startTimeUnixNano).toBe(silence.startTimeUnixNano);
    expect(s.endTimeUnixNano).toBe(silence.endTimeUnixNano);
    expect(s.matchers).toEqual(silence.matchers);
    expect(replacesSilence(form, NOW)).toBe(false);
  });
  it('extends in place, and replaces when the matchers or start of a started silence change', () => {
    const form = silenceToForm(stored(NOW - HOUR, NOW + HOUR));
    const longer = { ...form, duration: '1d', endBy: 'duration' as const };
    expect(replacesSilence(longer, NOW)).toBe(false);
    const s = formToSilence(longer, NOW, { identity: true });
    expect(s.startTimeUnixNano).toBe(form.stored!.startNanos);
    expect(s.endTimeUnixNano).toBe(form.stored!.startNanos / 1_000_000n * 1_000_000n + msToNanos(24 * HOUR));
    const matcher = { ...form, matchers: [form.matchers[0]!, { ...form.matchers[1]!, value: 'checkout.*' }] };
    expect(replacesSilence(matcher, NOW)).toBe(true);
    expect(replacesSilence({ ...form, start: formatWallTime(NOW) }, NOW)).toBe(true);
    // A pending silence changes in place, but for its matchers or a start
    // in the past.
    const pending = silenceToForm(stored(NOW + HOUR, NOW + 2 * HOUR));
    expect(replacesSilence({ ...pending, duration: '1d', endBy: 'duration' as const }, NOW)).toBe(false);
    expect(replacesSilence({ ...pending, start: formatWallTime(NOW + 30 * MIN) }, NOW)).toBe(false);
    expect(replacesSilence({ ...pending, start: formatWallTime(NOW - 30 * MIN) }, NOW)).toBe(true);
    expect(replacesSilence({ ...pending, matchers: [pending.matchers[0]!] }, NOW)).toBe(true);
    // A blank row added changes nothing that is sent.
    expect(replacesSilence({ ...form, matchers: [...form.matchers, { name: '', op: '=', value: '' }] }, NOW)).toBe(false);
  });
});

describe('checks, as the service makes them', () => {
  it('accepts a complete silence', () => {
    expect(validateSilence(validForm(), NOW)).toEqual({});
  });
  it('needs a matcher, label names and a matcher that needs a value', () => {
    expect(validateSilence(validForm({ matchers: [{ name: '', op: '=', value: '' }] }), NOW)).toEqual({ [FIELD.matchers]: { key: 'matchersRequired' } });
    expect(validateSilence(validForm({ matchers: [{ name: '9lives', op: '=', value: 'x' }] }), NOW)).toEqual({
      [FIELD.matcher(0, 'name')]: { key: 'matcherName', values: { n: 1 } },
    });
    expect(
      validateSilence(
        validForm({
          matchers: [
            { name: 'env', op: '!=', value: 'dev' },
            { name: 'service_name', op: '=~', value: '.*' },
          ],
        }),
        NOW,
      ),
    ).toEqual({ [FIELD.matchers]: { key: 'matchesEverything' } });
    // One that needs a value is enough.
    expect(validateSilence(validForm({ matchers: [{ name: 'env', op: '!=', value: 'dev' }, { name: 'alertname', op: '=', value: 'slow' }] }), NOW)).toEqual({});
    // An expression the browser cannot read is left to the service.
    expect(validateSilence(validForm({ matchers: [{ name: 'a', op: '=~', value: '[[:alpha:]' }] }), NOW)).toEqual({});
    expect(validateSilence(validForm({ matchers: [{ name: 'a', op: '=', value: 'x'.repeat(1025) }] }), NOW)).toEqual({
      [FIELD.matcher(0, 'value')]: { key: 'matcherValueLong', values: { n: 1, max: 1024 } },
    });
  });
  it('needs an end after the start and ahead', () => {
    expect(validateSilence(validForm({ duration: '2 hours' }), NOW)[FIELD.end]).toEqual({ key: 'duration' });
    expect(validateSilence(validForm({ start: 'tomorrow' }), NOW)[FIELD.start]).toEqual({ key: 'start' });
    const start = formatWallTime(NOW + HOUR);
    expect(validateSilence(validForm({ start, end: formatWallTime(NOW + 30 * MIN), endBy: 'end' }), NOW)[FIELD.end]).toEqual({ key: 'endOrder' });
    expect(validateSilence(validForm({ start: formatWallTime(NOW - 2 * HOUR), end: formatWallTime(NOW - HOUR), endBy: 'end' }), NOW)[FIELD.end]).toEqual({
      key: 'endPast',
    });
    expect(validateSilence(validForm({ end: 'soon', endBy: 'end' }), NOW)[FIELD.end]).toEqual({ key: 'end' });
    // A stored silence extended by a duration from a start long past can still end in the past.
    const old = silenceToForm(stored(NOW - 5 * HOUR, NOW + HOUR));
    expect(validateSilence({ ...old, duration: '1h', endBy: 'duration' }, NOW)[FIELD.end]).toEqual({ key: 'endPast' });
  });
  it('needs who and why', () => {
    expect(validateSilence(validForm({ createdBy: '  ', comment: ' ' }), NOW)).toEqual({
      [FIELD.createdBy]: { key: 'createdByRequired' },
      [FIELD.comment]: { key: 'commentRequired' },
    });
    expect(validateSilence(validForm({ createdBy: '가'.repeat(201) }), NOW)[FIELD.createdBy]).toEqual({ key: 'createdByLong', values: { max: 200 } });
    expect(validateSilence(validForm({ comment: '가'.repeat(1366) }), NOW)[FIELD.comment]).toEqual({ key: 'commentLong', values: { max: 4096 } });
  });
  it('says every problem with the field named, in both languages', () => {
    const keys = Object.keys(en.silences.invalid);
    expect(keys.sort()).toEqual(Object.keys(ko.silences.invalid).sort());
    expect(t('silences.invalid.endPast')).toMatch(/^End: /);
    expect(tKo('silences.invalid.endPast')).toMatch(/^종료: /);
    expect(t('silences.invalid.matcherName', { n: 2 })).toMatch(/^Matcher 2: /);
  });
  it("places the service's refusals on the field they name", () => {
    const form = validForm({
      matchers: [
        { name: 'alertname', op: '=', value: 'slow' },
        { name: '', op: '=', value: '' },
        { name: 'service_name', op: '=~', value: '(unclosed' },
      ],
    });
    const ids = fieldIds(form);
    // The service counts the matchers sent; the blank row is not.
    expect(serverFieldOf('silence.matchers[1].value: "(unclosed" is not a regular expression: unclosed group', ids, sentRows(form))).toBe(
      FIELD.matcher(2, 'value'),
    );
    expect(serverFieldOf('silence.end_time_unix_nano: already past; to end a silence now, expire it', ids)).toBe(FIELD.end);
    expect(serverFieldOf('silence.matchers: every matcher also matches an empty or missing label', ids)).toBe(FIELD.matchers);
    expect(serverFieldOf('silence: required', ids)).toBeNull();
    expect(serverFieldOf('rule.name: required', ids)).toBeNull();
  });
});

describe('a silence in words', () => {
  it('has a state from its times', () => {
    expect(stateAt(stored(NOW - HOUR, NOW + HOUR), NOW)).toBe('active');
    expect(stateAt(stored(NOW + HOUR, NOW + 2 * HOUR), NOW)).toBe('pending');
    expect(stateAt(stored(NOW - 2 * HOUR, NOW - HOUR), NOW)).toBe('expired');
    // The end itself is already expired, as the service judges it.
    expect(stateAt(create(SilenceSchema, { startTimeUnixNano: msToNanos(NOW - HOUR), endTimeUnixNano: msToNanos(NOW) }), NOW)).toBe('expired');
  });
  it('says when it starts or ends, relative to now', () => {
    expect(relativeText(stored(NOW - HOUR, NOW + 100 * MIN), NOW, t)).toBe('ends in 1 h 40 min');
    expect(startedText(stored(NOW - 20 * MIN, NOW + HOUR), NOW, t)).toBe('started 20 min ago');
    expect(relativeText(stored(NOW + 3 * HOUR, NOW + 5 * HOUR), NOW, t)).toBe('starts in 3 h');
    expect(startedText(stored(NOW + 3 * HOUR, NOW + 5 * HOUR), NOW, t)).toBeNull();
    // Beyond a day, to the hour.
    expect(relativeText(stored(NOW - 5 * 24 * HOUR, NOW - 2 * 24 * HOUR - 4 * HOUR - 20 * MIN), NOW, t)).toBe('ended 2 d 4 h ago');
    setFormatLocale('ko');
    expect(relativeText(stored(NOW - HOUR, NOW + 100 * MIN), NOW, tKo)).toBe('1시간 40분 후 종료');
    setFormatLocale('en');
  });
  it('formats times per language with the zone', () => {
    expect(formatSilenceTime(NOW, 'Asia/Seoul')).toBe('01/31/2026, 10:00 GMT+9');
    setFormatLocale('ko');
    expect(formatSilenceTime(NOW, 'Asia/Seoul')).toMatch(/^2026\. 01\. 31\. 10:00 GMT\+9$/);
    setFormatLocale('en');
  });
  it('reads the state filter from the URL, active and pending by default', () => {
    expect(stateFilterOf(null)).toBe('current');
    expect(stateFilterOf('bogus')).toBe('current');
    expect(stateFilterOf('expired')).toBe('expired');
    expect(statesOf('current')).toEqual(['active', 'pending']);
    expect(statesOf('expired')).toEqual(['expired']);
    expect(statesOf('all')).toEqual([]);
  });
});
