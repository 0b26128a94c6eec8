// Trace waterfall layout and critical path, independent of the UI.

/** The fields of a span the layout needs (a subset of the API's Span). */
export interface SpanLike {
  spanId: string;
  parentSpanId: string;
  startTimeUnixNano: bigint;
  durationNano: bigint;
}

export interface TreeNode<S extends SpanLike> {
  span: S;
  children: TreeNode<S>[];
  /** The node this one hangs under in the tree as built (cycles broken). */
  parent: TreeNode<S> | undefined;
  depth: number;
  /** Spans in this subtree, itself included. */
  size: number;
  /** 1-based position among its siblings and their number (aria-posinset, aria-setsize). */
  posInSet: number;
  setSize: number;
}

function endOf(s: SpanLike): bigint {
  return s.startTimeUnixNano + s.durationNano;
}

/**
 * Builds the span forest: spans whose parent is missing (not yet stored, or
 * the root) become roots. Children and roots are ordered by start time.
 * Duplicated span ids keep the first; parent cycles are broken.
 */
export function buildTree<S extends SpanLike>(spans: readonly S[]): TreeNode<S>[] {
  const nodes = new Map<string, TreeNode<S>>();
  for (const span of spans) {
    if (!nodes.has(span.spanId)) {
      nodes.set(span.spanId, { span, children: [], parent: undefined, depth: 0, size: 1, posInSet: 1, setSize: 1 });
    }
  }
  const parentOf = new Map<TreeNode<S>, TreeNode<S> | undefined>();
  for (const node of nodes.values()) {
    const parent = node.span.parentSpanId ? nodes.get(node.span.parentSpanId) : undefined;
    parentOf.set(node, parent === node ? undefined : parent);
  }
  // Cycles (a bad instrumentation) are broken in one pass over each
  // parent chain: 1 = on the chain being walked, 2 = known to end at a root.
  const state = new Map<TreeNode<S>, 1 | 2>();
  for (const start of nodes.values()) {
    const walked: TreeNode<S>[] = [];
    let cur: TreeNode<S> | undefined = start;
    while (cur && !state.has(cur)) {
      state.set(cur, 1);
      walked.push(cur);
      cur = parentOf.get(cur);
    }
    if (cur && state.get(cur) === 1) parentOf.set(cur, undefined);
    for (const w of walked) state.set(w, 2);
  }
  const roots: TreeNode<S>[] = [];
  for (const node of nodes.values()) {
    const parent = parentOf.get(node);
    node.parent = parent;
    if (parent) parent.children.push(node);
    else roots.push(node);
  }
  const byStart = (a: TreeNode<S>, b: TreeNode<S>) =>
    a.span.startTimeUnixNano < b.span.startTimeUnixNano ? -1 : a.span.startTimeUnixNano > b.span.startTimeUnixNano ? 1 : 0;
  roots.sort(byStart);
  numberSiblings(roots);
  // Iterative depth assignment: 10k-deep chains must not overflow the stack.
  const order: TreeNode<S>[] = [];
  const stack = roots.map((r) => ({ node: r, depth: 0 }));
  while (stack.length) {
    const { node, depth } = stack.pop()!;
    node.depth = depth;
    node.children.sort(byStart);
    numberSiblings(node.children);
    order.push(node);
    for (const c of node.children) stack.push({ node: c, depth: depth + 1 });
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i]!;
    n.size = 1 + n.children.reduce((acc, c) => acc + c.size, 0);
  }
  return roots;
}

function numberSiblings<S extends SpanLike>(siblings: readonly TreeNode<S>[]): void {
  siblings.forEach((n, i) => {
    n.posInSet = i + 1;
    n.setSize = siblings.length;
  });
}

/** Every node by span id, for links that name a span. */
export function indexNodes<S extends SpanLike>(roots: readonly TreeNode<S>[]): Map<string, TreeNode<S>> {
  const byId = new Map<string, TreeNode<S>>();
  const stack = [...roots];
  while (stack.length) {
    const node = stack.pop()!;
    byId.set(node.span.spanId, node);
    for (const c of node.children) stack.push(c);
  }
  return byId;
}

/**
 * The collapsed set with every ancestor of `node` expanded, so that its row
 * is shown (a link to a span inside a collapsed subtree). The same set when
 * no ancestor was collapsed, so React state stays unchanged.
 */
export function expandAncestors<S extends SpanLike>(collapsed: ReadonlySet<string>, node: TreeNode<S> | undefined): ReadonlySet<string> {
  let next: Set<string> | undefined;
  for (let a = node?.parent; a; a = a.parent) {
    if (!collapsed.has(a.span.spanId)) continue;
    next ??= new Set(collapsed);
    next.delete(a.span.spanId);
  }
  return next ?? collapsed;
}

export interface Row<S extends SpanLike> {
  node: TreeNode<S>;
  depth: number;
  hasChildren: boolean;
  collapsed: boolean;
}

/** Visible rows in depth-first order, skipping collapsed subtrees. */
export function flattenRows<S extends SpanLike>(roots: readonly TreeNode<S>[], collapsed: ReadonlySet<string>): Row<S>[] {
  const rows: Row<S>[] = [];
  const stack = [...roots].reverse();
  while (stack.length) {
    const node = stack.pop()!;
    const isCollapsed = collapsed.has(node.span.spanId);
    rows.push({ node, depth: node.depth, hasChildren: node.children.length > 0, collapsed: isCollapsed });
    if (!isCollapsed) for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
  }
  return rows;
}

/** The keys of the waterfall's treegrid (the WAI-ARIA treegrid pattern, focus on rows). */
export type NavKey = 'ArrowUp' | 'ArrowDown' | 'ArrowLeft' | 'ArrowRight' | 'Home' | 'End' | 'PageUp' | 'PageDown';

