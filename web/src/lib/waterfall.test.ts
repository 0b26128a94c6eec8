import { describe, expect, it } from 'vitest';
import {
  barGeometry,
  buildTree,
  criticalPath,
  expandAncestors,
  firstChildIndex,
  flattenRows,
  indexNodes,
  navigate,
  parentIndex,
  traceBounds,
  type SpanLike,
} from './waterfall';

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

describe('expandAncestors', () => {
  const nodes = indexNodes(buildTree(spans));
  it('expands every collapsed ancestor of a span, and nothing else', () => {
    const collapsed = new Set(['root', 'b', 'a']);
    expect(expandAncestors(collapsed, nodes.get('b2'))).toEqual(new Set(['a']));
    expect(collapsed).toEqual(new Set(['root', 'b', 'a']));
  });
  it('keeps the span itself collapsed', () => {
    expect(expandAncestors(new Set(['b']), nodes.get('b'))).toEqual(new Set(['b']));
  });
  it('returns the same set when nothing hides the span or it is unknown', () => {
    const collapsed = new Set(['a']);
    expect(expandAncestors(collapsed, nodes.get('b2'))).toBe(collapsed);
    expect(expandAncestors(collapsed, nodes.get('nope'))).toBe(collapsed);
  });
  it('shows the span after expansion', () => {
    const roots = buildTree(spans);
    const collapsed = expandAncestors(new Set(['root', 'b']), indexNodes(roots).get('b1'));
    expect(flattenRows(roots, collapsed).map((r) => r.node.span.spanId)).toContain('b1');
  });
});

describe('keyboard navigation', () => {
  // Visible with a collapsed: root, a (a1 hidden), b, b1, b2.
  const rows = flattenRows(buildTree(spans), new Set(['a']));
  const ids = rows.map((r) => r.node.span.spanId);
  const at = (id: string) => ids.indexOf(id);
  const go = (from: string, key: Parameters<typeof navigate>[2], page = 2) => {
    const action = navigate(rows, at(from), key, page);
    return action?.kind === 'focus' ? ids[action.index] : action;
  };

  it('numbers siblings for aria-posinset and aria-setsize', () => {
    expect(rows.map((r) => [r.node.posInSet, r.node.setSize])).toEqual([
      [1, 1],
      [1, 2],
      [2, 2],
      [1, 2],
      [2, 2],
    ]);
  });
  it('finds parents and first children among the visible rows', () => {
    expect(parentIndex(rows, at('b2'))).toBe(at('b'));
    expect(parentIndex(rows, at('b'))).toBe(at('root'));
    expect(parentIndex(rows, at('root'))).toBe(-1);
    expect(firstChildIndex(rows, at('b'))).toBe(at('b1'));
    expect(firstChildIndex(rows, at('a'))).toBe(-1);
    expect(firstChildIndex(rows, at('b1'))).toBe(-1);
  });
  it('moves down and up over visible rows, skipping collapsed subtrees', () => {
    expect(go('a', 'ArrowDown')).toBe('b');
    expect(go('b', 'ArrowUp')).toBe('a');
    expect(go('root', 'ArrowUp')).toBeNull();
    expect(go('b2', 'ArrowDown')).toBeNull();
  });
  it('jumps to the ends and by pages, within the rows', () => {
    expect(go('b1', 'Home')).toBe('root');
    expect(go('a', 'End')).toBe('b2');
    expect(go('root', 'PageDown')).toBe('b');
    expect(go('b1', 'PageDown')).toBe('b2');
    expect(go('a', 'PageUp')).toBe('root');
  });
  it('expands with Right, then moves to the first child', () => {
    expect(go('a', 'ArrowRight')).toEqual({ kind: 'toggle', spanId: 'a' });
    expect(go('b', 'ArrowRight')).toBe('b1');
    expect(go('b1', 'ArrowRight')).toBeNull();
  });
  it('collapses with Left, then moves to the parent', () => {
    expect(go('b', 'ArrowLeft')).toEqual({ kind: 'toggle', spanId: 'b' });
    expect(go('b2', 'ArrowLeft')).toBe('b');
    expect(go('a', 'ArrowLeft')).toBe('root');
    expect(go('root', 'ArrowLeft')).toEqual({ kind: 'toggle', spanId: 'root' });
    expect(navigate(flattenRows(buildTree(spans), new Set(['root'])), 0, 'ArrowLeft', 2)).toBeNull();
  });
  it('starts at the first row when the focused one is gone', () => {
    expect(navigate(rows, 99, 'ArrowDown', 2)).toEqual({ kind: 'focus', index: 0 });
    expect(navigate([], 0, 'ArrowDown', 2)).toBeNull();
  });
});
