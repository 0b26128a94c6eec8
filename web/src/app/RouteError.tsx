import { useTranslation } from 'react-i18next';

export function RouteError({ error }: { error: unknown }) {
  const { t } = useTranslation();
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div className="page">
      <div className="error-panel" role="alert">
        <div className="error-title">{t('errors.page')}</div>
        <div className="error-detail">
          <code>{message}</code>
        </div>
        <button type="button" className="btn" onClick={() => window.location.reload()}>
          {t('errors.reload')}
        </button>
      </div>
    </div>
  );
}