const NAV_KEYS: ReadonlySet<string> = new Set<NavKey>(['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Home', 'End', 'PageUp', 'PageDown']);

export function isNavKey(key: string): key is NavKey {
  return NAV_KEYS.has(key);
}

export type NavAction = { kind: 'focus'; index: number } | { kind: 'toggle'; spanId: string };

/** The visible row of row `index`'s parent, -1 for a root. Parents precede their children. */
export function parentIndex<S extends SpanLike>(rows: readonly Row<S>[], index: number): number {
  const depth = rows[index]?.depth ?? 0;
  for (let i = index - 1; i >= 0; i--) if (rows[i]!.depth < depth) return i;
  return -1;
}

/** The visible row of row `index`'s first child, -1 when it has none shown. */
export function firstChildIndex<S extends SpanLike>(rows: readonly Row<S>[], index: number): number {
  const row = rows[index];
  return row && row.hasChildren && !row.collapsed ? index + 1 : -1;
}

/**
 * What `key` does on visible row `index`: Up/Down move to the previous or
 * next row, Home/End to the first or last, PageUp/PageDown by `page` rows;
 * Right expands a collapsed row, else moves to its first child; Left
 * collapses an expanded row, else moves to its parent. Null when the key
 * leaves everything as it is (first row and Up, a leaf and Right, …).
 */
export function navigate<S extends SpanLike>(rows: readonly Row<S>[], index: number, key: NavKey, page: number): NavAction | null {
  const row = rows[index];
  if (!row) return rows.length ? { kind: 'focus', index: 0 } : null;
  const last = rows.length - 1;
  const clamp = (i: number) => Math.max(0, Math.min(last, i));
  let target: number;
  switch (key) {
    case 'ArrowUp':
      target = clamp(index - 1);
      break;
    case 'ArrowDown':
      target = clamp(index + 1);
      break;
    case 'PageUp':
      target = clamp(index - page);
      break;
    case 'PageDown':
      target = clamp(index + page);
      break;
    case 'Home':
      target = 0;
      break;
    case 'End':
      target = last;
      break;
    case 'ArrowRight':
      if (row.hasChildren && row.collapsed) return { kind: 'toggle', spanId: row.node.span.spanId };
      target = firstChildIndex(rows, index);
      break;
    case 'ArrowLeft':
      if (row.hasChildren && !row.collapsed) return { kind: 'toggle', spanId: row.node.span.spanId };
      target = parentIndex(rows, index);
      break;
  }
  return target < 0 || target === index ? null : { kind: 'focus', index: target };
}

export interface TraceBounds {
  startNano: bigint;
  endNano: bigint;
}

export function traceBounds(spans: readonly SpanLike[]): TraceBounds {
  if (spans.length === 0) return { startNano: 0n, endNano: 0n };
  let start = spans[0]!.startTimeUnixNano;
  let end = endOf(spans[0]!);
  for (const s of spans) {
    if (s.startTimeUnixNano < start) start = s.startTimeUnixNano;
    const e = endOf(s);
    if (e > end) end = e;
  }
  return { startNano: start, endNano: end };
}

/** Bar position as fractions [0, 1] of the trace: left offset and width. */
export function barGeometry(span: SpanLike, bounds: TraceBounds): { left: number; width: number } {
  const total = Number(bounds.endNano - bounds.startNano);
  if (total <= 0) return { left: 0, width: 1 };
  const left = Number(span.startTimeUnixNano - bounds.startNano) / total;
  const width = Number(span.durationNano) / total;
  return { left: clamp01(left), width: Math.max(0, Math.min(width, 1 - clamp01(left))) };
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/**
 * The critical path: the spans a trace's end waited for. From the root
 * that finishes last, walking back from a span's end: its child that
 * finishes last (a child running past its parent counts up to the
 * parent's end), then, before that child started, the child that finished
 * last before that moment, and so on; each chosen child the same way.
 * Children overlapping a chosen one ran in parallel with it and are not on
 * the path. Returns the span ids, parents before children.
 */
export function criticalPath<S extends SpanLike>(roots: readonly TreeNode<S>[]): string[] {
  const root = latestFinishing(roots);
  if (!root) return [];
  const path: string[] = [];
  // Iterative: 10k-deep chains must not overflow the stack.
  const stack: { node: TreeNode<S>; until: bigint }[] = [{ node: root, until: endOf(root.span) }];
  while (stack.length) {
    const { node, until } = stack.pop()!;
    path.push(node.span.spanId);
    const byEnd = [...node.children].sort((a, b) => {
      const d = endOf(b.span) - endOf(a.span);
      return d > 0n ? 1 : d < 0n ? -1 : a.span.startTimeUnixNano < b.span.startTimeUnixNano ? 1 : -1;
    });
    let cursor = until;
    let first = true;
    for (const child of byEnd) {
      const end = endOf(child.span);
      if (child.span.startTimeUnixNano >= cursor) continue;
      if (!first && end > cursor) continue;
      stack.push({ node: child, until: end < cursor ? end : cursor });
      cursor = child.span.startTimeUnixNano;
      first = false;
    }
  }
  return path;
}

/** The node that finishes last (ties: the one that started last). */
function latestFinishing<S extends SpanLike>(nodes: readonly TreeNode<S>[]): TreeNode<S> | undefined {
  let best: TreeNode<S> | undefined;
  for (const n of nodes) {
    if (
      !best ||
      endOf(n.span) > endOf(best.span) ||
      (endOf(n.span) === endOf(best.span) && n.span.startTimeUnixNano > best.span.startTimeUnixNano)
    ) {
      best = n;
    }
  }
  return best;
}
