// A stored notification policy, read-only: its receivers with their
// webhooks, the route tree, and the Alertmanagers every alert is forwarded
// to.
import { useTranslation } from 'react-i18next';
import { TableHead } from '../../components/TableHead';
import type { AlertmanagerConfig, NotificationPolicy, Receiver } from '../../gen/airis/aiops/v1/alert_pb';
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
      <section aria-labelledby="policy-alertmanagers">
        <h3 id="policy-alertmanagers" className="policy-heading">
          {t('notifications.alertmanagers')}
        </h3>
        <p className="muted small policy-hint">{t('notifications.alertmanagersHint')}</p>
        {policy.alertmanagers.length === 0 ? (
          <p className="muted small policy-hint" data-testid="no-alertmanagers">
            {t('notifications.noAlertmanagers')}
          </p>
        ) : (
          <AlertmanagerTable alertmanagers={policy.alertmanagers} />
        )}
      </section>
    </div>
  );
}

const localeName = (locale: string) => (locale === 'ko' ? 'notifications.korean' : 'notifications.english');

function AlertmanagerTable({ alertmanagers }: { alertmanagers: readonly AlertmanagerConfig[] }) {
  const { t } = useTranslation();
  return (
    <div className="table-wrap">
      <table className="data receivers" aria-labelledby="policy-alertmanagers">
        <TableHead columns={[{ label: t('notifications.alertmanager'), numeric: true }, { label: t('notifications.url') }, { label: t('notifications.locale') }]} />
        <tbody>
          {alertmanagers.map((a, i) => (
            <tr key={i} data-testid="alertmanager-row">
              <td className="num">#{i + 1}</td>
              <td className="mono url-cell">{a.url}</td>
              <td>{t(localeName(a.locale))}</td>
            </tr>
          ))}
        </tbody>
      </table>
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
                  <td>{t(localeName(w.locale))}</td>
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
