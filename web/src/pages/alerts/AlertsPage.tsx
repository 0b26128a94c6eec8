// What the stored rules raised (AlertService.ListAlerts): the alerts active
// in the page's time range, in the states the URL's `state` asks for
// (firing and pending when absent; resolved ones are the history), of one
// rule when `rule` names it, paged (`page`). Each with its state and for
// how long, its rule, labels, annotations in the UI's language, times,
// value and the silences that muted it; Silence opens a new silence of it.
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { useListAlerts, useRule } from '../../api/alertHooks';
import { hasRole } from '../../api/session';
import { useTimeRange } from '../../app/timeRange';
import { useLinkTo, useUrlState } from '../../app/urlState';
import { useUser } from '../../app/useSession';
import { Pager } from '../../components/Pager';
import { Segmented } from '../../components/Segmented';
import { Empty, Panel, QueryState, Skeleton } from '../../components/states';
import { TableHead } from '../../components/TableHead';
import type { Alert } from '../../gen/airis/aiops/v1/alert_pb';
import { formatShortDateTime } from '../../lib/format';
import {
  ALERT_FILTERS,
  alertAnnotations,
  alertDurationText,
  alertFilterOf,
  alertKey,
  alertLabels,
  alertName,
  alertStateName,
  alertStateProto,
  alertStatesOf,
  alertTimes,
  alertValueText,
  type AlertStateName,
} from './alerts';
import { silenceAlertsParams } from './silences';
import { useNow } from './useNow';
import '../pages.css';
import './alerts.css';

/** Alerts per page. */
const PAGE_SIZE = 100;

const STATE_BADGE: Record<AlertStateName, string> = { firing: 'badge-error', pending: 'badge-warn', resolved: 'badge-ok' };

export default function AlertsPage() {
  const { t, i18n } = useTranslation();
  const user = useUser();
  const canSilence = hasRole(user, 'editor');
  const range = useTimeRange();
  const [params, update] = useUrlState();
  const linkTo = useLinkTo();
  const filter = alertFilterOf(params.get('state'));
  const ruleId = params.get('rule') ?? '';
  const list = useListAlerts({
    startMs: range.startMs,
    endMs: range.endMs,
    states: alertStatesOf(filter)
      .map(alertStateProto)
      .sort((a, b) => a - b),
    ruleId,
    locale: i18n.language === 'ko' ? 'ko' : 'en',
    pageToken: params.get('page') ?? '',
    pageSize: PAGE_SIZE,
  });
  const rule = useRule(ruleId);
  const ruleName = rule.data?.rule?.name ?? ruleId;

  const rulesLink = (
    <Link className="btn" to={linkTo('/alerts/rules')}>
      {t('alertList.toRules')}
    </Link>
  );

  return (
    <div className="page">
      <div className="page-header">
        <div>
          <h1>{t('alertList.title')}</h1>
          <div className="page-sub">{t('alertList.subtitle')}</div>
        </div>
      </div>
      {!canSilence && user && (
        <p className="muted role-note">{t('alertList.viewerNote', { role: t('roles.editor'), current: t(`roles.${user.role}`) })}</p>
      )}

      <div className="row alert-filters">
        <Segmented
          name="alert-state"
          legend={t('alertList.filter.legend')}
          value={filter}
          onChange={(f) => update({ state: f === 'open' ? null : f, page: null })}
          options={ALERT_FILTERS.map((f) => ({ value: f, label: t(`alertList.filter.${f}`) }))}
        />
        {ruleId && (
          <span className="rule-filter" data-testid="rule-filter">
            <span>{t('alertList.ruleFilter', { name: ruleName })}</span>
            <button type="button" className="btn btn-small" onClick={() => update({ rule: null, page: null })}>
              {t('alertList.clearRule')}
            </button>
          </span>
        )}
      </div>

      <Panel title={t('alertList.listTitle')} actions={<Pager next={list.data?.page?.nextPageToken || undefined} />}>
        <QueryState
          query={list}
          skeleton={<Skeleton rows={6} />}
          isEmpty={(d) => d.alerts.length === 0}
          empty={
            <Empty title={t(`alertList.empty.${filter}`)} hint={t(filter === 'resolved' ? 'alertList.emptyHintResolved' : 'alertList.emptyHint')}>
              <p>{rulesLink}</p>
            </Empty>
          }
        >
          {(d) => <AlertTable alerts={d.alerts} canSilence={canSilence} />}
        </QueryState>
      </Panel>
    </div>
  );
}

