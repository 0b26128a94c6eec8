// The one chart component: uPlot for time series lines, histogram bars
// (brush to zoom), scatter plots and lanes of marks (one row per series),
// with anomaly detection and forecasts drawn over lines, and spans of time
// shaded behind them (an alert pending or firing). x values are epoch
// seconds, or any quantity an `xAxis` formats (durations on a log scale,
// with 'steps': two distributions over one set of buckets).
import type { TFunction } from 'i18next';
import { Fragment, useEffect, useId, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useTheme } from '../app/theme';
import { ERROR_COLOR } from '../lib/colors';
import { formatDateTime, formatScore, formatShortDateTime, formatTime, formatTimeMs } from '../lib/format';
import type { ChartInsight } from '../lib/insights';
import { ChartTable, SparklineValues, type TableColumn } from './ChartTable';
import './Chart.css';

export interface ChartSeries {
  label: string;
  color: string;
  /** A dashed line (dash and gap lengths in px), e.g. a threshold. */
  dash?: number[];
}

/** A span of time shaded behind the lines. */
export interface ChartRegion {
  /** Epoch seconds, start inclusive, end exclusive. */
  start: number;
  end: number;
  /** "#rrggbb": the span is filled translucent. */
  color: string;
  /** What the span is ("Firing"): in the key, the tooltip and the table. */
  label: string;
}

/** Spans of time shaded behind a line chart, and what they are as a whole ("Alert state"): the table's column. */
export interface ChartRegions {
  label: string;
  spans: ChartRegion[];
}

/**
 * How a 'lanes' chart draws its marks: size and colour from the value (an
 * anomaly's score), and words shown with each mark in the tooltip and the
 * table (its kind), aligned with ys.
 */
export interface LaneMarks {
  style: (v: number) => { radius: number; color: string };
  /** What the notes are, e.g. "Anomaly". */
  noteLabel: string;
  notes: (string | null)[][];
}

/** An x axis that is not time: how its values read, and whether its scale is logarithmic. */
export interface ChartXAxis {
  /** What x is ("Duration"): the table's first column. */
  label: string;
  format: (v: number) => string;
  /** Logarithmic (every x above zero). */
  log?: boolean;
}

export interface ChartProps {
  /**
   * 'lanes': one row per series, its label on the y axis, a mark where its
   * value is not null (see `marks`). 'steps': each value holds from its x
   * to the next, filled beneath (buckets of a histogram, one line per
   * series, so that two distributions show through each other).
   */
  kind: 'line' | 'bars' | 'scatter' | 'lanes' | 'steps';
  /** Epoch seconds, ascending (or values of `xAxis`). */
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
  /**
   * Anomaly detection and forecasts over line series (lib/insights),
   * aligned with x: the expected band, anomalous points marked, the
   * forecast dashed with its 80 % and 95 % intervals.
   */
  insights?: ChartInsight[];
  /** For 'lanes'. */
  marks?: LaneMarks;
  /** For 'line': spans of time shaded behind the lines, ascending, not overlapping. */
  regions?: ChartRegions;
  /** x is not time: formatted by this instead. */
  xAxis?: ChartXAxis;
}

const NO_INSIGHTS: ChartInsight[] = [];

/** The span holding epoch second `at`, if any. */
function regionAt(regions: ChartRegions | undefined, at: number | undefined): ChartRegion | undefined {
  if (!regions || at === undefined) return undefined;
  return regions.spans.find((r) => at >= r.start && at < r.end);
}

// The uPlot series drawn for each insight, after the chart's own: the
// edges of the bands (filled between, not stroked) and the forecast.
const DRAWN = ['lower', 'upper', 'forecast', 'lower80', 'upper80', 'lower95', 'upper95'] as const;

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

/** Where the cursor is; the rows are read from the props when drawn. */
interface Tip {
  left: number;
  top: number;
  idx: number;
}

