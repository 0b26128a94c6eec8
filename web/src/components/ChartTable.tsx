// A chart's numbers without the mouse: one row per time, one column per
// series, for keyboard and screen-reader users (and for copying).
import { useTranslation } from 'react-i18next';
import { formatDateTime, formatTime, formatTimeMs } from '../lib/format';
import type { ChartSeries } from './Chart';
import { TableHead } from './TableHead';

interface DataProps {
  /** Epoch seconds. */
  x: number[];
  ys: (number | null)[][];
  series: ChartSeries[];
  format: (v: number) => string;
}

function cell(v: number | null | undefined, format: (v: number) => string): string {
  return v == null ? '–' : format(v);
}

export function ChartTable({ id, caption, x, ys, series, format, precise }: DataProps & { id: string; caption: string; precise: boolean }) {
  const { t } = useTranslation();
  // Scatter points are single traces: their times need the milliseconds.
  const time = precise ? formatTimeMs : formatDateTime;
  return (
    // Focusable so that the keyboard can scroll it.
    <div className="table-wrap chart-table" id={id} role="region" aria-label={caption} tabIndex={0}>
      <table className="data">
        <caption className="sr-only">{caption}</caption>
        <TableHead columns={[{ label: t('chart.time') }, ...series.map((s) => ({ label: s.label, numeric: true }))]} />
        <tbody>
          {x.map((at, i) => (
            <tr key={i}>
              <th scope="row" className="nowrap">
                {time(at * 1000)}
              </th>
              {ys.map((col, j) => (
                <td className="num" key={j}>
                  {cell(col[i], format)}
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
