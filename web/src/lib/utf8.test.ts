import { describe, expect, it } from 'vitest';
import { byteOffsetsToIndices, highlightSegments } from './utf8';

const enc = new TextEncoder();
/** Byte range of the first occurrence of `needle` in `text`. */
function range(text: string, needle: string) {
  const i = text.indexOf(needle);
  const start = enc.encode(text.slice(0, i)).length;
  return { start, end: start + enc.encode(needle).length };
}

describe('byteOffsetsToIndices', () => {
  it('is the identity for ASCII', () => {
    expect(byteOffsetsToIndices('hello', [0, 2, 5])).toEqual([0, 2, 5]);
  });
  it('maps Hangul (3 bytes each)', () => {
    // "결제 실패": 결(0-3) 제(3-6) space(6) 실(7-10) 패(10-13)
    expect(byteOffsetsToIndices('결제 실패', [0, 3, 6, 7, 13])).toEqual([0, 1, 2, 3, 5]);
  });
  it('maps emoji (4 bytes, 2 UTF-16 units)', () => {
    // "a😀b": a(0) 😀(1-5) b(5)
    expect(byteOffsetsToIndices('a😀b', [0, 1, 5, 6])).toEqual([0, 1, 3, 4]);
  });
  it('snaps offsets inside a character to its start and clamps the end', () => {
    expect(byteOffsetsToIndices('결제', [1, 4, 99])).toEqual([0, 1, 2]);
  });
  it('handles unsorted offsets', () => {
    expect(byteOffsetsToIndices('결제', [6, 0])).toEqual([2, 0]);
  });
});

describe('highlightSegments', () => {
  it('highlights Korean terms', () => {
    const body = '결제 승인 실패: 카드 한도 초과 (payment declined)';
    const segs = highlightSegments(body, [range(body, '결제'), range(body, 'payment')]);
    expect(segs.filter((s) => s.match).map((s) => s.text)).toEqual(['결제', 'payment']);
    expect(segs.map((s) => s.text).join('')).toBe(body);
  });
  it('highlights after emoji', () => {
    const body = '🚀 배포 후 결제 오류 🔥 checkout';
    const segs = highlightSegments(body, [range(body, '결제'), range(body, 'checkout')]);
    expect(segs.filter((s) => s.match).map((s) => s.text)).toEqual(['결제', 'checkout']);
    expect(segs.map((s) => s.text).join('')).toBe(body);
  });
  it('merges overlapping ranges and drops empty ones', () => {
    const segs = highlightSegments('abcdef', [
      { start: 1, end: 3 },
      { start: 2, end: 4 },
      { start: 5, end: 5 },
    ]);
    expect(segs).toEqual([
      { text: 'a', match: false },
      { text: 'bcd', match: true },
      { text: 'ef', match: false },
    ]);
  });
  it('returns the whole text without ranges', () => {
    expect(highlightSegments('결제', [])).toEqual([{ text: '결제', match: false }]);
  });
});
