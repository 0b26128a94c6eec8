// A data table's header row: column headers, numeric ones right-aligned
// like their cells.
import type { ReactNode } from 'react';

export interface Column {
  label: ReactNode;
  numeric?: boolean;
}

export function TableHead({ columns }: { columns: readonly Column[] }) {
  return (
    <thead>
      <tr>
        {columns.map((c, i) => (
          <th key={i} scope="col" className={c.numeric ? 'num' : undefined}>
            {c.label}
          </th>
        ))}
      </tr>
    </thead>
  );
}
