// The route tree of a notification policy, read-only: each route's
// matchers, receiver, grouping and timings, saying what it inherits from
// its parent or takes from Alertmanager's defaults; children indented
// under their parent, in the order alerts try them.
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { Route } from '../../gen/airis/aiops/v1/alert_pb';
import { formatInterval } from '../../lib/format';
import { effectiveOf, EVERY_LABEL, routeNumber, TIMINGS, type Effective, type RoutePath, type Source } from './notifications';
import { MatcherChips } from './SilenceParts';

export function RouteTree({ root }: { root: Route }) {
  const { t } = useTranslation();
  return (
    <ul className="route-tree" aria-label={t('notifications.tree.label')}>
      <RouteNode route={root} path={[]} parent={null} />
    </ul>
  );
}

function RouteNode({ route, path, parent }: { route: Route; path: RoutePath; parent: Effective | null }) {
  const { t } = useTranslation();
  const eff = effectiveOf(route, parent);
  const title = path.length ? t('notifications.routeN', { n: routeNumber(path) }) : t('notifications.rootRoute');
  return (
    <li className="route-node" data-testid="route-node">
      <div className="route-card">
        <div className="route-head">
          <strong>{title}</strong>
          {path.length === 0 ? (
            <span className="muted small">{t('notifications.tree.rootHint')}</span>
          ) : route.matchers.length ? (
            <MatcherChips matchers={route.matchers} />
          ) : (
            <span className="muted small">{t('notifications.tree.noMatchers')}</span>
          )}
          {route.continue && (
            <span className="badge" title={t('notifications.continueHint')}>
              {t('notifications.tree.continue')}
            </span>
          )}
        </div>
        <dl className="route-settings">
          <Setting label={t('notifications.receiver')} source={eff.receiver.source}>
            <span className="mono">{eff.receiver.value || '–'}</span>
          </Setting>
          <Setting label={t('notifications.groupBy')} source={eff.groupBy.source}>
            <GroupBy names={eff.groupBy.value} />
          </Setting>
          {TIMINGS.map((name) => (
            <Setting key={name} label={t(`notifications.timing.${name}`)} source={eff.timing[name].source}>
              {formatInterval(eff.timing[name].value * 1000)}
            </Setting>
          ))}
        </dl>
      </div>
      {route.routes.length > 0 && (
        <ul>
          {route.routes.map((child, i) => (
            <RouteNode key={i} route={child} path={[...path, i]} parent={eff} />
          ))}
        </ul>
      )}
    </li>
  );
}

function Setting({ label, source, children }: { label: string; source: Source; children: ReactNode }) {
  const { t } = useTranslation();
  return (
    <div>
      <dt>{label}</dt>
      <dd>
        {children}
        {source !== 'set' && <span className="muted small"> ({t(`notifications.source.${source}`)})</span>}
      </dd>
    </div>
  );
}

/** The labels a route groups by: chips, every label, or one group for all. */
export function GroupBy({ names }: { names: readonly string[] }) {
  const { t } = useTranslation();
  if (names.length === 0) return <span>{t('notifications.groupAll')}</span>;
  if (names.length === 1 && names[0] === EVERY_LABEL) return <span>{t('notifications.groupEvery')}</span>;
  return (
    <span className="badges">
      {names.map((n) => (
        <span key={n} className="badge mono">
          {n}
        </span>
      ))}
    </span>
  );
}
