// Keyset paging as the API does it: back to the first page, or on with the
// next page token; the page token lives in the URL (`page`).
import { useTranslation } from 'react-i18next';
import { useUrlState } from '../app/urlState';

export function Pager({ next }: { next?: string }) {
  const { t } = useTranslation();
  const [params, update] = useUrlState();
  return (
    <div className="row">
      {params.get('page') && (
        <button type="button" className="btn btn-small" onClick={() => update({ page: null })}>
          {t('paging.first')}
        </button>
      )}
      {next && (
        <button type="button" className="btn btn-small" onClick={() => update({ page: next })}>
          {t('paging.next')}
        </button>
      )}
    </div>
  );
}
