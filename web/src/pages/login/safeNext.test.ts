import { describe, expect, it } from 'vitest';
import { safeNext } from './safeNext';

describe('safeNext', () => {
  it('keeps in-app paths with their query', () => {
    expect(safeNext('/traces?service=checkout&from=now-1h')).toBe('/traces?service=checkout&from=now-1h');
  });
  it('refuses other origins and loops', () => {
    expect(safeNext('https://evil.example')).toBe('/services');
    expect(safeNext('//evil.example')).toBe('/services');
    expect(safeNext('/\\evil.example')).toBe('/services');
    expect(safeNext('/login?next=/x')).toBe('/services');
    expect(safeNext(null)).toBe('/services');
  });
});
