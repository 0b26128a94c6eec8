// Keyset paging as the API does it: back to the first page, or on with the
// next page token; the page token lives in the URL (`page`).
import { useTranslation } from 'react-i18next';

export function Pager({ onPage, current, next }: { onPage: (token: string | null) => void; current: string | null; next?: string }) {
  const { t } = useTranslation();
  return (
    <div className="row">
      {current && (
        <button type="button" className="btn btn-small" onClick={() => onPage(null)}>
          {t('paging.first')}
        </button>
      )}
      {next && (
        <button type="button" className="btn btn-small" onClick={() => onPage(next)}>
          {t('paging.next')}
        </button>
      )}
    </div>
  );
}
