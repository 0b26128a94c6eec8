// One choice of a few, side by side (a segmented control). Native radio
// buttons: the group is one Tab stop and the arrow keys move the choice.
import type { ReactNode } from 'react';
import './Segmented.css';

export function Segmented<T extends string>({
  name,
  legend,
  options,
  value,
  onChange,
}: {
  name: string;
  /** What is being chosen, for screen readers. */
  legend: string;
  options: readonly { value: T; label: ReactNode }[];
  value: T;
  onChange: (value: T) => void;
}) {
  return (
    <fieldset className="segmented">
      <legend className="sr-only">{legend}</legend>
      {options.map((o) => (
        <label key={o.value} className="segment">
          <input type="radio" name={name} value={o.value} checked={o.value === value} onChange={() => onChange(o.value)} />
          <span className="segment-label">{o.label}</span>
        </label>
      ))}
    </fieldset>
  );
}
