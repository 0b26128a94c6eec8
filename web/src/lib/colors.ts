// Series and service colours: distinct, readable on dark and light backgrounds.
export const PALETTE = [
  '#5794f2',
  '#73bf69',
  '#ff9830',
  '#b877d9',
  '#f2cc0c',
  '#8ab8ff',
  '#fade2a',
  '#37872d',
  '#e0752d',
  '#1f9c9c',
  '#c4162a',
  '#8f3bb8',
];

export const ERROR_COLOR = '#f2495c';
export const OK_COLOR = '#5794f2';

/** Stable colour for a name (FNV-1a hash into the palette). */
export function colorFor(name: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return PALETTE[(h >>> 0) % PALETTE.length]!;
}

/** Health colour of an error rate: green < 1 %, amber < 5 %, red otherwise. */
export type Health = 'ok' | 'warn' | 'bad';
export function healthOf(errorRate: number): Health {
  if (errorRate < 0.01) return 'ok';
  if (errorRate < 0.05) return 'warn';
  return 'bad';
}
export const HEALTH_COLOR: Record<Health, string> = { ok: '#3fb950', warn: '#e3a008', bad: '#f2495c' };

/** Text class for a health state: theme colours with readable contrast. */
export function healthTextClass(errorRate: number): string {
  const h = healthOf(errorRate);
  return h === 'bad' ? 'text-error' : h === 'warn' ? 'text-warn' : 'text-ok';
}
