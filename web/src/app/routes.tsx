// The one place for routes. Pages are loaded on demand so the first page
// does not carry the graph library or other pages' code. The routes are
// React Router's declarative ones (useRoutes): the data router's loaders
// and actions, unused here, would cost every page about 16 kB gzip.
import { lazy, Suspense, type ComponentType, type ReactNode } from 'react';
import { Navigate, Outlet, useLocation, useRoutes, type RouteObject } from 'react-router';
import { ErrorBoundary, Skeleton } from '../components/states';
import { withStrings } from '../i18n';
import { RouteError } from './RouteError';
import { RequireAuth } from './RequireAuth';
import { Shell } from './Shell';

import LoginPage from '../pages/login/LoginPage';
const ServicesPage = lazy(() => import('../pages/services/ServicesPage'));
const ServicePage = lazy(() => import('../pages/service/ServicePage'));
const MapPage = lazy(() => import('../pages/map/MapPage'));
const TracesPage = lazy(() => import('../pages/traces/TracesPage'));
const TracePage = lazy(() => import('../pages/trace/TracePage'));
const LogsPage = lazy(() => import('../pages/logs/LogsPage'));
const MetricsPage = lazy(() => import('../pages/metrics/MetricsPage'));
const AnomaliesPage = lazy(() => import('../pages/anomalies/AnomaliesPage'));
// The alert pages come with their strings (i18n/alerts.*.json).
const alertPage = (page: () => Promise<{ default: ComponentType }>) => lazy(() => withStrings('alerts', page));
const AlertsPage = alertPage(() => import('../pages/alerts/AlertsPage'));
const AlertRulesPage = alertPage(() => import('../pages/alerts/AlertRulesPage'));
const RuleEditorPage = alertPage(() => import('../pages/alerts/RuleEditorPage'));
const SilencesPage = alertPage(() => import('../pages/alerts/SilencesPage'));
const SilenceEditorPage = alertPage(() => import('../pages/alerts/SilenceEditorPage'));
const NotificationsPage = alertPage(() => import('../pages/alerts/NotificationsPage'));
// The Canary analysis page comes with its strings (i18n/delta.*.json).
const DeltaPage = lazy(() => withStrings('delta', () => import('../pages/delta/DeltaPage')));
const TokensPage = lazy(() => import('../pages/tokens/TokensPage'));
const NotFoundPage = lazy(() => import('../pages/notfound/NotFoundPage'));

function page(C: ComponentType): ReactNode {
  return (
    <Suspense
      fallback={
        <div className="page">
          <Skeleton rows={8} />
        </div>
      }
    >
      <C />
    </Suspense>
  );
}

/** "/" → "/services", keeping the query string. */
function HomeRedirect() {
  const { search } = useLocation();
  return <Navigate to={{ pathname: '/services', search }} replace />;
}

/**
 * Navigation entries of the sidebar, in order. `end`: active on that path
 * only, not below it (`/alerts` is not active on `/alerts/rules`).
 */
export const NAV: readonly { path: string; icon: string; label: string; end?: boolean }[] = [
  { path: '/services', icon: 'services', label: 'nav.services' },
  { path: '/map', icon: 'map', label: 'nav.map' },
  { path: '/traces', icon: 'traces', label: 'nav.traces' },
  { path: '/logs', icon: 'logs', label: 'nav.logs' },
  { path: '/metrics', icon: 'metrics', label: 'nav.metrics' },
  { path: '/anomalies', icon: 'anomalies', label: 'nav.anomalies' },
  { path: '/delta', icon: 'delta', label: 'nav.delta' },
  { path: '/alerts', icon: 'firing', label: 'nav.alerts', end: true },
  { path: '/alerts/rules', icon: 'alerts', label: 'nav.alertRules' },
  { path: '/alerts/silences', icon: 'silences', label: 'nav.silences' },
  { path: '/alerts/notifications', icon: 'notifications', label: 'nav.notifications' },
  { path: '/settings/tokens', icon: 'tokens', label: 'nav.tokens' },
];

/**
 * Inside the shell: a failing page (or a chunk that no longer loads after a
 * deploy) keeps the navigation usable; another page starts afresh.
 */
function PageErrors() {
  const { pathname } = useLocation();
  return (
    <ErrorBoundary resetKey={pathname} fallback={(error) => <RouteError error={error} />}>
      <Outlet />
    </ErrorBoundary>
  );
}

const ROUTES: RouteObject[] = [
  { path: '/login', element: <LoginPage /> },
  {
    element: (
      <RequireAuth>
        <Shell />
      </RequireAuth>
    ),
    children: [
      {
        element: <PageErrors />,
        children: [
          { index: true, element: <HomeRedirect /> },
          { path: 'services', element: page(ServicesPage) },
          { path: 'services/:name', element: page(ServicePage) },
          { path: 'map', element: page(MapPage) },
          { path: 'traces', element: page(TracesPage) },
          { path: 'traces/:traceId', element: page(TracePage) },
          { path: 'logs', element: page(LogsPage) },
          { path: 'metrics', element: page(MetricsPage) },
          { path: 'anomalies', element: page(AnomaliesPage) },
          { path: 'delta', element: page(DeltaPage) },
          { path: 'alerts', element: page(AlertsPage) },
          { path: 'alerts/rules', element: page(AlertRulesPage) },
          // A static segment ranks above a parameter: "new" is never an id.
          { path: 'alerts/rules/new', element: page(RuleEditorPage) },
          { path: 'alerts/rules/:id', element: page(RuleEditorPage) },
          { path: 'alerts/silences', element: page(SilencesPage) },
          { path: 'alerts/silences/new', element: page(SilenceEditorPage) },
          { path: 'alerts/silences/:id', element: page(SilenceEditorPage) },
          { path: 'alerts/notifications', element: page(NotificationsPage) },
          { path: 'settings/tokens', element: page(TokensPage) },
          { path: '*', element: page(NotFoundPage) },
        ],
      },
    ],
  },
];

export function AppRoutes() {
  return useRoutes(ROUTES);
}
