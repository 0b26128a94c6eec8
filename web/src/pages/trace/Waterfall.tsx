// Virtualized waterfall: only the visible rows are in the DOM, so traces of
// 10k spans scroll smoothly.
import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { StatusCode, type Span } from '../../gen/airis/analytics/v1/query_pb';
import { colorFor } from '../../lib/colors';
import { formatDurationNanos } from '../../lib/format';
import { barGeometry, type Row, type TraceBounds } from '../../lib/waterfall';
import { Icon } from '../../components/Icon';

const ROW_HEIGHT = 24;
const INDENT = 14;

interface Props {
  rows: Row<Span>[];
  bounds: TraceBounds;
  critical: Set<string> | null;
  matches: Set<string> | null;
  selectedId: string;
  onSelect: (s: Span) => void;
  onToggle: (id: string) => void;
}

export function Waterfall({ rows, bounds, critical, matches, selectedId, onSelect, onToggle }: Props) {
  const { t } = useTranslation();
  const scroller = useRef<HTMLDivElement>(null);
  const v = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 20,
  });
  const total = bounds.endNano - bounds.startNano;

  // Bring the selected span into view when opened from a link.
  useEffect(() => {
    if (!selectedId) return;
    const i = rows.findIndex((r) => r.node.span.spanId === selectedId);
    if (i >= 0) v.scrollToIndex(i, { align: 'auto' });
    // Only on selection changes.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [selectedId]);

  return (
    <div className="waterfall">
      <Minimap rows={rows} bounds={bounds} onJump={(f) => v.scrollToIndex(Math.floor(f * rows.length), { align: 'start' })} />
      <div className="wf-axis" aria-hidden="true">
        <div className="wf-axis-name">{t('trace.service')} / {t('trace.operation')}</div>
        <div className="wf-axis-ticks">
          {[0, 0.25, 0.5, 0.75, 1].map((f) => (
            <span key={f} style={{ left: `${f * 100}%` }}>
              {formatDurationNanos(Number(total) * f)}
            </span>
          ))}
        </div>
      </div>
      <div className="wf-scroll" ref={scroller} role="list" aria-label={t('trace.waterfall')}>
        <div style={{ height: v.getTotalSize(), position: 'relative' }}>
          {v.getVirtualItems().map((item) => {
            const row = rows[item.index]!;
            return (
              <WaterfallRow
                key={row.node.span.spanId}
                row={row}
                top={item.start}
                bounds={bounds}
                onCritical={!!critical?.has(row.node.span.spanId)}
                dimmed={!!matches && !matches.has(row.node.span.spanId)}
                selected={row.node.span.spanId === selectedId}
                onSelect={onSelect}
                onToggle={onToggle}
                level={row.depth + 1}
              />
            );
          })}
        </div>
      </div>
    </div>
  );
}

const WaterfallRow = memo(function WaterfallRow({
  row,
  top,
  bounds,
  onCritical,
  dimmed,
  selected,
  onSelect,
  onToggle,
  level,
}: {
  row: Row<Span>;
  top: number;
  bounds: TraceBounds;
  onCritical: boolean;
  dimmed: boolean;
  selected: boolean;
  onSelect: (s: Span) => void;
  onToggle: (id: string) => void;
  level: number;
}) {
  const { t } = useTranslation();
  const s = row.node.span;
  const g = barGeometry(s, bounds);
  const color = colorFor(s.serviceName);
  const isError = s.statusCode === StatusCode.ERROR;
  const duration = formatDurationNanos(s.durationNano);
  return (
    <div
      className={`wf-row ${selected ? 'selected' : ''} ${onCritical ? 'critical' : ''} ${dimmed ? 'dimmed' : ''}`}
      style={{ transform: `translateY(${top}px)` }}
      data-testid="waterfall-row"
      role="listitem"
      aria-level={level}
    >
      <div className="wf-name" style={{ paddingLeft: row.depth * INDENT }}>
        {row.hasChildren ? (
          <button
            type="button"
            className="wf-toggle"
            aria-expanded={!row.collapsed}
            aria-label={t(row.collapsed ? 'trace.expand' : 'trace.collapse', { name: s.name })}
            onClick={() => onToggle(s.spanId)}
          >
            <Icon name={row.collapsed ? 'chevronRight' : 'chevronDown'} size={12} />
            {row.collapsed && <span className="wf-hidden-count">{row.node.size - 1}</span>}
          </button>
        ) : (
          <span className="wf-toggle-space" />
        )}
        <button type="button" className="wf-select" aria-current={selected ? 'true' : undefined} onClick={() => onSelect(s)} title={`${s.serviceName}: ${s.name}`}>
          <span className="wf-svc" style={{ borderColor: color }}>
            {s.serviceName}
          </span>
          <span className={`wf-op ${isError ? 'text-error' : ''}`}>{s.name}</span>
          <span className="sr-only">
            {duration}
            {isError ? `, ${t('status.error')}` : ''}
          </span>
        </button>
      </div>
      <button type="button" className="wf-timeline" tabIndex={-1} aria-hidden="true" onClick={() => onSelect(s)}>
        <span
          className={`wf-bar ${isError ? 'error' : ''}`}
          style={{ left: `${g.left * 100}%`, width: `max(2px, ${g.width * 100}%)`, background: color }}
        />
        <span className="wf-dur" style={{ left: `calc(${(g.left + g.width) * 100}% + 4px)` }}>
          {duration}
        </span>
      </button>
    </div>
  );
});

/** Overview of the whole trace; click to jump there. */
function Minimap({ rows, bounds, onJump }: { rows: Row<Span>[]; bounds: TraceBounds; onJump: (fraction: number) => void }) {
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
}
