// A labelled form control with its hint and error, linked for assistive
// technology: the label by for/id, hint and error by aria-describedby, an
// error by aria-invalid. The control is the caller's (an input, a select, an
// input with its datalist): it receives the props to spread on it.
import type { ReactNode } from 'react';

export interface ControlProps {
  id: string;
  'aria-describedby'?: string;
  'aria-invalid'?: true;
}

export function Field({
  id,
  label,
  hint,
  error,
  invalid,
  describedBy,
  className,
  children,
}: {
  id: string;
  label: ReactNode;
  hint?: ReactNode;
  /** This field's own problem, shown under it. */
  error?: ReactNode;
  /** Invalid because of a message shown elsewhere, which `describedBy` names. */
  invalid?: boolean;
  /** Ids of descriptions outside the field: a form-level error, a hint shared by several fields. */
  describedBy?: string;
  className?: string;
  children: (control: ControlProps) => ReactNode;
}) {
  const errorId = error ? `${id}-error` : undefined;
  const hintId = hint ? `${id}-hint` : undefined;
  // The error first: it is what the person needs to hear on returning to the field.
  const described = [errorId, describedBy, hintId].filter(Boolean).join(' ');
  return (
    <div className={className ? `field ${className}` : 'field'}>
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-describedby': described || undefined, 'aria-invalid': error || invalid ? true : undefined })}
      {hint && (
        <span id={hintId} className="field-hint">
          {hint}
        </span>
      )}
      {error && (
        <span id={errorId} className="field-error">
          {error}
        </span>
      )}
    </div>
  );
}

/**
 * A Field choosing one name (a service, an operation) or any. A value the
 * URL chose stays listed when the current list lacks it, so the select
 * shows what is applied.
 */
export function NameField({
  id,
  label,
  anyLabel,
  names,
  value,
  onChange,
  disabled,
}: {
  id: string;
  label: string;
  anyLabel: string;
  names: readonly string[];
  value: string;
  onChange: (value: string) => void;
  disabled?: boolean;
}) {
  return (
    <Field id={id} label={label}>
      {(control) => (
        <select {...control} value={value} disabled={disabled} onChange={(e) => onChange(e.target.value)}>
          <option value="">{anyLabel}</option>
          {withCurrent(names, value).map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

export function withCurrent(options: readonly string[], current: string): string[] {
  return current && !options.includes(current) ? [current, ...options] : [...options];
}

/** A form's submit button, at the end of its row. */
export function FormSubmit({ label, disabled }: { label: string; disabled?: boolean }) {
  return (
    <div className="form-actions">
      <button type="submit" className="btn btn-primary" disabled={disabled}>
        {label}
      </button>
    </div>
  );
}
