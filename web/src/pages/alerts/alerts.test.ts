import { create } from '@bufbuild/protobuf';
import i18next, { type TFunction } from 'i18next';
import { beforeAll, describe, expect, it } from 'vitest';
import { AlertSchema, AlertState, type Alert } from '../../gen/airis/aiops/v1/alert_pb';
import { en, ko } from '../../i18n/all';
import { setFormatLocale } from '../../lib/format';
import { msToNanos } from '../../lib/time';
import {
  alertAnnotations,
  alertDurationText,
  alertFilterOf,
  alertKey,
  alertLabels,
  alertName,
  alertStateName,
  alertStateProto,
  alertStatesOf,
  alertTimes,
  alertValueText,
} from './alerts';

const NOW = Date.UTC(2026, 0, 31, 1, 0, 0);
const MIN = 60_000;

let t: TFunction;
let tKo: TFunction;
beforeAll(async () => {
  const i18n = i18next.createInstance();
  await i18n.init({ lng: 'en', resources: { en: { translation: en }, ko: { translation: ko } }, interpolation: { escapeValue: false } });
  t = i18n.getFixedT('en');
  tKo = i18n.getFixedT('ko');
  setFormatLocale('en');
});

function alert(state: AlertState, times: { active: number; fired?: number; resolved?: number }, labels: Record<string, string> = {}, value = 0): Alert {
  return create(AlertSchema, {
    ruleId: 'r1',
    ruleVersion: 2n,
    state,
    episode: {
      activeUnixNano: msToNanos(times.active),
      firedUnixNano: times.fired === undefined ? 0n : msToNanos(times.fired),
      resolvedUnixNano: times.resolved === undefined ? 0n : msToNanos(times.resolved),
      value,
      labels: { alertname: 'slow charges', ...labels },
      annotations: { runbook_url: 'http://wiki/slow', summary: 'payment p95 at 900 ms', description: 'slow' },
    },
  });
}

describe('alerts', () => {
  it('reads the state filter from the URL, firing and pending by default', () => {
    expect(alertFilterOf(null)).toBe('open');
    expect(alertFilterOf('bogus')).toBe('open');
    expect(alertFilterOf('resolved')).toBe('resolved');
    expect(alertStatesOf('open')).toEqual(['firing', 'pending']);
    expect(alertStatesOf('resolved')).toEqual(['resolved']);
    expect(alertStatesOf('all')).toEqual([]);
    expect(alertStatesOf('open').map(alertStateProto)).toEqual([AlertState.FIRING, AlertState.PENDING]);
    expect(alertStateName(AlertState.RESOLVED)).toBe('resolved');
    expect(alertStateName(AlertState.INACTIVE)).toBeNull();
  });
  it('names the rule, and lists the other labels and the annotations in reading order', () => {
    const a = alert(AlertState.FIRING, { active: NOW - 10 * MIN, fired: NOW - 8 * MIN }, { service_name: 'payment', severity: 'page' });
    expect(alertName(a)).toBe('slow charges');
    expect(alertLabels(a)).toEqual([
      ['service_name', 'payment'],
      ['severity', 'page'],
    ]);
    expect(alertAnnotations(a).map(([k]) => k)).toEqual(['summary', 'description', 'runbook_url']);
    expect(alertKey(a)).toBe(`r1@${msToNanos(NOW - 10 * MIN)}`);
    expect(alertTimes(a)).toEqual({ activeMs: NOW - 10 * MIN, firedMs: NOW - 8 * MIN, resolvedMs: null });
  });
  it('says for how long, in the language of the page', () => {
    expect(alertDurationText(alert(AlertState.FIRING, { active: NOW - 10 * MIN, fired: NOW - 8 * MIN }), NOW, t)).toBe('firing for 8 min');
    expect(alertDurationText(alert(AlertState.PENDING, { active: NOW - 2 * MIN }), NOW, t)).toBe('pending for 2 min');
    expect(alertDurationText(alert(AlertState.RESOLVED, { active: NOW - 30 * MIN, fired: NOW - 28 * MIN, resolved: NOW - 21 * MIN }), NOW, t)).toBe(
      'fired for 7 min',
    );
    expect(alertDurationText(alert(AlertState.RESOLVED, { active: NOW - 30 * MIN, resolved: NOW - 28 * MIN }), NOW, t)).toBe('resolved without firing');
    setFormatLocale('ko');
    expect(alertDurationText(alert(AlertState.FIRING, { active: NOW - 70 * MIN, fired: NOW - 65 * MIN }), NOW, tKo)).toBe('1시간 5분째 발생 중');
    setFormatLocale('en');
  });
  it('shows the value in the unit of the signal its labels name', () => {
    const v = (signal: string | undefined, value: number) => alertValueText(alert(AlertState.FIRING, { active: NOW }, signal ? { signal } : {}, value));
    expect(v('request_rate', 12.5)).toBe('12.5/s');
    expect(v('error_rate', 0.05)).toBe('5%');
    expect(v('latency_p95', 900)).toBe('900 ms');
    expect(v(undefined, 0.87)).toBe('0.87');
    expect(v('request_rate', Number.NaN)).toBe('–');
  });
});