export function Chart(props: ChartProps) {
  const { kind, x, ys, series, ariaLabel, height = 180, legend, sparkline, yLog, xRange, insights = NO_INSIGHTS, regions, xAxis } = props;
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
  const structure = `${kind}|${series.map((s) => s.label + s.color + (s.dash?.join('.') ?? '')).join(',')}|${sparkline}|${yLog}|${theme}|${height}|${!!xRange}|${insights.map((i) => i.series).join(',')}|${xAxis ? `x:${xAxis.label}:${!!xAxis.log}` : ''}`;
  const data = useMemo(
    () => [x, ...(kind === 'lanes' ? lanePositions(ys) : ys), ...insights.flatMap((ins) => DRAWN.map((k) => ins[k]))] as uPlot.AlignedData,
    [x, ys, insights, kind],
  );

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const axis = cssVar('--chart-axis');
    const grid = cssVar('--chart-grid');
    const surface = cssVar('--surface');
    const fmt = (v: number) => (cb.current.yFormat ? cb.current.yFormat(v) : String(v));
    const axisFmt = (v: number) => (cb.current.yAxisFormat ?? fmt)(v);
    const bars = uPlot.paths.bars?.({ size: [0.9, 60], align: 1 });
    const steps = uPlot.paths.stepped?.({ align: 1 });
    const xFormat = (v: number) => (cb.current.xAxis ? cb.current.xAxis.format(v) : String(v));
    const lanes = kind === 'lanes';
    const marked = kind === 'scatter' || lanes;
    const opts: uPlot.Options = {
      width: Math.max(50, el.clientWidth),
      height,
      legend: { show: false },
      padding: sparkline ? [2, 0, 2, 0] : [8, 8, 0, 0],
      cursor: sparkline
        ? { show: false }
        : {
            drag: { x: !!cb.current.onBrush, y: false, setScale: false },
            // Lanes draw their own marks; the tooltip names the ones under the cursor.
            points: { show: kind !== 'bars' && !lanes },
          },
      select: { show: !!cb.current.onBrush, left: 0, top: 0, width: 0, height: 0 },
      scales: {
        x: xAxis
          ? { time: false, ...(xAxis.log ? { distr: 3 } : {}), ...(xRange ? { range: (_u, min, max) => xr.current ?? [min, max] } : {}) }
          : { time: true, ...(xRange ? { range: (_u, min, max) => xr.current ?? [min, max] } : {}) },
        y: lanes
          ? { range: () => [-0.5, series.length - 0.5] }
          : yLog
            ? { distr: 3 }
            : { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.05 : 1] },
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
                if (xAxis) return splits.map((v) => (v == null ? '' : xFormat(v)));
                const min = u.scales.x?.min ?? 0;
                const max = u.scales.x?.max ?? 0;
                const f = max - min > 86_400 ? formatShortDateTime : formatTime;
                return splits.map((v) => f(v * 1000));
              },
            },
            lanes
              ? {
                  stroke: axis,
                  grid: { stroke: grid, width: 1 },
                  ticks: { stroke: grid },
                  // One split per lane, labelled with its series (shortened: the tooltip and table have it whole).
                  splits: () => series.map((_, i) => i),
                  size: (_u, values) => Math.min(260, Math.max(40, ...(values ?? []).map((v) => v.length * 7 + 18))),
                  values: (_u, splits) => splits.map((v) => shorten(series[series.length - 1 - v]?.label ?? '', 34)),
                }
              : {
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
          width: marked ? 0 : sparkline ? 1.25 : 1.5,
          dash: s.dash,
          fill: kind === 'bars' ? s.color + 'cc' : kind === 'steps' ? s.color + '26' : sparkline ? s.color + '22' : undefined,
          show: !hidden.has(i),
          spanGaps: false,
          paths: kind === 'bars' ? bars : kind === 'steps' ? steps : marked ? () => null : undefined,
          points:
            kind === 'scatter'
              ? { show: true, size: 7, stroke: s.color, fill: s.color + 'aa', width: 1 }
              : { show: false },
        })),
        ...insights.flatMap((ins) => insightSeries(series[ins.series]?.color ?? '#888', !hidden.has(ins.series))),
      ],
      bands: insights.flatMap((ins, j) => insightBands(1 + series.length + j * DRAWN.length, series[ins.series]?.color ?? '#888')),
      hooks: {
        // Behind the series, over the grid.
        drawAxes: [(u) => drawRegions(u, cb.current.regions)],
        draw: [
          (u) => drawAnomalies(u, cb.current.insights ?? NO_INSIGHTS, surface),
          (u) => drawLaneMarks(u, cb.current, surface),
          // A drawn frame, for the UI benchmarks (web/bench) and the browser
          // tests: an event on the element, so nothing accumulates as
          // performance marks would.
          () => el.dispatchEvent(new CustomEvent('airis:chart-drawn', { bubbles: true })),
        ],
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
            const { idx, left, top } = u.cursor;
            setTip(sparkline || idx == null || left == null || left < 0 ? null : { left, top: top ?? 0, idx });
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
      if (marked) {
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

  // Drawn from the props at each frame: a change alone needs a frame.
  useEffect(() => {
    plot.current?.redraw(false);
  }, [regions]);

  const [xMin, xMax] = xRange ?? [null, null];
  useEffect(() => {
    if (xMin !== null && xMax !== null) plot.current?.setScale('x', { min: xMin, max: xMax });
  }, [xMin, xMax]);

  const toggle = (i: number) => {
    setHidden((prev) => {
      const next = new Set(prev);
      if (next.has(i)) next.delete(i);
      else next.add(i);
      const show = !next.has(i);
      plot.current?.setSeries(i + 1, { show });
      // The series' band and forecast go with it.
      insights.forEach((ins, j) => {
        if (ins.series !== i) return;
        const first = 1 + series.length + j * DRAWN.length;
        DRAWN.forEach((_, k) => plot.current?.setSeries(first + k, { show }));
      });
      return next;
    });
  };

  const tableFormat = props.yFormat ?? String;
  const tipRowsShown = tip ? tipRows(props, hidden, tip.idx, t) : [];
  const tipTime = tip ? x[tip.idx] : undefined;
  const tipRegion = regionAt(regions, tipTime);

  return (
    <figure className={`chart ${sparkline ? 'chart-spark' : ''}`} aria-label={ariaLabel}>
      <div className="chart-canvas" ref={ref} style={{ height }} />
      {tip && tipTime !== undefined && (tipRowsShown.length > 0 || tipRegion) && (
        <div
          className="chart-tip"
          style={{ left: Math.min(tip.left + 14, (ref.current?.clientWidth ?? 400) - 220), top: Math.max(0, tip.top - 10) }}
          aria-hidden="true"
        >
          <div className="chart-tip-time">
            {xAxis ? xAxis.format(tipTime) : kind === 'scatter' ? formatTimeMs(tipTime * 1000) : formatDateTime(tipTime * 1000)}
          </div>
          {tipRegion && (
            <div className="chart-tip-row">
              <span className="swatch" style={{ background: tipRegion.color }} />
              <span className="chart-tip-label">{tipRegion.label}</span>
            </div>
          )}
          {tipRowsShown.map((r) => (
            <Fragment key={r.label}>
              <div className="chart-tip-row">
                <span className="swatch" style={{ background: r.color }} />
                <span className="chart-tip-label">{r.label}</span>
                <span className="chart-tip-value">{r.value}</span>
              </div>
              {r.details.map((d) => (
                <div key={d.label} className="chart-tip-row chart-tip-detail">
                  <span className="chart-tip-label">{d.label}</span>
                  <span className="chart-tip-value">{d.value}</span>
                </div>
              ))}
            </Fragment>
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
      {insights.length > 0 && !sparkline && <InsightKey insights={insights} />}
      {regions && regions.spans.length > 0 && !sparkline && <RegionKey regions={regions} />}
      {showTable && !sparkline && (
        <ChartTable id={tableId} caption={ariaLabel} x={x} columns={tableColumns(props, t)} precise={kind === 'scatter'} xAxis={xAxis} />
      )}
    </figure>
  );
}

/** An insight's uPlot series, in DRAWN's order: the band edges as fill only, the forecast as a dashed line. */
function insightSeries(color: string, show: boolean): uPlot.Series[] {
  return DRAWN.map((k) =>
    k === 'forecast'
      ? { label: k, stroke: color, width: 1.5, dash: [6, 4], show, spanGaps: false, points: { show: false } }
      : // No hover dot on an edge (size 0): the tooltip gives the band.
        { label: k, stroke: color, width: 0, show, spanGaps: false, points: { show: false, size: 0 } },
  );
}

/** The translucent bands of an insight whose series start at uPlot index `first`. */
function insightBands(first: number, color: string): uPlot.Band[] {
  const at = (k: (typeof DRAWN)[number]) => first + DRAWN.indexOf(k);
  return [
    { series: [at('upper'), at('lower')], fill: color + '30' },
    // The 80 % interval lies inside the 95 % one: filled over it, it shows darker.
    { series: [at('upper95'), at('lower95')], fill: color + '1c' },
    { series: [at('upper80'), at('lower80')], fill: color + '1c' },
  ];
}

/** Each lane's series index → its row on the y axis (the first series at the top), where it has a value. */
function lanePositions(ys: (number | null)[][]): (number | null)[][] {
  return ys.map((col, i) => col.map((v) => (v == null ? null : ys.length - 1 - i)));
}

/** A label cut to `max` characters, with an ellipsis when cut. */
function shorten(label: string, max: number): string {
  return label.length > max ? label.slice(0, max - 1) + '…' : label;
}

/** A 'lanes' chart's marks: circles sized and coloured from their values, outlined. */
function drawLaneMarks(u: uPlot, { kind, ys, marks }: ChartProps, outline: string) {
  if (kind !== 'lanes' || !marks) return;
  const ctx = u.ctx;
  const xs = u.data[0];
  ctx.save();
  ctx.beginPath();
  ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
  ctx.clip();
  ctx.strokeStyle = outline;
  ctx.lineWidth = uPlot.pxRatio;
  ys.forEach((col, i) => {
    const rows = u.data[i + 1];
    if (!rows || !u.series[i + 1]?.show) return;
    col.forEach((v, j) => {
      const row = rows[j];
      const t = xs[j];
      if (v == null || row == null || t == null) return;
      const { radius, color } = marks.style(v);
      ctx.beginPath();
      ctx.arc(u.valToPos(t, 'x', true), u.valToPos(row, 'y', true), radius * uPlot.pxRatio, 0, 2 * Math.PI);
      ctx.fillStyle = color;
      ctx.fill();
      ctx.stroke();
    });
  });
  ctx.restore();
}

/**
 * Anomalous points as diamonds in the anomaly colour, outlined: a shape,
 * not only a colour, sets them apart from the lines.
 */
function drawAnomalies(u: uPlot, insights: readonly ChartInsight[], outline: string) {
  if (!insights.length) return;
  const ctx = u.ctx;
  const r = 5 * uPlot.pxRatio;
  ctx.save();
  ctx.beginPath();
  ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
  ctx.clip();
  ctx.fillStyle = ERROR_COLOR;
  ctx.strokeStyle = outline;
  ctx.lineWidth = 1.5 * uPlot.pxRatio;
  for (const ins of insights) {
    const ys = u.data[ins.series + 1];
    if (!ys || !u.series[ins.series + 1]?.show) continue;
    ins.anomaly.forEach((kind, i) => {
      const v = ys[i];
      const t = u.data[0][i];
      if (kind == null || v == null || t == null) return;
      const cx = u.valToPos(t, 'x', true);
      const cy = u.valToPos(v, 'y', true);
      ctx.beginPath();
      ctx.moveTo(cx, cy - r);
      ctx.lineTo(cx + r, cy);
      ctx.lineTo(cx, cy + r);
      ctx.lineTo(cx - r, cy);
      ctx.closePath();
      ctx.fill();
      ctx.stroke();
    });
  }
  ctx.restore();
}

interface TipRow {
  label: string;
  color: string;
  value: string;
  raw: number;
  /** For an anomalous point: kind, score, expected value and band; for a forecast: its intervals. */
  details: { label: string; value: string }[];
}

/** The tooltip's rows at data index `idx`: shown series, largest first, at most 12. */
function tipRows({ series, ys, insights = NO_INSIGHTS, yFormat = String, marks }: ChartProps, hidden: Set<number>, idx: number, t: TFunction): TipRow[] {
  const value = (v: number | null | undefined) => (v == null ? '–' : yFormat(v));
  const between = (lo: number | null | undefined, hi: number | null | undefined) => `${value(lo)} – ${value(hi)}`;
  const rows: TipRow[] = [];
  series.forEach((s, i) => {
    if (hidden.has(i)) return;
    const ins = insights.find((n) => n.series === i);
    const v = ys[i]?.[idx];
    const kind = ins?.anomaly[idx];
    const note = marks?.notes[i]?.[idx];
    if (v != null) {
      rows.push({
        label: s.label,
        // A lane's mark has its own colour.
        color: marks ? marks.style(v).color : s.color,
        value: yFormat(v),
        raw: v,
        details:
          marks && note
            ? [{ label: marks.noteLabel, value: note }]
            : ins && kind != null
              ? [
                  { label: t('chart.anomaly'), value: kind },
                  { label: t('chart.score'), value: formatScore(ins.score[idx] ?? 0) },
                  // A stored minute's anomaly on a wider step has no expected value of the point.
                  ...(ins.expected[idx] != null
                    ? [
                        { label: t('chart.expected'), value: value(ins.expected[idx]) },
                        { label: t('chart.band'), value: between(ins.lower[idx], ins.upper[idx]) },
                      ]
                    : []),
                ]
              : [],
      });
    }
    const f = ins?.forecast[idx];
    if (ins && f != null) {
      rows.push({
        label: t('chart.forecastOf', { series: s.label }),
        color: s.color,
        value: yFormat(f),
        raw: f,
        details: [
          { label: t('chart.interval80'), value: between(ins.lower80[idx], ins.upper80[idx]) },
          { label: t('chart.interval95'), value: between(ins.lower95[idx], ins.upper95[idx]) },
        ],
      });
    }
  });
  return rows.sort((p, q) => q.raw - p.raw).slice(0, 12);
}

/** The table's columns: each series, then what its insight adds (columns with no value left out). */
function tableColumns({ x, series, ys, insights = NO_INSIGHTS, yFormat = String, marks, regions }: ChartProps, t: TFunction): TableColumn[] {
  const columns: TableColumn[] = series.map((s, i) => ({
    label: s.label,
    // A lane's values with their notes: "0.93 (spike)".
    values: marks
      ? (ys[i] ?? []).map((v, j) => {
          const note = marks.notes[i]?.[j];
          return v == null ? null : note ? `${yFormat(v)} (${note})` : yFormat(v);
        })
      : (ys[i] ?? []),
    format: yFormat,
  }));
  for (const ins of insights) {
    const name = series[ins.series]?.label ?? '';
    const added: [string, TableColumn['values'], (v: number) => string][] = [
      [t('chart.expected'), ins.expected, yFormat],
      [t('chart.lower'), ins.lower, yFormat],
      [t('chart.upper'), ins.upper, yFormat],
      [t('chart.score'), ins.score, formatScore],
      [t('chart.anomaly'), ins.anomaly, yFormat],
      [t('chart.forecast'), ins.forecast, yFormat],
      [t('chart.lower80'), ins.lower80, yFormat],
      [t('chart.upper80'), ins.upper80, yFormat],
      [t('chart.lower95'), ins.lower95, yFormat],
      [t('chart.upper95'), ins.upper95, yFormat],
    ];
    for (const [what, values, format] of added) {
      if (values.some((v) => v != null)) columns.push({ label: t('chart.column', { series: name, what }), values, format });
    }
  }
  if (regions) columns.push({ label: regions.label, values: x.map((at) => regionAt(regions, at)?.label ?? null), format: String });
  return columns;
}

/** What the shaded spans are, each kind once. */
function RegionKey({ regions }: { regions: ChartRegions }) {
  const kinds = new Map<string, string>();
  for (const r of regions.spans) if (!kinds.has(r.label)) kinds.set(r.label, r.color);
  return (
    <ul className="chart-key" aria-label={regions.label}>
      {[...kinds].map(([label, color]) => (
        <li key={label}>
          <span className="key-region" style={{ background: color + '40', borderColor: color }} aria-hidden="true" />
          {label}
        </li>
      ))}
    </ul>
  );
}

/** Shaded spans of time across the plot's height, translucent so the grid and lines show through. */
function drawRegions(u: uPlot, regions: ChartRegions | undefined) {
  if (!regions?.spans.length) return;
  const ctx = u.ctx;
  const { left, top, width, height } = u.bbox;
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, width, height);
  ctx.clip();
  for (const r of regions.spans) {
    const x0 = Math.max(left, u.valToPos(r.start, 'x', true));
    const x1 = Math.min(left + width, u.valToPos(r.end, 'x', true));
    if (!(x1 > x0)) continue;
    ctx.fillStyle = r.color + '33';
    ctx.fillRect(x0, top, x1 - x0, height);
  }
  ctx.restore();
}

/** What the marks over the lines mean (the legend lists the series): those the insights have. */
function InsightKey({ insights }: { insights: readonly ChartInsight[] }) {
  const { t } = useTranslation();
  const has = (k: 'upper' | 'forecast') => insights.some((ins) => ins[k].some((v) => v != null));
  // Anomalies alone (continuous detection's) have no forecast.
  const forecast = has('forecast');
  return (
    <ul className="chart-key" aria-label={t('chart.key')}>
      <li>
        <span className="key-anomaly" aria-hidden="true" />
        {t('chart.anomalousPoint')}
      </li>
      {(forecast || has('upper')) && (
        <li>
          <span className="key-band" aria-hidden="true" />
          {t('chart.band')}
        </li>
      )}
      {forecast && (
        <>
          <li>
            <span className="key-forecast" aria-hidden="true" />
            {t('chart.forecast')}
          </li>
          <li>
            <span className="key-intervals" aria-hidden="true" />
            {t('chart.intervals')}
          </li>
        </>
      )}
    </ul>
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
