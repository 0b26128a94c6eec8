import { describe, expect, it } from 'vitest';
import {
  isRelative,
  msToNanos,
  nanosToMs,
  parseDuration,
  presetOf,
  resolveRange,
  resolveTimeExpr,
  utcOffsetLabel,
} from './time';

const NOW = 1_700_000_000_000;

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
  it('falls back to the default on malformed or inverted ranges', () => {
    expect(resolveRange('now-1h', 'now', NOW)).toEqual({ startMs: NOW - 3_600_000, endMs: NOW });
    expect(resolveRange('bad', 'now', NOW)).toEqual({ startMs: NOW - 900_000, endMs: NOW });
    expect(resolveRange('now', 'now-1h', NOW)).toEqual({ startMs: NOW - 900_000, endMs: NOW });
    expect(resolveRange(null, null, NOW)).toEqual({ startMs: NOW - 900_000, endMs: NOW });
  });
  it('recognises presets', () => {
    expect(presetOf('now-1h', 'now')).toBe('1h');
    expect(presetOf(null, null)).toBe('15m');
    expect(presetOf('now-7m', 'now')).toBeNull();
    expect(presetOf('1699990000000', '1700000000000')).toBeNull();
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

import { widenedToMinutesSeconds } from './time';
describe('widenedToMinutesSeconds', () => {
  it('widens to whole minutes', () => {
    expect(widenedToMinutesSeconds(60_000, 120_000)).toBe(60);
    expect(widenedToMinutesSeconds(61_000, 121_000)).toBe(120);
    expect(widenedToMinutesSeconds(0, 3_600_000)).toBe(3600);
  });
});
