// A chart's numbers without the mouse: one row per time, one column per
// series (and per value an insight adds to it), for keyboard and
// screen-reader users (and for copying).
import { useTranslation } from 'react-i18next';
import { formatDateTime, formatTime, formatTimeMs } from '../lib/format';
import type { ChartSeries, ChartXAxis } from './Chart';
import { TableHead } from './TableHead';

interface DataProps {
  /** Epoch seconds. */
  x: number[];
  ys: (number | null)[][];
  series: ChartSeries[];
  format: (v: number) => string;
}

/** A column of the table: numbers formatted with `format`, words (an anomaly's kind) as they are. */
export interface TableColumn {
  label: string;
  values: readonly (number | string | null | undefined)[];
  format: (v: number) => string;
}

function cell(v: number | string | null | undefined, format: (v: number) => string): string {
  return v == null ? '–' : typeof v === 'string' ? v : format(v);
}

export function ChartTable({
  id,
  caption,
  x,
  columns,
  precise,
  xAxis,
}: {
  id: string;
  caption: string;
  /** Epoch seconds, or values of `xAxis`. */
  x: number[];
  columns: TableColumn[];
  precise: boolean;
  /** x is not time: its column's label and format. */
  xAxis?: ChartXAxis;
}) {
  const { t } = useTranslation();
  const numeric = columns.map((c) => !c.values.some((v) => typeof v === 'string'));
  // Scatter points are single traces: their times need the milliseconds.
  const time = precise ? formatTimeMs : formatDateTime;
  return (
    // Focusable so that the keyboard can scroll it.
    <div className="table-wrap chart-table" id={id} role="region" aria-label={caption} tabIndex={0}>
      <table className="data">
        <caption className="sr-only">{caption}</caption>
        <TableHead
          columns={[{ label: xAxis?.label ?? t('chart.time') }, ...columns.map((c, j) => ({ label: c.label, numeric: numeric[j] }))]}
        />
        <tbody>
          {x.map((at, i) => (
            <tr key={i}>
              <th scope="row" className="nowrap">
                {xAxis ? xAxis.format(at) : time(at * 1000)}
              </th>
              {columns.map((c, j) => (
                <td className={numeric[j] ? 'num' : undefined} key={j}>
                  {cell(c.values[i], c.format)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * A sparkline's values for screen readers only: it sits in a table cell
 * beside the same figures in full, where a toggle per row would only add
 * stops to the keyboard's path.
 */
export function SparklineValues({ x, ys, series, format }: DataProps) {
  return (
    <ul className="sr-only">
      {x.map((at, i) => (
        <li key={i}>
          {formatTime(at * 1000)}: {ys.map((col, j) => `${series[j]?.label ?? ''} ${cell(col[i], format)}`).join(', ')}
        </li>
      ))}
    </ul>
  );
}
