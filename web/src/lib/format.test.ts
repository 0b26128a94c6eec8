import { describe, expect, it } from 'vitest';
import {
  formatDurationNanos,
  formatInterval,
  formatPercent,
  formatRangeEnds,
  formatRate,
  formatScore,
  formatSignedPercent,
  formatSpan,
  formatWithUnit,
  setFormatLocale,
} from './format';

describe('format', () => {
  setFormatLocale('en');
  it('formats durations by magnitude', () => {
    expect(formatDurationNanos(500n)).toBe('500 ns');
    expect(formatDurationNanos(1_500n)).toBe('1.5 µs');
    expect(formatDurationNanos(1_234_567n)).toBe('1.23 ms');
    expect(formatDurationNanos(123_456_789n)).toBe('123 ms');
    expect(formatDurationNanos(2_500_000_000n)).toBe('2.5 s');
    expect(formatDurationNanos(125_000_000_000n)).toBe('2 min 5 s');
    expect(formatDurationNanos(3_725_000_000_000n)).toBe('1 h 2 min');
    expect(formatDurationNanos(-125_000_000_000n)).toBe('-2 min 5 s');
  });
  it('formats percentages without recomputing', () => {
    expect(formatPercent(0)).toBe('0%');
    expect(formatPercent(0.0123)).toBe('1.23%');
    expect(formatPercent(0.5)).toBe('50%');
  });
  it('formats scores and strengths with two decimals', () => {
    expect(formatScore(0.73)).toBe('0.73');
    expect(formatScore(1)).toBe('1.00');
    expect(formatScore(0.526)).toBe('0.53');
  });
  it('formats rates', () => {
    expect(formatRate(12.345)).toBe('12.35/s');
    expect(formatRate(0.5)).toBe('0.5/s');
    expect(formatRate(1234.5)).toBe('1,235/s');
  });
  it('formats values with units', () => {
    expect(formatWithUnit(12.5, 'ms')).toBe('12.5 ms');
    expect(formatWithUnit(3, '{request}')).toBe('3 request');
    expect(formatWithUnit(2048, 'By')).toBe('2 KiB');
  });
  it('follows the locale', () => {
    setFormatLocale('ko');
    expect(formatRate(1234.5)).toBe('1,235/s');
    setFormatLocale('en');
  });
});

describe('intervals and spans in words', () => {
  it('writes unit symbols in English', () => {
    setFormatLocale('en');
    expect([10_000, 30_000, 60_000, 300_000].map(formatInterval)).toEqual(['10 s', '30 s', '1 min', '5 min']);
    expect(formatInterval(90_000)).toBe('1 min 30 s');
    expect(formatInterval(3_600_000)).toBe('1 h');
    expect(formatInterval(86_400_000 + 3_600_000)).toBe('1 d 1 h');
    expect(formatInterval(0)).toBe('0 s');
    expect(formatSpan(15, 'minute')).toBe('15 minutes');
    expect(formatSpan(1, 'hour')).toBe('1 hour');
    expect(formatSpan(2, 'day')).toBe('2 days');
  });
  it('writes 초, 분, 시간, 일 in Korean, latencies below a second keeping SI symbols', () => {
    setFormatLocale('ko');
    expect(formatInterval(10_000)).toBe('10초');
    expect(formatInterval(300_000)).toBe('5분');
    expect(formatInterval(90_000)).toBe('1분 30초');
    expect(formatInterval(3_600_000)).toBe('1시간');
    expect(formatInterval(2 * 86_400_000)).toBe('2일');
    expect(formatSpan(15, 'minute')).toBe('15분');
    expect(formatSpan(24, 'hour')).toBe('24시간');
    expect(formatInterval(250)).toBe('250 ms');
    expect(formatDurationNanos(1_200_000_000n)).toBe('1.2초');
    expect(formatDurationNanos(1_500_000_000n)).toBe('1.5초');
    expect(formatDurationNanos(59_994_000_000n)).toBe('59.99초');
    expect(formatDurationNanos(125_000_000_000n)).toBe('2분 5초');
    expect(formatDurationNanos(3_725_000_000_000n)).toBe('1시간 2분');
    expect(formatDurationNanos(-1_500_000_000n)).toBe('-1.5초');
    expect(formatDurationNanos(250_000_000n)).toBe('250 ms');
    expect(formatDurationNanos(1_500n)).toBe('1.5 µs');
    expect(formatWithUnit(1.5, 's')).toBe('1.5초');
    expect(formatWithUnit(250, 'ms')).toBe('250 ms');
    setFormatLocale('en');
  });
});

describe('range ends', () => {
  const at = (h: number, m: number, s: number, ms = 0) => new Date(2026, 0, 31, h, m, s, ms).getTime();
  it('keep seconds, drop the repeated date, add milliseconds when there are any', () => {
    setFormatLocale('en');
    expect(formatRangeEnds(at(10, 0, 5), at(10, 0, 35))).toEqual(['01/31/2026, 10:00:05', '10:00:35']);
    expect(formatRangeEnds(at(10, 0, 5, 120), at(10, 0, 5, 480))).toEqual(['01/31/2026, 10:00:05.120', '10:00:05.480']);
    expect(formatRangeEnds(at(23, 0, 0), at(23, 0, 0) + 7_200_000)[1]).toBe('02/01/2026, 01:00:00');
  });
});

describe('signed changes', () => {
  it('carry their sign, whole percents from 10 % on', () => {
    setFormatLocale('en');
    expect(formatSignedPercent(0.2)).toBe('+20%');
    expect(formatSignedPercent(-0.035)).toBe('-3.5%');
    expect(formatSignedPercent(0)).toBe('0%');
    expect(formatSignedPercent(Number.NaN)).toBe('–');
  });
});
