import { describe, expect, it } from 'vitest';
import { colorFor, healthOf } from './colors';

describe('colors', () => {
  it('is stable per name', () => {
    expect(colorFor('checkout')).toBe(colorFor('checkout'));
  });
  it('classifies error rates by threshold', () => {
    expect(healthOf(0)).toBe('ok');
    expect(healthOf(0.0099)).toBe('ok');
    expect(healthOf(0.01)).toBe('warn');
    expect(healthOf(0.0499)).toBe('warn');
    expect(healthOf(0.05)).toBe('bad');
  });
});
