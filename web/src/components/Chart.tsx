// The one chart component: uPlot for time series lines, histogram bars
// (brush to zoom) and scatter plots. x values are epoch seconds.
import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useTheme } from '../app/theme';
import { formatDateTime, formatShortDateTime, formatTime, formatTimeMs } from '../lib/format';
import { ChartTable, SparklineValues } from './ChartTable';
import './Chart.css';

export interface ChartSeries {
  label: string;
  color: string;
}

export interface ChartProps {
  kind: 'line' | 'bars' | 'scatter';
  /** Epoch seconds, ascending. */
  x: number[];
  /** One array per series, aligned with x; null is a gap. */
  ys: (number | null)[][];
  series: ChartSeries[];
  /** Accessible description of what the chart shows. */
  ariaLabel: string;
  height?: number;
  /** Tooltip values. */
  yFormat?: (v: number) => string;
  /** Axis labels; defaults to yFormat. */
  yAxisFormat?: (v: number) => string;
  /** Interactive legend (toggle series). */
  legend?: boolean;
  /** Tiny inline chart: no axes, no cursor. */
  sparkline?: boolean;
  /** Drag across the chart: the selected time window in epoch ms. */
  onBrush?: (startMs: number, endMs: number) => void;
  /** Click near a point (scatter) or on a bucket: series and data index. */
  onPointClick?: (seriesIndex: number, dataIndex: number) => void;
  yLog?: boolean;
  /** Fix the x scale (epoch seconds) so empty edges still show. */
  xRange?: [number, number];
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

interface Tip {
  left: number;
  top: number;
  time: number;
  rows: { label: string; color: string; value: string; raw: number }[];
}

export function Chart(props: ChartProps) {
  const { kind, x, ys, series, ariaLabel, height = 180, legend, sparkline, yLog, xRange } = props;
  const theme = useTheme();
  const ref = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [hidden, setHidden] = useState<Set<number>>(() => new Set());
  const [tip, setTip] = useState<Tip | null>(null);
  const [showTable, setShowTable] = useState(false);
  const tableId = useId();
  const { t } = useTranslation();
  // Callbacks read through a ref so the chart is not rebuilt when they change.
  const cb = useRef(props);
  cb.current = props;

  // The x range can change without the structure (a new time window):
  // read through a ref, applied below.
  const xr = useRef(xRange);
  xr.current = xRange;
  const structure = `${kind}|${series.map((s) => s.label + s.color).join(',')}|${sparkline}|${yLog}|${theme}|${height}|${!!xRange}`;
  const data = useMemo(() => [x, ...ys] as uPlot.AlignedData, [x, ys]);

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const axis = cssVar('--chart-axis');
    const grid = cssVar('--chart-grid');
    const fmt = (v: number) => (cb.current.yFormat ? cb.current.yFormat(v) : String(v));
    const axisFmt = (v: number) => (cb.current.yAxisFormat ?? fmt)(v);
    const bars = uPlot.paths.bars?.({ size: [0.9, 60], align: 1 });
    const opts: uPlot.Options = {
      width: Math.max(50, el.clientWidth),
      height,
      legend: { show: false },
      padding: sparkline ? [2, 0, 2, 0] : [8, 8, 0, 0],
      cursor: sparkline
        ? { show: false }
        : {
            drag: { x: !!cb.current.onBrush, y: false, setScale: false },
            points: { show: kind !== 'bars' },
          },
      select: { show: !!cb.current.onBrush, left: 0, top: 0, width: 0, height: 0 },
      scales: {
        x: { time: true, ...(xRange ? { range: (_u, min, max) => xr.current ?? [min, max] } : {}) },
        y: yLog ? { distr: 3 } : { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.05 : 1] },
      },
      axes: sparkline
        ? [{ show: false }, { show: false }]
        : [
            {
              stroke: axis,
              grid: { stroke: grid, width: 1 },
              ticks: { stroke: grid },
              // Locale-aware 24-hour labels; the date is added when the view spans days.
              values: (u, splits) => {
                const min = u.scales.x?.min ?? 0;
                const max = u.scales.x?.max ?? 0;
                const f = max - min > 86_400 ? formatShortDateTime : formatTime;
                return splits.map((v) => f(v * 1000));
              },
            },
            {
              stroke: axis,
              grid: { stroke: grid, width: 1 },
              ticks: { stroke: grid },
              // Wide enough for the longest label.
              size: (_u, values) => Math.min(140, Math.max(40, ...(values ?? []).map((v) => v.length * 7 + 18))),
              values: (_u, splits) => splits.map((v) => (v == null ? '' : axisFmt(v))),
            },
          ],
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: s.color,
          width: kind === 'scatter' ? 0 : sparkline ? 1.25 : 1.5,
          fill: kind === 'bars' ? s.color + 'cc' : sparkline ? s.color + '22' : undefined,
          show: !hidden.has(i),
          spanGaps: false,
          paths: kind === 'bars' ? bars : kind === 'scatter' ? () => null : undefined,
          points:
            kind === 'scatter'
              ? { show: true, size: 7, stroke: s.color, fill: s.color + 'aa', width: 1 }
              : { show: false },
        })),
      ],
      hooks: {
        // A drawn frame, for the UI benchmarks (web/bench): an event on the
        // element, so nothing accumulates as performance marks would.
        draw: [() => el.dispatchEvent(new CustomEvent('airis:chart-drawn', { bubbles: true }))],
        setSelect: [
          (u) => {
            const onBrush = cb.current.onBrush;
            if (!onBrush || u.select.width < 4) return;
            const a = u.posToVal(u.select.left, 'x');
            const b = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            onBrush(a * 1000, b * 1000);
          },
        ],
        setCursor: [
          (u) => {
            const idx = u.cursor.idx;
            if (sparkline || idx == null || u.cursor.left == null || u.cursor.left < 0) {
              setTip(null);
              return;
            }
            const t = u.data[0][idx];
            if (t == null) return;
            const rows: Tip['rows'] = [];
            for (let s = 1; s < u.series.length; s++) {
              if (!u.series[s]!.show) continue;
              const v = u.data[s]?.[idx];
              if (v == null) continue;
              rows.push({ label: String(u.series[s]!.label), color: cb.current.series[s - 1]?.color ?? '#888', value: fmt(v), raw: v });
            }
            rows.sort((p, q) => q.raw - p.raw);
            setTip(rows.length ? { left: u.cursor.left, top: u.cursor.top ?? 0, time: t, rows: rows.slice(0, 12) } : null);
          },
        ],
      },
    };
    const u = new uPlot(opts, data, el);
    plot.current = u;

    const onClick = (ev: MouseEvent) => {
      const handler = cb.current.onPointClick;
      if (!handler || u.select.width > 4) return;
      const rect = u.over.getBoundingClientRect();
      const cx = ev.clientX - rect.left;
      const cy = ev.clientY - rect.top;
      if (kind === 'scatter') {
        // The nearest drawn point within 14 px, across all series.
        let best: [number, number] | null = null;
        let bestD = 14 * 14;
        const xs = u.data[0];
        for (let s = 1; s < u.data.length; s++) {
          if (!u.series[s]!.show) continue;
          const col = u.data[s]!;
          for (let i = 0; i < xs.length; i++) {
            const v = col[i];
            if (v == null) continue;
            const dx = u.valToPos(xs[i]!, 'x') - cx;
            const dy = u.valToPos(v, 'y') - cy;
            const d = dx * dx + dy * dy;
            if (d < bestD) {
              bestD = d;
              best = [s - 1, i];
            }
          }
        }
        if (best) handler(best[0], best[1]);
      } else if (u.cursor.idx != null) {
        handler(0, u.cursor.idx);
      }
    };
    u.over.addEventListener('click', onClick);
    const leave = () => setTip(null);
    u.over.addEventListener('mouseleave', leave);

    const ro = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (w > 0 && Math.abs(w - u.width) > 1) u.setSize({ width: w, height });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.over.removeEventListener('click', onClick);
      u.over.removeEventListener('mouseleave', leave);
      u.destroy();
      plot.current = null;
    };
    // Rebuilt only when the structure changes; data updates use setData.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [structure]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  const [xMin, xMax] = xRange ?? [null, null];
  useEffect(() => {
    if (xMin !== null && xMax !== null) plot.current?.setScale('x', { min: xMin, max: xMax });
  }, [xMin, xMax]);

  const toggle = (i: number) => {
    setHidden((prev) => {
      const next = new Set(prev);
      if (next.has(i)) next.delete(i);
      else next.add(i);
      plot.current?.setSeries(i + 1, { show: !next.has(i) });
      return next;
    });
  };

  const tableFormat = props.yFormat ?? String;

  return (
    <figure className={`chart ${sparkline ? 'chart-spark' : ''}`} aria-label={ariaLabel}>
      <div className="chart-canvas" ref={ref} style={{ height }} />
      {tip && (
        <div
          className="chart-tip"
          style={{ left: Math.min(tip.left + 14, (ref.current?.clientWidth ?? 400) - 220), top: Math.max(0, tip.top - 10) }}
          aria-hidden="true"
        >
          <div className="chart-tip-time">{kind === 'scatter' ? formatTimeMs(tip.time * 1000) : formatDateTime(tip.time * 1000)}</div>
          {tip.rows.map((r) => (
            <div key={r.label} className="chart-tip-row">
              <span className="swatch" style={{ background: r.color }} />
              <span className="chart-tip-label">{r.label}</span>
              <span className="chart-tip-value">{r.value}</span>
            </div>
          ))}
        </div>
      )}
      {sparkline ? (
        <SparklineValues x={x} ys={ys} series={series} format={tableFormat} />
      ) : (
        <div className="chart-foot">
          {legend && series.length > 0 && <ChartLegend series={series} hidden={hidden} onToggle={toggle} />}
          <button
            type="button"
            className="btn btn-small chart-table-toggle"
            aria-expanded={showTable}
            aria-controls={showTable ? tableId : undefined}
            onClick={() => setShowTable((v) => !v)}
          >
            {showTable ? t('chart.hideTable') : t('chart.showTable')}
          </button>
        </div>
      )}
      {showTable && !sparkline && (
        <ChartTable id={tableId} caption={ariaLabel} x={x} ys={ys} series={series} format={tableFormat} precise={kind === 'scatter'} />
      )}
    </figure>
  );
}

/** Series to show or hide (toggle buttons, their state announced). */
function ChartLegend({ series, hidden, onToggle }: { series: ChartSeries[]; hidden: Set<number>; onToggle: (i: number) => void }) {
  return (
    <div className="chart-legend">
      {series.map((s, i) => (
        <button
          key={s.label + i}
          type="button"
          className={`legend-item ${hidden.has(i) ? 'off' : ''}`}
          aria-pressed={!hidden.has(i)}
          onClick={() => onToggle(i)}
        >
          <span className="swatch" style={{ background: s.color }} />
          {s.label}
        </button>
      ))}
    </div>
  );
}

export default Chart;
