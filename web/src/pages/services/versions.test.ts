import { describe, expect, it } from 'vitest';
import { latestFullValue } from './versions';

const pt = (sec: number, value: number) => ({ timeUnixNano: BigInt(sec) * 1_000_000_000n, value });

describe('latestFullValue', () => {
  it('skips the bucket still filling', () => {
    expect(latestFullValue([pt(0, 1), pt(60, 2), pt(120, 0.5)], 60, 150_000)).toBe(2);
  });
  it('takes the last bucket when complete', () => {
    expect(latestFullValue([pt(0, 1), pt(60, 2)], 60, 120_000)).toBe(2);
  });
  it('is null without points', () => {
    expect(latestFullValue([], 60, 0)).toBeNull();
  });
});
