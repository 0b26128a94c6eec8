// Editable list of attribute filters ("key=value", "key!=value", "key~value", "key"),
// across the whole width of its search form.
import { useTranslation } from 'react-i18next';

export function AttrFilters({
  value,
  onChange,
  idPrefix,
  label,
}: {
  value: string[];
  onChange: (v: string[]) => void;
  idPrefix: string;
  label?: string;
}) {
  const { t } = useTranslation();
  const rows = value.length ? value : [''];
  return (
    <fieldset className="attr-filters form-wide">
      <legend>{label ?? t('filters.attributes')}</legend>
      {rows.map((v, i) => (
        <div className="row" key={i}>
          <input
            id={`${idPrefix}-${i}`}
            aria-label={`${label ?? t('filters.attributes')} ${i + 1}`}
            placeholder={t('filters.attrPlaceholder')}
            value={v}
            onChange={(e) => {
              const next = [...rows];
              next[i] = e.target.value;
              onChange(next);
            }}
            className="attr-input"
          />
          {rows.length > 1 && (
            <button
              type="button"
              className="btn btn-small"
              aria-label={t('filters.removeAttr', { n: i + 1 })}
              onClick={() => onChange(rows.filter((_, j) => j !== i))}
            >
              ×
            </button>
          )}
        </div>
      ))}
      <button type="button" className="btn btn-small" onClick={() => onChange([...rows, ''])}>
        + {t('filters.addAttr')}
      </button>
      <span className="muted small">{t('filters.attrHelp')}</span>
    </fieldset>
  );
}
