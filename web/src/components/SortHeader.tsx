// Sortable column headers whose state lives in the URL (sort=<key>, dir=asc|desc).
import type { ReactNode } from 'react';
import { useUrlState } from '../app/urlState';

export type Dir = 'asc' | 'desc';

export function useSortState(defaultKey: string, defaultDir: Dir = 'desc', prefix = ''): [string, Dir, (k: string) => void] {
  const [params, update] = useUrlState();
  const key = params.get(prefix + 'sort') ?? defaultKey;
  const dir: Dir = (params.get(prefix + 'dir') as Dir) === 'asc' ? 'asc' : (params.get(prefix + 'dir') as Dir) === 'desc' ? 'desc' : defaultDir;
  const set = (k: string) =>
    update({ [prefix + 'sort']: k, [prefix + 'dir']: k === key ? (dir === 'asc' ? 'desc' : 'asc') : 'desc' }, { replace: true });
  return [key, dir, set];
}

export function sortRows<T>(rows: readonly T[], get: (r: T) => number | string, dir: Dir): T[] {
  const out = [...rows];
  out.sort((a, b) => {
    const x = get(a);
    const y = get(b);
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return dir === 'asc' ? c : -c;
  });
  return out;
}

export function SortHeader({
  k,
  current,
  dir,
  onSort,
  children,
  numeric,
}: {
  k: string;
  current: string;
  dir: Dir;
  onSort: (k: string) => void;
  children: ReactNode;
  numeric?: boolean;
}) {
  const active = k === current;
  return (
    <th
      scope="col"
      className={numeric ? 'num' : undefined}
      aria-sort={active ? (dir === 'asc' ? 'ascending' : 'descending') : undefined}
    >
      <button type="button" className="sort-btn" onClick={() => onSort(k)}>
        {children}
        <span aria-hidden="true">{active ? (dir === 'asc' ? '▲' : '▼') : ''}</span>
      </button>
    </th>
  );
}
