// The tenant's notification policy (GetNotificationPolicy) and what was
// sent (the notification log). Everyone reads the policy as a tree;
// editors and admins edit it (`edit=1`) and save it whole with the version
// read. A tenant without one (version 0) is told that nobody is notified
// until one exists, with a policy to start from.
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useNotificationPolicy } from '../../api/alertHooks';
import { hasRole } from '../../api/session';
import { useUrlState } from '../../app/urlState';
import { useUser } from '../../app/useSession';
import { Empty, Panel, QueryState, RoleNote, Skeleton } from '../../components/states';
import type { NotificationPolicy } from '../../gen/airis/aiops/v1/alert_pb';
import { formatCount } from '../../lib/format';
import { nanosToMs } from '../../lib/time';
import { NotificationLog } from './NotificationLog';
import { ALERTMANAGER_RECEIVER, newPolicyForm, policyToForm } from './notifications';
import { PolicyEditor } from './PolicyEditor';
import { PolicyView } from './PolicyView';
import { formatSilenceTime } from './silences';
import '../pages.css';
import './alerts.css';

export default function NotificationsPage() {
  const { t } = useTranslation();
  const user = useUser();
  const canEdit = hasRole(user, 'editor');
  const [params, update] = useUrlState();
  const policy = useNotificationPolicy();
  const editing = canEdit && params.get('edit') === '1';
  const [saved, setSaved] = useState<bigint | null>(null);
  const stored = policy.data?.policy;
  const version = stored?.version ?? 0n;
  // What went to the Alertmanagers is logged under a receiver of its own.
  const receivers = useMemo(() => {
    const names = stored?.receivers.map((r) => r.name) ?? [];
    return stored?.alertmanagers.length ? [...names, ALERTMANAGER_RECEIVER] : names;
  }, [stored]);

  const startEditing = () => {
    setSaved(null);
    update({ edit: '1' });
  };
  const onSaved = (p: NotificationPolicy) => {
    setSaved(p.version);
    update({ edit: null });
  };

  return (
    <div className="page">
      <div className="page-header">
        <div>
          <h1>{t('notifications.title')}</h1>
          <div className="page-sub">{t('notifications.subtitle')}</div>
        </div>
        {canEdit && !editing && version > 0n && (
          <button type="button" className="btn btn-primary" onClick={startEditing}>
            {t('notifications.edit')}
          </button>
        )}
      </div>
      {!canEdit && user && <RoleNote detail={t('notifications.viewerNote', { role: t('roles.editor'), current: t(`roles.${user.role}`) })} />}
      {/* Present from the start, so that what it says later is announced. */}
      <p className="rule-status" role="status">
        {saved !== null && !editing ? t('notifications.saved', { version: formatCount(saved) }) : ''}
      </p>

      <Panel
        id="notification-policy"
        title={editing ? t('notifications.editor.title') : t('notifications.policy')}
        actions={
          stored && version > 0n ? (
            <span className="muted small" data-testid="policy-version">
              {t('notifications.meta', { version: formatCount(version), time: formatSilenceTime(nanosToMs(stored.updateTimeUnixNano)) })}
            </span>
          ) : undefined
        }
      >
        <QueryState query={policy} skeleton={<Skeleton rows={6} />}>
          {(d) => {
            const p = d.policy;
            if (editing) {
              return (
                <PolicyEditor
                  // A new version read (after a conflict) starts the form again.
                  key={String(p?.version ?? 0n)}
                  initial={p && p.version > 0n ? policyToForm(p) : newPolicyForm()}
                  onSaved={onSaved}
                  onCancel={() => update({ edit: null })}
                  onReload={() => void policy.refetch()}
                />
              );
            }
            if (!p || p.version === 0n || !p.route) {
              return (
                <Empty title={t('notifications.emptyTitle')} hint={t('notifications.emptyHint')}>
                  {canEdit && (
                    <p>
                      <button type="button" className="btn btn-primary" onClick={startEditing}>
                        {t('notifications.create')}
                      </button>
                    </p>
                  )}
                </Empty>
              );
            }
            return <PolicyView policy={p} />;
          }}
        </QueryState>
      </Panel>

      <NotificationLog receivers={receivers} />
    </div>
  );
}
