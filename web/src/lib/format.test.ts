import { describe, expect, it } from 'vitest';
import { formatDurationNanos, formatPercent, formatRate, formatWithUnit, setFormatLocale } from './format';

describe('format', () => {
  setFormatLocale('en');
  it('formats durations by magnitude', () => {
    expect(formatDurationNanos(500n)).toBe('500 ns');
    expect(formatDurationNanos(1_500n)).toBe('1.5 µs');
    expect(formatDurationNanos(1_234_567n)).toBe('1.23 ms');
    expect(formatDurationNanos(123_456_789n)).toBe('123 ms');
    expect(formatDurationNanos(2_500_000_000n)).toBe('2.5 s');
    expect(formatDurationNanos(125_000_000_000n)).toBe('2m 5s');
  });
  it('formats percentages without recomputing', () => {
    expect(formatPercent(0)).toBe('0%');
    expect(formatPercent(0.0123)).toBe('1.23%');
    expect(formatPercent(0.5)).toBe('50%');
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
