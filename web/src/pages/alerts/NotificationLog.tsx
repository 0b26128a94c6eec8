// What was sent to the receivers' webhooks (ListNotifications), newest
// first, paged (`page`), of one receiver when the URL's `receiver` names it:
// when, to which webhook, the group (its labels; the group key on hover),
// firing or resolved with the counts, delivered or why not.
import { useTranslation } from 'react-i18next';
import { useListNotifications } from '../../api/alertHooks';
import { useUrlState } from '../../app/urlState';
import { NameField } from '../../components/Field';
import { Pager } from '../../components/Pager';
import { Empty, Panel, QueryState, Skeleton } from '../../components/states';
import { TableHead } from '../../components/TableHead';
import { AlertState, type Notification } from '../../gen/airis/aiops/v1/alert_pb';
import { formatCount, formatDateTime } from '../../lib/format';
import { nanosToMs } from '../../lib/time';
import { groupLabelsOf, notificationKey } from './notifications';

/** Notifications per page. */
const PAGE_SIZE = 50;

export function NotificationLog({ receivers }: { receivers: readonly string[] }) {
  const { t } = useTranslation();
  const [params, update] = useUrlState();
  const receiver = params.get('receiver') ?? '';
  const list = useListNotifications(receiver, params.get('page') ?? '', PAGE_SIZE);
  return (
    <Panel id="notification-log" title={t('notifications.log.title')} actions={<Pager next={list.data?.page?.nextPageToken || undefined} />}>
      <div className="search-form log-filters">
        <NameField
          id="notification-receiver"
          label={t('notifications.receiver')}
          anyLabel={t('notifications.log.anyReceiver')}
          names={receivers}
          value={receiver}
          onChange={(r) => update({ receiver: r || null, page: null })}
        />
      </div>
      <QueryState
        query={list}
        skeleton={<Skeleton rows={5} />}
        isEmpty={(d) => d.notifications.length === 0}
        empty={<Empty title={receiver ? t('notifications.log.emptyReceiver', { receiver }) : t('notifications.log.empty')} hint={t('notifications.log.emptyHint')} />}
      >
        {(d) => <LogTable notifications={d.notifications} />}
      </QueryState>
    </Panel>
  );
}

function LogTable({ notifications }: { notifications: readonly Notification[] }) {
  const { t } = useTranslation();
  return (
    <div className="table-wrap">
      <table className="data notification-log">
        <TableHead
          columns={[
            { label: t('notifications.log.time') },
            { label: t('notifications.receiver') },
            { label: t('notifications.webhook'), numeric: true },
            { label: t('notifications.log.group') },
            { label: t('notifications.log.status') },
            { label: t('notifications.log.firing'), numeric: true },
            { label: t('notifications.log.resolved'), numeric: true },
            { label: t('notifications.log.delivery') },
          ]}
        />
        <tbody>
          {notifications.map((n) => {
            const labels = groupLabelsOf(n);
            const firing = n.status === AlertState.FIRING;
            return (
              <tr key={notificationKey(n)} data-testid="notification-row" data-receiver={n.receiver}>
                <td className="nowrap">{formatDateTime(nanosToMs(n.timeUnixNano))}</td>
                <td className="mono">{n.receiver}</td>
                <td className="num">#{n.webhook + 1}</td>
                <td title={n.groupKey}>
                  {labels.length ? (
                    <span className="badges">
                      {labels.map(([k, v]) => (
                        <span key={k} className="badge mono">
                          {k}={v}
                        </span>
                      ))}
                    </span>
                  ) : (
                    <span className="muted">{t('notifications.groupAll')}</span>
                  )}
                </td>
                <td>
                  <span className={`badge ${firing ? 'badge-error' : 'badge-ok'}`}>{t(firing ? 'alertList.stateName.firing' : 'alertList.stateName.resolved')}</span>
                </td>
                <td className="num">{formatCount(n.firing)}</td>
                <td className="num">{formatCount(n.resolved)}</td>
                <td className="delivery">
                  {n.delivered ? (
                    <span className="badge badge-ok">{t('notifications.log.delivered')}</span>
                  ) : (
                    <>
                      <span className="badge badge-error">{t('notifications.log.failed')}</span>
                      <div className="muted small">{n.error}</div>
                    </>
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