function AlertTable({ alerts, canSilence }: { alerts: readonly Alert[]; canSilence: boolean }) {
  const { t } = useTranslation();
  const linkTo = useLinkTo();
  const now = useNow();
  return (
    <div className="table-wrap">
      <table className="data alerts">
        <TableHead
          columns={[
            { label: t('alertList.state') },
            { label: t('alertList.alert') },
            { label: t('alertList.labels') },
            { label: t('alertList.times') },
            { label: t('alertList.value'), numeric: true },
            { label: t('alertList.mutedBy') },
            { label: <span className="sr-only">{t('alertList.actions')}</span> },
          ]}
        />
        <tbody>
          {alerts.map((a) => {
            const name = alertName(a);
            const state = alertStateName(a.state);
            const annotations = alertAnnotations(a);
            const { activeMs, firedMs, resolvedMs } = alertTimes(a);
            const silencedBy = a.episode?.silencedBy ?? [];
            return (
              <tr key={alertKey(a)} data-testid="alert-row" data-rule={a.ruleId} data-state={state ?? ''}>
                <td className="nowrap">
                  {state && <span className={`badge ${STATE_BADGE[state]}`}>{t(`alertList.stateName.${state}`)}</span>}
                  <div className="muted small">{alertDurationText(a, now, t)}</div>
                </td>
                <td className="alert-main">
                  <Link to={linkTo(`/alerts/rules/${encodeURIComponent(a.ruleId)}`)}>{name || a.ruleId}</Link>
                  {annotations.length > 0 && (
                    <dl className="annotation-list">
                      {annotations.map(([k, text]) => (
                        <div key={k}>
                          <dt className="mono">{k}</dt>
                          <dd>{text}</dd>
                        </div>
                      ))}
                    </dl>
                  )}
                </td>
                <td>
                  <span className="badges">
                    {alertLabels(a).map(([k, v]) => (
                      <span key={k} className="badge mono">
                        {k}={v}
                      </span>
                    ))}
                  </span>
                </td>
                <td className="nowrap">
                  <dl className="alert-times">
                    <dt>{t('alertList.active')}</dt>
                    <dd>{formatShortDateTime(activeMs)}</dd>
                    <dt>{t('alertList.fired')}</dt>
                    <dd>{firedMs !== null ? formatShortDateTime(firedMs) : '–'}</dd>
                    <dt>{t('alertList.resolved')}</dt>
                    <dd>{resolvedMs !== null ? formatShortDateTime(resolvedMs) : '–'}</dd>
                  </dl>
                </td>
                <td className="num">{alertValueText(a)}</td>
                <td>
                  {silencedBy.length > 0 ? (
                    <span className="badges">
                      {silencedBy.map((id) => (
                        <Link
                          key={id}
                          className="badge badge-link mono"
                          to={linkTo(`/alerts/silences/${encodeURIComponent(id)}`)}
                          aria-label={t('alertList.silenceLabel', { id })}
                          title={id}
                        >
                          {id.length > 10 ? `${id.slice(0, 8)}…` : id}
                        </Link>
                      ))}
                    </span>
                  ) : (
                    <span className="muted">–</span>
                  )}
                </td>
                <td className="nowrap">
                  {canSilence && name && (
                    <Link
                      className="btn btn-small"
                      to={linkTo('/alerts/silences/new', silenceAlertsParams(name))}
                      aria-label={t('alertList.silenceAlert', { name })}
                    >
                      {t('alertList.silence')}
                    </Link>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
