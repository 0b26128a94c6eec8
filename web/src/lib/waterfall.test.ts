import { describe, expect, it } from 'vitest';
import { barGeometry, buildTree, criticalPath, flattenRows, traceBounds, type SpanLike } from './waterfall';

function span(spanId: string, parentSpanId: string, start: number, dur: number): SpanLike {
  return { spanId, parentSpanId, startTimeUnixNano: BigInt(start), durationNano: BigInt(dur) };
}

// root 0-100
//  ├ a 5-40
//  │  └ a1 10-38
//  └ b 20-95
//     ├ b1 25-60
//     └ b2 30-90
const spans = [
  span('root', '', 0, 100),
  span('b', 'root', 20, 75),
  span('a', 'root', 5, 35),
  span('a1', 'a', 10, 28),
  span('b2', 'b', 30, 60),
  span('b1', 'b', 25, 35),
];

describe('buildTree / flattenRows', () => {
  it('nests spans and orders children by start', () => {
    const roots = buildTree(spans);
    expect(roots).toHaveLength(1);
    const rows = flattenRows(roots, new Set());
    expect(rows.map((r) => [r.node.span.spanId, r.depth])).toEqual([
      ['root', 0],
      ['a', 1],
      ['a1', 2],
      ['b', 1],
      ['b1', 2],
      ['b2', 2],
    ]);
    expect(roots[0]!.size).toBe(6);
  });
  it('hides collapsed subtrees', () => {
    const rows = flattenRows(buildTree(spans), new Set(['b']));
    expect(rows.map((r) => r.node.span.spanId)).toEqual(['root', 'a', 'a1', 'b']);
    expect(rows[3]!.collapsed).toBe(true);
    expect(rows[3]!.hasChildren).toBe(true);
  });
  it('treats spans with a missing parent as roots', () => {
    const roots = buildTree([span('x', 'missing', 5, 1), span('y', '', 0, 10)]);
    expect(roots.map((r) => r.span.spanId)).toEqual(['y', 'x']);
  });
  it('breaks parent cycles', () => {
    const roots = buildTree([span('p', 'q', 0, 10), span('q', 'p', 1, 5)]);
    const rows = flattenRows(roots, new Set());
    expect(rows).toHaveLength(2);
    const long = buildTree([span('a', 'c', 0, 10), span('b', 'a', 1, 5), span('c', 'b', 2, 3), span('d', 'c', 3, 1)]);
    expect(long).toHaveLength(1);
    expect(flattenRows(long, new Set())).toHaveLength(4);
  });
  it('handles 10k spans in a deep chain', () => {
    const chain = Array.from({ length: 10_000 }, (_, i) => span(`s${i}`, i ? `s${i - 1}` : '', i, 10_000 - i));
    const roots = buildTree(chain);
    expect(flattenRows(roots, new Set())).toHaveLength(10_000);
    expect(criticalPath(roots)).toHaveLength(10_000);
  });
});

describe('criticalPath', () => {
  it('follows the latest-finishing child; children overlapping it ran in parallel', () => {
    // a (5-40) overlaps b (20-95), b1 (25-60) overlaps b2 (30-90).
    expect(criticalPath(buildTree(spans))).toEqual(['root', 'b', 'b2']);
  });
  it('takes sequential children one after the other, back from the end', () => {
    // r 0-100: c1 10-40, then c2 50-90, which waits on its own d 60-85.
    const roots = buildTree([
      span('r', '', 0, 100),
      span('c1', 'r', 10, 30),
      span('c2', 'r', 50, 40),
      span('d', 'c2', 60, 25),
      span('p', 'r', 45, 10),
    ]);
    expect(new Set(criticalPath(roots))).toEqual(new Set(['r', 'c2', 'd', 'c1']));
  });
  it('counts a child running past its parent up to the parent end', () => {
    const roots = buildTree([span('r', '', 0, 100), span('s', 'r', 10, 50), span('async', 'r', 70, 200)]);
    expect(new Set(criticalPath(roots))).toEqual(new Set(['r', 'async', 's']));
  });
  it('breaks ties by later start', () => {
    const roots = buildTree([span('r', '', 0, 100), span('c1', 'r', 10, 50), span('c2', 'r', 20, 40)]);
    expect(criticalPath(roots)).toEqual(['r', 'c2']);
  });
  it('is empty for no spans', () => {
    expect(criticalPath(buildTree([]))).toEqual([]);
  });
});

describe('geometry', () => {
  it('places bars as fractions of the trace', () => {
    const b = traceBounds(spans);
    expect(b).toEqual({ startNano: 0n, endNano: 100n });
    expect(barGeometry(spans[1]!, b)).toEqual({ left: 0.2, width: 0.75 });
  });
});
