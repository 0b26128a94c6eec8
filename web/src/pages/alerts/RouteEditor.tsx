// The route tree in the policy editor: each route's matchers (as a
// silence's), receiver, grouping, timings and `continue`, each empty
// setting saying what it inherits; children added, removed and moved up or
// down among their siblings (alerts try them in order).
import type { TFunction } from 'i18next';
import { useTranslation } from 'react-i18next';
import { Field, withCurrent } from '../../components/Field';
import { formatInterval } from '../../lib/format';
import {
  addChildRoute,
  EVERY_LABEL,
  FIELD,
  inheritedAt,
  MAX_CHILDREN,
  MAX_DEPTH,
  moveRoute,
  newRouteForm,
  removeRoute,
  ROOT_TIMING,
  routeAt,
  routeNumber,
  TIMING_PART,
  TIMINGS,
  updateRoute,
  type Effective,
  type RouteForm,
  type RoutePath,
} from './notifications';
import { MatcherRow } from './SilenceParts';
import { blankMatcher, MAX_MATCHERS, type MatcherForm } from './silences';

/** The DOM id of a policy field's control. */
export const policyDomId = (field: string) => `policy-${field.replace(/[^A-Za-z0-9_-]/g, '-')}`;

export interface RouteEditorProps {
  root: RouteForm;
  setRoot: (root: RouteForm) => void;
  /** The receivers' names, as the form has them now. */
  receivers: readonly string[];
  problem: (field: string) => string | undefined;
}

export function RouteEditor(props: RouteEditorProps) {
  return <RouteNode {...props} path={[]} />;
}

