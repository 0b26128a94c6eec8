import { describe, expect, it } from 'vitest';
import { applyPatch, linkWith } from './urlState';

describe('url state', () => {
  it('applies patches', () => {
    const p = applyPatch(new URLSearchParams('a=1&b=2'), { a: null, c: ['x', 'y'], b: '3' });
    expect(p.toString()).toBe('c=x&c=y&b=3');
  });
  it('links keep the time range', () => {
    const cur = new URLSearchParams('from=now-1h&to=now&service=x');
    expect(linkWith(cur, '/traces', { service: 'checkout' })).toBe('/traces?from=now-1h&to=now&service=checkout');
  });
});
