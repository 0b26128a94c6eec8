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
  depth: number;
  /** Spans in this subtree, itself included. */
  size: number;
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
    if (!nodes.has(span.spanId)) nodes.set(span.spanId, { span, children: [], depth: 0, size: 1 });
  }
  const roots: TreeNode<S>[] = [];
  for (const node of nodes.values()) {
    const parent = node.span.parentSpanId ? nodes.get(node.span.parentSpanId) : undefined;
    if (parent && parent !== node && !isAncestor(node, parent, nodes)) parent.children.push(node);
    else roots.push(node);
  }
  const byStart = (a: TreeNode<S>, b: TreeNode<S>) =>
    a.span.startTimeUnixNano < b.span.startTimeUnixNano ? -1 : a.span.startTimeUnixNano > b.span.startTimeUnixNano ? 1 : 0;
  roots.sort(byStart);
  // Iterative depth assignment: 10k-deep chains must not overflow the stack.
  const order: TreeNode<S>[] = [];
  const stack = roots.map((r) => ({ node: r, depth: 0 }));
  while (stack.length) {
    const { node, depth } = stack.pop()!;
    node.depth = depth;
    node.children.sort(byStart);
    order.push(node);
    for (const c of node.children) stack.push({ node: c, depth: depth + 1 });
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i]!;
    n.size = 1 + n.children.reduce((acc, c) => acc + c.size, 0);
  }
  return roots;
}

/** Whether `candidate` is `node` or one of its ancestors through parent ids. */
function isAncestor<S extends SpanLike>(
  node: TreeNode<S>,
  candidateParent: TreeNode<S>,
  nodes: Map<string, TreeNode<S>>,
): boolean {
  // Walk up from the candidate parent; reaching `node` means a cycle.
  let cur: TreeNode<S> | undefined = candidateParent;
  let steps = 0;
  while (cur && steps++ <= nodes.size) {
    if (cur === node) return true;
    cur = cur.span.parentSpanId ? nodes.get(cur.span.parentSpanId) : undefined;
  }
  return false;
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
 * The critical path: from the root, repeatedly the child that finishes
 * last (ties: the one that started last, then the longer). With several
 * roots, it starts at the root that finishes last.
 */
export function criticalPath<S extends SpanLike>(roots: readonly TreeNode<S>[]): string[] {
  const path: string[] = [];
  let cur = latestFinishing(roots);
  while (cur) {
    path.push(cur.span.spanId);
    cur = latestFinishing(cur.children);
  }
  return path;
}

function latestFinishing<S extends SpanLike>(nodes: readonly TreeNode<S>[]): TreeNode<S> | undefined {
  let best: TreeNode<S> | undefined;
  for (const n of nodes) {
    if (!best) {
      best = n;
      continue;
    }
    const e = endOf(n.span);
    const be = endOf(best.span);
    if (
      e > be ||
      (e === be && n.span.startTimeUnixNano > best.span.startTimeUnixNano) ||
      (e === be && n.span.startTimeUnixNano === best.span.startTimeUnixNano && n.span.durationNano > best.span.durationNano)
    ) {
      best = n;
    }
  }
  return best;
}