function RouteNode({ path, ...props }: RouteEditorProps & { path: RoutePath }) {
  const { t } = useTranslation();
  const { root, setRoot, receivers, problem } = props;
  const route = routeAt(root, path);
  if (!route) return null;
  const isRoot = path.length === 0;
  const inherited = inheritedAt(root, path);
  const set = (patch: Partial<RouteForm>) => setRoot(updateRoute(root, path, (r) => ({ ...r, ...patch })));
  const setMatchers = (matchers: MatcherForm[]) => set({ matchers });
  const n = routeNumber(path);
  const siblings = isRoot ? 1 : (routeAt(root, path.slice(0, -1))?.routes.length ?? 1);
  const index = path[path.length - 1] ?? 0;
  const id = (field: string) => policyDomId(field);
  const receiverField = FIELD.route(path, 'receiver');
  const groupByField = FIELD.route(path, 'group_by');
  const matchersProblem = problem(FIELD.route(path, 'matchers'));
  const routesProblem = problem(FIELD.route(path, 'routes'));
  const ownProblem = problem(FIELD.route(path));

  return (
    <div className="route-node" data-testid="route-form">
      <fieldset className="route-card">
        <legend>{isRoot ? t('notifications.rootRoute') : t('notifications.routeN', { n })}</legend>
        {!isRoot && (
          <div className="row route-tools">
            <button
              type="button"
              className="btn btn-small"
              disabled={index === 0}
              aria-label={t('notifications.editor.moveUp', { n })}
              onClick={() => setRoot(moveRoute(root, path, -1))}
            >
              ↑
            </button>
            <button
              type="button"
              className="btn btn-small"
              disabled={index >= siblings - 1}
              aria-label={t('notifications.editor.moveDown', { n })}
              onClick={() => setRoot(moveRoute(root, path, 1))}
            >
              ↓
            </button>
            <button type="button" className="btn btn-small btn-danger" onClick={() => setRoot(removeRoute(root, path))} aria-label={t('notifications.editor.removeRouteN', { n })}>
              × {t('notifications.editor.removeRoute')}
            </button>
          </div>
        )}
        {isRoot ? (
          <p className="muted small">{t('notifications.editor.rootHint')}</p>
        ) : (
          <div className="rule-list">
            <p className="muted small">{t('notifications.editor.matchersHint')}</p>
            {route.matchers.map((m, k) => (
              <MatcherRow
                key={k}
                n={k + 1}
                ids={{
                  name: id(FIELD.matcher(path, k, 'name')),
                  op: id(FIELD.matcher(path, k, 'operator')),
                  value: id(FIELD.matcher(path, k, 'value')),
                }}
                matcher={m}
                problems={{
                  name: problem(FIELD.matcher(path, k, 'name')),
                  op: problem(FIELD.matcher(path, k, 'operator')),
                  value: problem(FIELD.matcher(path, k, 'value')),
                }}
                onChange={(patch) => setMatchers(route.matchers.map((x, j) => (j === k ? { ...x, ...patch } : x)))}
                onRemove={() => setMatchers(route.matchers.filter((_, j) => j !== k))}
              />
            ))}
            {matchersProblem && <p className="field-error">{matchersProblem}</p>}
            {route.matchers.length < MAX_MATCHERS && (
              <div className="row">
                <button type="button" className="btn btn-small" onClick={() => setMatchers([...route.matchers, blankMatcher()])}>
                  + {t('silences.editor.addMatcher')}
                </button>
              </div>
            )}
          </div>
        )}

        <div className="rule-row">
          <Field id={id(receiverField)} label={t('notifications.receiver')} error={problem(receiverField)}>
            {(control) => (
              <select {...control} value={route.receiver} onChange={(e) => set({ receiver: e.target.value })}>
                {isRoot ? (
                  <option value="" disabled>
                    {t('notifications.editor.chooseReceiver')}
                  </option>
                ) : (
                  <option value="">{t('notifications.editor.inheritedReceiver', { name: inherited?.receiver.value || '–' })}</option>
                )}
                {withCurrent(
                  receivers.filter((r) => r.trim()),
                  route.receiver,
                ).map((r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field id={id(groupByField)} label={t('notifications.groupBy')} hint={groupByHint(inherited, t)} error={problem(groupByField)} className="grow">
            {(control) => (
              <input {...control} className="mono" value={route.groupBy} onChange={(e) => set({ groupBy: e.target.value })} />
            )}
          </Field>
          {!isRoot && (
            <label className="check continue-toggle" title={t('notifications.continueHint')}>
              <input type="checkbox" checked={route.continue} onChange={(e) => set({ continue: e.target.checked })} />
              {t('notifications.editor.continue')}
            </label>
          )}
        </div>
        <div className="rule-row">
          {TIMINGS.map((name) => {
            const field = FIELD.route(path, TIMING_PART[name]);
            const from = inherited ? inherited.timing[name].value : null;
            return (
              <Field
                key={name}
                id={id(field)}
                label={t(`notifications.timing.${name}`)}
                hint={
                  from === null
                    ? t('notifications.editor.emptyDefault', { value: formatInterval(ROOT_TIMING[name] * 1000) })
                    : t('notifications.editor.emptyInherited', { value: formatInterval(from * 1000) })
                }
                error={problem(field)}
                className="timing"
              >
                {(control) => (
                  <input {...control} className="mono" value={route[name]} onChange={(e) => set({ [name]: e.target.value })} />
                )}
              </Field>
            );
          })}
          <span className="muted small">{t('notifications.editor.durationHint')}</span>
        </div>
        {ownProblem && <p className="field-error">{ownProblem}</p>}
        {routesProblem && <p className="field-error">{routesProblem}</p>}
        {path.length + 1 < MAX_DEPTH && route.routes.length < MAX_CHILDREN && (
          <div className="row">
            <button type="button" className="btn btn-small" onClick={() => setRoot(addChildRoute(root, path, newRouteForm()))} aria-label={isRoot ? undefined : t('notifications.editor.addChildOf', { n })}>
              + {t(isRoot ? 'notifications.editor.addRoute' : 'notifications.editor.addChild')}
            </button>
          </div>
        )}
      </fieldset>
      {route.routes.length > 0 && (
        <div className="route-children">
          {route.routes.map((child, i) => (
            <RouteNode key={child.uid} {...props} path={[...path, i]} />
          ))}
        </div>
      )}
    </div>
  );
}

function groupByHint(inherited: Effective | null, t: TFunction): string {
  if (!inherited) return t('notifications.editor.groupByRootHint', { every: EVERY_LABEL });
  const names = inherited.groupBy.value;
  const what = names.length === 0 ? t('notifications.groupAll') : names.length === 1 && names[0] === EVERY_LABEL ? t('notifications.groupEvery') : names.join(', ');
  return t('notifications.editor.groupByInherited', { value: what, every: EVERY_LABEL });
}
