// A stored notification policy, read-only: its receivers with their
// webhooks, and the route tree.
import { useTranslation } from 'react-i18next';
import { TableHead } from '../../components/TableHead';
import type { NotificationPolicy, Receiver } from '../../gen/airis/aiops/v1/alert_pb';
import { formatCount } from '../../lib/format';
import { RouteTree } from './RouteTree';

export function PolicyView({ policy }: { policy: NotificationPolicy }) {
  const { t } = useTranslation();
  return (
    <div className="policy-view">
      <section aria-labelledby="policy-receivers">
        <h3 id="policy-receivers" className="policy-heading">
          {t('notifications.receivers')}
        </h3>
        <ReceiverTable receivers={policy.receivers} />
      </section>
      <section aria-labelledby="policy-routes">
        <h3 id="policy-routes" className="policy-heading">
          {t('notifications.routes')}
        </h3>
        <p className="muted small policy-hint">{t('notifications.routesHint')}</p>
        {policy.route && <RouteTree root={policy.route} />}
      </section>
    </div>
  );
}

function ReceiverTable({ receivers }: { receivers: readonly Receiver[] }) {
  const { t } = useTranslation();
  return (
    <div className="table-wrap">
      <table className="data receivers">
        <TableHead
          columns={[
            { label: t('notifications.receiver') },
            { label: t('notifications.webhook') },
            { label: t('notifications.url') },
            { label: t('notifications.locale') },
            { label: t('notifications.sendResolved') },
            { label: t('notifications.maxAlerts'), numeric: true },
          ]}
        />
        {receivers.map((r) => (
          <tbody key={r.name} data-testid="receiver-rows" data-receiver={r.name}>
            {r.webhooks.length === 0 ? (
              <tr>
                <th scope="row" className="mono receiver-name">
                  {r.name}
                </th>
                <td colSpan={5} className="muted">
                  {t('notifications.noWebhooks')}
                </td>
              </tr>
            ) : (
              r.webhooks.map((w, j) => (
                <tr key={j}>
                  {j === 0 && (
                    <th scope="row" rowSpan={r.webhooks.length} className="mono receiver-name">
                      {r.name}
                    </th>
                  )}
                  <td className="num">#{j + 1}</td>
                  <td className="mono url-cell">{w.url}</td>
                  <td>{t(w.locale === 'ko' ? 'notifications.korean' : 'notifications.english')}</td>
                  <td>{t((w.sendResolved ?? true) ? 'notifications.yes' : 'notifications.no')}</td>
                  <td className="num">{w.maxAlerts ? formatCount(w.maxAlerts) : t('notifications.noLimit')}</td>
                </tr>
              ))
            )}
          </tbody>
        ))}
      </table>
    </div>
  );
}
