import { describe, expect, it } from 'vitest';
import {
  formatTimeInput,
  isRelative,
  msToNanos,
  nanosToMs,
  parseDuration,
  parseRangeInput,
  parseTimeInput,
  presetOf,
  rangeProblem,
  relativeSpan,
  resolveRange,
  resolveTimeExpr,
  utcOffsetLabel,
  widenedToMinutesSeconds,
} from './time';

const NOW = 1_700_000_000_000;
// 2026-01-31 01:00:05 UTC = 10:00:05 in Seoul.
const T = Date.UTC(2026, 0, 31, 1, 0, 5);

describe('time expressions', () => {
  it('parses durations', () => {
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(parseDuration('x')).toBeNull();
  });
  it('resolves relative and absolute values', () => {
    expect(resolveTimeExpr('now', NOW)).toBe(NOW);
    expect(resolveTimeExpr('now-1h', NOW)).toBe(NOW - 3_600_000);
    expect(resolveTimeExpr('1699990000000', NOW)).toBe(1699990000000);
    expect(resolveTimeExpr('yesterday', NOW)).toBeNull();
  });
  it('reads epoch seconds and epoch milliseconds', () => {
    expect(resolveTimeExpr(String(T / 1000), NOW)).toBe(T);
    expect(resolveTimeExpr(String(T), NOW)).toBe(T);
    expect(resolveTimeExpr(`${T / 1000}.25`, NOW)).toBe(T + 250);
    expect(resolveTimeExpr('12345', NOW)).toBeNull();
  });
  it('reads ISO times with an offset, and no wall time without one', () => {
    expect(resolveTimeExpr('2026-01-31T10:00:05+09:00', NOW)).toBe(T);
    expect(resolveTimeExpr('2026-01-31T10:00:05+0900', NOW)).toBe(T);
    expect(resolveTimeExpr('2026-01-31T01:00:05Z', NOW)).toBe(T);
    expect(resolveTimeExpr('2026-01-31T01:00:05.123456Z', NOW)).toBe(T + 123);
    expect(resolveTimeExpr('2026-01-30T20:00:05-05:00', NOW)).toBe(T);
    expect(resolveTimeExpr('2026-01-31T10:00:05', NOW)).toBeNull();
    expect(resolveTimeExpr('2026-02-31T10:00:05Z', NOW)).toBeNull();
    expect(resolveTimeExpr('2026-01-31T24:00:00Z', NOW)).toBeNull();
  });
  it('falls back to the default on malformed or inverted ranges, and says why', () => {
    expect(resolveRange('now-1h', 'now', NOW)).toEqual({ startMs: NOW - 3_600_000, endMs: NOW });
    expect(resolveRange('bad', 'now', NOW)).toEqual({ startMs: NOW - 900_000, endMs: NOW });
    expect(resolveRange('now', 'now-1h', NOW)).toEqual({ startMs: NOW - 900_000, endMs: NOW });
    expect(resolveRange(null, null, NOW)).toEqual({ startMs: NOW - 900_000, endMs: NOW });
    expect(rangeProblem('bad', 'now', NOW)).toBe('invalid');
    expect(rangeProblem('now', 'now-1h', NOW)).toBe('order');
    expect(rangeProblem(String(T), String(T), NOW)).toBe('order');
    expect(rangeProblem(null, null, NOW)).toBeNull();
  });
  it('keeps sub-minute absolute ranges as they are', () => {
    const from = String(T);
    const to = String(T + 30_000);
    expect(resolveRange(from, to, NOW)).toEqual({ startMs: T, endMs: T + 30_000 });
    expect(resolveRange(String(T / 1000), String(T / 1000 + 30), NOW)).toEqual({ startMs: T, endMs: T + 30_000 });
  });
  it('recognises presets and relative spans', () => {
    expect(presetOf('now-1h', 'now')).toBe('1h');
    expect(presetOf(null, null)).toBe('15m');
    expect(presetOf('now-7m', 'now')).toBeNull();
    expect(presetOf('1699990000000', '1700000000000')).toBeNull();
    expect(relativeSpan('now-7m', 'now')).toEqual({ count: 7, unit: 'minute' });
    expect(relativeSpan('now-24h', null)).toEqual({ count: 24, unit: 'hour' });
    expect(relativeSpan('now-2h', 'now-1h')).toBeNull();
    expect(relativeSpan('1699990000000', 'now')).toBeNull();
    expect(isRelative('now-1h', 'now')).toBe(true);
    expect(isRelative('1699990000000', 'now')).toBe(false);
  });
  it('converts between ms and ns', () => {
    expect(msToNanos(1500)).toBe(1_500_000_000n);
    expect(nanosToMs(1_500_123_000n)).toBe(1500.123);
  });
  it('labels UTC offsets', () => {
    const d = new Date(Date.UTC(2026, 0, 1));
    expect(utcOffsetLabel(d, 'Asia/Seoul')).toBe('UTC+9');
    expect(utcOffsetLabel(d, 'UTC')).toBe('UTC');
    expect(utcOffsetLabel(d, 'Asia/Kolkata')).toBe('UTC+5:30');
    expect(utcOffsetLabel(d, 'America/New_York')).toBe('UTC-5');
  });
});

