// Virtualized waterfall, an ARIA treegrid: only the rows in view (and the
// focused one) are in the DOM, each a handful of elements, so traces of 10k
// spans scroll smoothly.
import { defaultRangeExtractor, useVirtualizer, type Range } from '@tanstack/react-virtual';
import { memo, useCallback, useEffect, useId, useMemo, useRef, useState, type KeyboardEvent, type MouseEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { StatusCode, type Span } from '../../gen/airis/analytics/v1/query_pb';
import { colorFor } from '../../lib/colors';
import { formatDurationNanos } from '../../lib/format';
import { barGeometry, isNavKey, navigate, type Row, type TraceBounds } from '../../lib/waterfall';

// .wf-row's height in trace.css: fixed, so offsets are known without measuring.
const ROW_HEIGHT = 24;
const INDENT = 14;

interface Props {
  rows: Row<Span>[];
  bounds: TraceBounds;
  critical: ReadonlySet<string> | null;
  matches: ReadonlySet<string> | null;
  selectedId: string;
  onSelect: (spanId: string) => void;
  onToggle: (spanId: string) => void;
}

export function Waterfall({ rows, bounds, critical, matches, selectedId, onSelect, onToggle }: Props) {
  const { t } = useTranslation();
  const scroller = useRef<HTMLDivElement>(null);
  const hintId = useId();
  const indexOf = useMemo(() => new Map(rows.map((r, i) => [r.node.span.spanId, i])), [rows]);
  const [focusedId, setFocusedId] = useFocusedRow(selectedId);
  // The one row in the tab order: the focused one while shown, else the
  // selected one, else the first.
  const activeIndex = indexOf.get(focusedId) ?? indexOf.get(selectedId) ?? 0;

  // The active row stays rendered when scrolled away, so keyboard focus
  // and the tab stop are never lost with it.
  const rangeExtractor = useCallback(
    (range: Range) => {
      const indexes = defaultRangeExtractor(range);
      return activeIndex < range.count ? withIndex(indexes, activeIndex) : indexes;
    },
    [activeIndex],
  );
  const v = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 10,
    rangeExtractor,
  });

  // Bring the selected span into view, in the middle (opened from a link);
  // a row clicked is in view already and stays where it is.
  const selectedShown = indexOf.has(selectedId);
  useEffect(() => {
    const i = indexOf.get(selectedId);
    const el = scroller.current;
    if (i === undefined || !el) return;
    const top = i * ROW_HEIGHT;
    if (top < el.scrollTop || top + ROW_HEIGHT > el.scrollTop + el.clientHeight) v.scrollToIndex(i, { align: 'center' });
    // Only when the selection changes or its row appears (ancestors
    // expanded), not when rows above it open or close.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [selectedId, selectedShown]);

  // Keyboard moves: DOM focus goes to the row now, or once it is rendered
  // (it is, as the active row, on the next render).
  const focusPending = useRef<string | null>(null);
  useEffect(() => {
    const id = focusPending.current;
    if (id === null) return;
    focusPending.current = null;
    focusRow(scroller.current, id);
  });

  const onKeyDown = (e: KeyboardEvent) => {
    const id = rowIdOf(e.target);
    const index = id === undefined ? activeIndex : (indexOf.get(id) ?? activeIndex);
    const row = rows[index];
    if (e.key === 'Enter' && row) {
      e.preventDefault();
      onSelect(row.node.span.spanId);
      return;
    }
    if (!isNavKey(e.key) || e.altKey || e.ctrlKey || e.metaKey) return;
    e.preventDefault();
    const page = Math.max(1, Math.floor((scroller.current?.clientHeight ?? ROW_HEIGHT) / ROW_HEIGHT) - 1);
    const action = navigate(rows, index, e.key, page);
    if (action?.kind === 'toggle') onToggle(action.spanId);
    if (action?.kind === 'focus') {
      const target = rows[action.index]!.node.span.spanId;
      setFocusedId(target);
      v.scrollToIndex(action.index, { align: 'auto' });
      if (!focusRow(scroller.current, target)) focusPending.current = target;
    }
  };

  // One listener for every row: a click on the chevron toggles, elsewhere selects.
  const onClick = (e: MouseEvent) => {
    const id = rowIdOf(e.target);
    if (id === undefined) return;
    setFocusedId(id);
    if ((e.target as Element).closest('.wf-toggle')) onToggle(id);
    else onSelect(id);
  };

  const onJump = useCallback((f: number) => v.scrollToIndex(Math.floor(f * rows.length), { align: 'start' }), [v, rows.length]);
  const errorLabel = t('status.error');
  return (
    <div className="waterfall">
      <Minimap rows={rows} bounds={bounds} onJump={onJump} />
      <Axis total={bounds.endNano - bounds.startNano} hintId={hintId} />
      <div
        className="wf-scroll"
        ref={scroller}
        role="treegrid"
        aria-label={t('trace.waterfall')}
        aria-describedby={hintId}
        aria-rowcount={rows.length}
        aria-colcount={2}
        onKeyDown={onKeyDown}
        onClick={onClick}
      >
        <div style={{ height: v.getTotalSize(), position: 'relative' }}>
          {v.getVirtualItems().map((item) => {
            const row = rows[item.index]!;
            const id = row.node.span.spanId;
            return (
              <WaterfallRow
                key={id}
                row={row}
                index={item.index}
                top={item.start}
                bounds={bounds}
                onCritical={!!critical?.has(id)}
                dimmed={!!matches && !matches.has(id)}
                selected={id === selectedId}
                active={item.index === activeIndex}
                errorLabel={errorLabel}
              />
            );
          })}
        </div>
      </div>
    </div>
  );
}

/** The span id of the row with the keyboard focus; it follows the selection when that changes. */
function useFocusedRow(selectedId: string): [string, (id: string) => void] {
  const [focusedId, setFocusedId] = useState(selectedId);
  const [seen, setSeen] = useState(selectedId);
  // Adjusted while rendering, not in an effect: no frame with the old row.
  if (seen !== selectedId) {
    setSeen(selectedId);
    if (selectedId) setFocusedId(selectedId);
  }
  return [focusedId, setFocusedId];
}

/**
 * The time axis over the rows, and the keyboard hint the treegrid refers
 * to. Memoised: the waterfall renders on every scroll, this never changes.
 */
const Axis = memo(function Axis({ total, hintId }: { total: bigint; hintId: string }) {
  const { t } = useTranslation();
  return (
    <>
      <div className="wf-axis" aria-hidden="true">
        <div className="wf-axis-name">
          {t('trace.service')} / {t('trace.operation')}
        </div>
        <div className="wf-axis-ticks">
          {[0, 0.25, 0.5, 0.75, 1].map((f) => (
            <span key={f} style={{ left: `${f * 100}%` }}>
              {formatDurationNanos(Number(total) * f)}
            </span>
          ))}
        </div>
      </div>
      <p id={hintId} className="sr-only">
        {t('trace.keyboardHint')}
      </p>
    </>
  );
});

/** `indexes` (ascending) with `index` added in order. */
function withIndex(indexes: number[], index: number): number[] {
  if (indexes.includes(index)) return indexes;
  return index < (indexes[0] ?? 0) ? [index, ...indexes] : [...indexes, index];
}

/** Focuses the row of span `id` if it is rendered; whether it was. */
function focusRow(container: HTMLElement | null, id: string): boolean {
  const row = container?.querySelector<HTMLElement>(`[data-span-id="${CSS.escape(id)}"]`);
  row?.focus({ preventScroll: true });
  return !!row;
}

function rowIdOf(target: EventTarget): string | undefined {
  return (target as Element).closest<HTMLElement>('[data-span-id]')?.dataset.spanId;
}

interface RowProps {
  row: Row<Span>;
  index: number;
  top: number;
  bounds: TraceBounds;
  onCritical: boolean;
  dimmed: boolean;
  selected: boolean;
  active: boolean;
  errorLabel: string;
}

/**
 * One span, as few elements as it takes: the row, its name cell (chevron,
 * a button with service and operation, a space between them for the
 * accessible name) and its timeline cell, the bar with the duration as its
 * text, drawn after it. Props are plain values, so scrolling renders only
 * the rows that come into view.
 */
const WaterfallRow = memo(function WaterfallRow({ row, index, top, bounds, onCritical, dimmed, selected, active, errorLabel }: RowProps) {
  const s = row.node.span;
  const g = barGeometry(s, bounds);
  const isError = s.statusCode === StatusCode.ERROR;
  const duration = formatDurationNanos(s.durationNano);
  const color = colorFor(s.serviceName);
  return (
    <div
      className={`wf-row${selected ? ' selected' : ''}${onCritical ? ' critical' : ''}${dimmed ? ' dimmed' : ''}${isError ? ' error' : ''}`}
      style={{ transform: `translateY(${top}px)` }}
      data-testid="waterfall-row"
      data-span-id={s.spanId}
      role="row"
      aria-rowindex={index + 1}
      aria-level={row.depth + 1}
      aria-posinset={row.node.posInSet}
      aria-setsize={row.node.setSize}
      aria-expanded={row.hasChildren ? !row.collapsed : undefined}
      aria-selected={selected}
      tabIndex={active ? 0 : -1}
    >
      <div role="gridcell" className="wf-name" style={{ paddingLeft: row.depth * INDENT }}>
        {row.hasChildren && (
          <span className="wf-toggle" aria-hidden="true">
            {row.collapsed ? row.node.size - 1 : null}
          </span>
        )}
        <button type="button" tabIndex={-1} className="wf-select" title={`${s.serviceName}: ${s.name}`}>
          <span className="wf-svc" style={{ borderColor: color }}>
            {s.serviceName}
          </span>
          {` ${s.name}`}
        </button>
      </div>
      <div role="gridcell" className="wf-time">
        <span className="wf-bar" style={{ left: `${g.left * 100}%`, width: `${g.width * 100}%`, background: dimmed ? undefined : color }}>
          {isError ? `${duration} · ${errorLabel}` : duration}
        </span>
      </div>
    </div>
  );
});

/** Overview of the whole trace; click to jump there. */
const Minimap = memo(function Minimap({
  rows,
  bounds,
  onJump,
}: {
  rows: Row<Span>[];
  bounds: TraceBounds;
  onJump: (fraction: number) => void;
}) {
  const { t } = useTranslation();
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const w = c.clientWidth || 600;
    const h = 40;
    const dpr = window.devicePixelRatio || 1;
    c.width = w * dpr;
    c.height = h * dpr;
    const ctx = c.getContext('2d');
    if (!ctx) return;
    ctx.scale(dpr, dpr);
    ctx.clearRect(0, 0, w, h);
    const n = rows.length || 1;
    const lineH = Math.max(1, h / n);
    rows.forEach((r, i) => {
      const g = barGeometry(r.node.span, bounds);
      ctx.fillStyle = r.node.span.statusCode === StatusCode.ERROR ? '#f2495c' : colorFor(r.node.span.serviceName);
      ctx.fillRect(g.left * w, (i / n) * h, Math.max(1, g.width * w), lineH);
    });
  }, [rows, bounds]);
  return (
    <canvas
      ref={canvas}
      className="wf-minimap"
      height={40}
      role="img"
      aria-label={t('trace.minimap')}
      onClick={(e) => {
        const r = e.currentTarget.getBoundingClientRect();
        onJump((e.clientY - r.top) / r.height);
      }}
    />
  );
});
