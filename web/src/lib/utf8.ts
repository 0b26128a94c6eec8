// The query service reports log highlights as byte ranges of the body's
// UTF-8 encoding; JavaScript strings index UTF-16 code units. These helpers
// convert between the two so Korean text and emoji highlight correctly.

/** Bytes used by one code point in UTF-8. */
function utf8Len(cp: number): number {
  if (cp < 0x80) return 1;
  if (cp < 0x800) return 2;
  if (cp < 0x10000) return 3;
  return 4;
}

/**
 * Maps UTF-8 byte offsets to UTF-16 indices of `text`. An offset inside a
 * multi-byte character snaps to that character's start; offsets past the end
 * map to `text.length`.
 */
export function byteOffsetsToIndices(text: string, offsets: readonly number[]): number[] {
  const order = offsets.map((o, i) => [o, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(offsets.length);
  let byte = 0;
  let idx = 0;
  let k = 0;
  while (k < order.length) {
    const [target, at] = order[k]!;
    if (idx >= text.length) {
      out[at] = text.length;
      k++;
      continue;
    }
    const cp = text.codePointAt(idx)!;
    const len = utf8Len(cp);
    if (target < byte + len) {
      // At the character start, or inside it (snap to its start).
      out[at] = idx;
      k++;
      continue;
    }
    byte += len;
    idx += cp > 0xffff ? 2 : 1;
  }
  return out;
}

export interface Segment {
  text: string;
  match: boolean;
}

/**
 * Splits `text` into plain and highlighted segments from UTF-8 byte ranges
 * `[start, end)`. Overlapping or unsorted ranges are merged; empty ones are
 * dropped.
 */
export function highlightSegments(
  text: string,
  ranges: readonly { start: number; end: number }[],
): Segment[] {
  const flat = ranges.flatMap((r) => [r.start, r.end]);
  const idx = byteOffsetsToIndices(text, flat);
  const spans: [number, number][] = [];
  for (let i = 0; i < ranges.length; i++) {
    const s = idx[2 * i]!;
    const e = idx[2 * i + 1]!;
    if (e > s) spans.push([s, e]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const sp of spans) {
    const last = merged[merged.length - 1];
    if (last && sp[0] <= last[1]) last[1] = Math.max(last[1], sp[1]);
    else merged.push([sp[0], sp[1]]);
  }
  const out: Segment[] = [];
  let pos = 0;
  for (const [s, e] of merged) {
    if (s > pos) out.push({ text: text.slice(pos, s), match: false });
    out.push({ text: text.slice(s, e), match: true });
    pos = e;
  }
  if (pos < text.length || out.length === 0) out.push({ text: text.slice(pos), match: false });
  return out;
}