describe('time inputs', () => {
  // Wall times are read in the zone the tests run in, as the browser's.
  const local = (h: number, m: number, s: number, ms = 0) => new Date(2026, 0, 31, h, m, s, ms).getTime();

  it('read wall times to the second and the millisecond', () => {
    expect(parseTimeInput('2026-01-31 10:00:05', NOW)).toEqual({ value: String(local(10, 0, 5)), ms: local(10, 0, 5) });
    expect(parseTimeInput('2026-01-31T10:00', NOW)?.ms).toBe(local(10, 0, 0));
    expect(parseTimeInput(' 2026-01-31 10:00:05.250 ', NOW)?.ms).toBe(local(10, 0, 5, 250));
  });
  it('read epoch seconds, epoch milliseconds, ISO with offset and relative expressions', () => {
    expect(parseTimeInput(String(T / 1000), NOW)).toEqual({ value: String(T), ms: T });
    expect(parseTimeInput(String(T), NOW)).toEqual({ value: String(T), ms: T });
    expect(parseTimeInput('2026-01-31T10:00:05+09:00', NOW)).toEqual({ value: String(T), ms: T });
    expect(parseTimeInput('now-1h', NOW)).toEqual({ value: 'now-1h', ms: NOW - 3_600_000 });
    expect(parseTimeInput('now', NOW)).toEqual({ value: 'now', ms: NOW });
  });
  it('refuse what is not a time', () => {
    for (const bad of ['', 'yesterday', '2026-13-01 10:00', '2026-01-31 10:60', 'now-', 'now+1h']) {
      expect(parseTimeInput(bad, NOW), bad).toBeNull();
    }
  });
  it('show an instant with its seconds, and its milliseconds when it has them', () => {
    expect(formatTimeInput(local(10, 0, 5))).toBe('2026-01-31 10:00:05');
    expect(formatTimeInput(local(10, 0, 5, 7))).toBe('2026-01-31 10:00:05.007');
    expect(parseTimeInput(formatTimeInput(local(10, 0, 5, 7)), NOW)?.ms).toBe(local(10, 0, 5, 7));
  });
  it('make a range, or say which side is wrong', () => {
    // 10:00:05 – 10:00:35: thirty seconds, not an empty or a whole-minute range.
    expect(parseRangeInput('2026-01-31 10:00:05', '2026-01-31 10:00:35', NOW)).toEqual({
      from: String(local(10, 0, 5)),
      to: String(local(10, 0, 35)),
    });
    expect(parseRangeInput('now-1h', 'now', NOW)).toEqual({ from: 'now-1h', to: 'now' });
    expect(parseRangeInput('2026-01-31 10:00:35', '2026-01-31 10:00:05', NOW)).toEqual({ errors: ['order'] });
    expect(parseRangeInput('2026-01-31 10:00:05', '2026-01-31 10:00:05', NOW)).toEqual({ errors: ['order'] });
    expect(parseRangeInput('soon', 'later', NOW)).toEqual({ errors: ['from', 'to'] });
    expect(parseRangeInput('now-1h', 'later', NOW)).toEqual({ errors: ['to'] });
  });
});

describe('widenedToMinutesSeconds', () => {
  it('widens to whole minutes', () => {
    expect(widenedToMinutesSeconds(60_000, 120_000)).toBe(60);
    expect(widenedToMinutesSeconds(61_000, 121_000)).toBe(120);
    expect(widenedToMinutesSeconds(0, 3_600_000)).toBe(3600);
  });
});
