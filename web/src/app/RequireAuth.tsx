import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Navigate, useLocation } from 'react-router';
import { restoreSession } from '../api/session';
import { ErrorPanel, Skeleton } from '../components/states';
import { useSession } from './useSession';

/** Shows the app when signed in; otherwise sends to /login?next=<this page>. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const session = useSession();
  const location = useLocation();
  const { t } = useTranslation();
  if (session.status === 'restoring') {
    return (
      <main className="page" aria-busy="true">
        <Skeleton rows={6} />
      </main>
    );
  }
  if (session.status === 'error') {
    return (
      <main className="page">
        <h1>{t('auth.restoreFailed')}</h1>
        <ErrorPanel error={session.error} onRetry={() => void restoreSession()} />
      </main>
    );
  }
  if (session.status === 'signedOut') {
    const next = location.pathname + location.search;
    const params = new URLSearchParams();
    if (next !== '/') params.set('next', next);
    if (session.expired) params.set('expired', '1');
    const q = params.toString();
    return <Navigate to={`/login${q ? '?' + q : ''}`} replace />;
  }
  return <>{children}</>;
}
