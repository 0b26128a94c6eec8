import { nanosToMs } from '../../lib/time';

/**
 * The value of the latest bucket that lies wholly inside the range: the
 * bucket still filling up would read low for a rate. Returned as the API
 * computed it.
 */
export function latestFullValue(
  points: readonly { timeUnixNano: bigint; value: number }[],
  stepSeconds: number,
  endMs: number,
): number | null {
  for (let i = points.length - 1; i >= 0; i--) {
    const p = points[i]!;
    if (nanosToMs(p.timeUnixNano) + stepSeconds * 1000 <= endMs) return p.value;
  }
  const last = points[points.length - 1];
  return last ? last.value : null;
}
