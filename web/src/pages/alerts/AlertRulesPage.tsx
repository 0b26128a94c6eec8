// The tenant's alert rules (AlertService.ListRules), paged in the URL
// (`page`): what each watches and when it fires, its labels, whether it is
// paused; Edit opens the editor, Alerts what it raised, Silence a new
// silence of its alerts, Delete asks first and deletes the version listed.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useLocation } from 'react-router';
import { isConflict } from '../../api/errors';
import { useDeleteRule, useListRules } from '../../api/alertHooks';
import { hasRole } from '../../api/session';
import { useLinkTo, useUrlState } from '../../app/urlState';
import { useUser } from '../../app/useSession';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { Pager } from '../../components/Pager';
import { Empty, ErrorPanel, Panel, QueryState, Skeleton } from '../../components/states';
import { TableHead } from '../../components/TableHead';
import type { AlertRule } from '../../gen/airis/aiops/v1/alert_pb';
import { conditionKind, conditionText, watchesText } from './rules';
import { silenceAlertsParams } from './silences';
import '../pages.css';
import './alerts.css';

/** Rules per page. */
const PAGE_SIZE = 100;

/** What the editor says after saving, in the history entry it opens the list with. */
export interface ListState {
  saved?: string;
}

export default function AlertRulesPage() {
  const { t } = useTranslation();
  const user = useUser();
  const canEdit = hasRole(user, 'editor');
  const [params] = useUrlState();
  const list = useListRules(params.get('page') ?? '', PAGE_SIZE);
  const remove = useDeleteRule();
  const linkTo = useLinkTo();
  const saved = (useLocation().state as ListState | null)?.saved;
  const [confirm, setConfirm] = useState<AlertRule | null>(null);
  const [deleted, setDeleted] = useState<string | null>(null);

  const newRule = (
    <Link className="btn btn-primary" to={linkTo('/alerts/rules/new')}>
      {t('alerts.list.new')}
    </Link>
  );

  return (
    <div className="page">
      <div className="page-header">
        <div>
          <h1>{t('alerts.title')}</h1>
          <div className="page-sub">{t('alerts.subtitle')}</div>
        </div>
        {newRule}
      </div>
      {!canEdit && user && (
        <p className="muted role-note">{t('alerts.viewerNote', { role: t('roles.editor'), current: t(`roles.${user.role}`) })}</p>
      )}
      {/* Present from the start, so that what it says later is announced. */}
      <p className="rule-status" role="status">
        {deleted ? t('alerts.list.deleted', { name: deleted }) : saved ? t('alerts.list.saved', { name: saved }) : ''}
      </p>

      <Panel title={t('alerts.list.title')} actions={<Pager next={list.data?.page?.nextPageToken || undefined} />}>
        <QueryState
          query={list}
          skeleton={<Skeleton rows={6} />}
          isEmpty={(d) => d.rules.length === 0}
          empty={
            <Empty title={t('alerts.list.emptyTitle')} hint={t('alerts.list.emptyHint')}>
              <p>{newRule}</p>
            </Empty>
          }
        >
          {(d) => <RuleTable rules={d.rules} canEdit={canEdit} onDelete={setConfirm} />}
        </QueryState>
        {remove.isError &&
          (isConflict(remove.error) ? (
            <p className="form-error" role="alert">
              {t('alerts.list.deleteConflict')}
            </p>
          ) : (
            <ErrorPanel error={remove.error} compact />
          ))}
      </Panel>

      {confirm && (
        <ConfirmDialog
          title={t('alerts.list.confirmTitle')}
          body={t('alerts.list.confirmBody', { name: confirm.name })}
          confirmLabel={t('alerts.list.delete')}
          onCancel={() => setConfirm(null)}
          onConfirm={() => {
            const { id, version, name } = confirm;
            setConfirm(null);
            setDeleted(null);
            remove.mutate({ id, version }, { onSuccess: () => setDeleted(name) });
          }}
        />
      )}
    </div>
  );
}

function RuleTable({ rules, canEdit, onDelete }: { rules: readonly AlertRule[]; canEdit: boolean; onDelete: (r: AlertRule) => void }) {
  const { t } = useTranslation();
  const linkTo = useLinkTo();
  return (
    <div className="table-wrap">
      <table className="data">
        <TableHead
          columns={[
            { label: t('alerts.list.name') },
            { label: t('alerts.list.kind') },
            { label: t('alerts.list.watches') },
            { label: t('alerts.list.condition') },
            { label: t('alerts.list.labels') },
            { label: t('alerts.list.state') },
            { label: <span className="sr-only">{t('alerts.list.actions')}</span> },
          ]}
        />
        <tbody>
          {rules.map((r) => {
            const kind = conditionKind(r);
            const to = linkTo(`/alerts/rules/${encodeURIComponent(r.id)}`);
            const labels = Object.keys(r.labels).sort();
            return (
              <tr key={r.id} data-testid="rule-row">
                <td>
                  <Link to={to}>{r.name}</Link>
                </td>
                <td className="nowrap">{kind ? t(`alerts.kind.${kind}`) : '–'}</td>
                <td>{watchesText(r, t)}</td>
                <td>{conditionText(r, t)}</td>
                <td>
                  <span className="badges">
                    {labels.map((k) => (
                      <span key={k} className="badge mono">
                        {k}={r.labels[k]}
                      </span>
                    ))}
                  </span>
                </td>
                <td>
                  {r.paused ? (
                    <span className="badge badge-warn">{t('alerts.list.paused')}</span>
                  ) : (
                    <span className="badge badge-ok">{t('alerts.list.active')}</span>
                  )}
                </td>
                <td className="nowrap">
                  <span className="row">
                    <Link className="btn btn-small" to={to} aria-label={t(canEdit ? 'alerts.list.editLabel' : 'alerts.list.openLabel', { name: r.name })}>
                      {t(canEdit ? 'alerts.list.edit' : 'alerts.list.open')}
                    </Link>
                    <Link className="btn btn-small" to={linkTo('/alerts', { rule: r.id })} aria-label={t('alerts.list.alertsLabel', { name: r.name })}>
                      {t('alerts.list.alerts')}
                    </Link>
                    <Link
                      className="btn btn-small"
                      to={linkTo('/alerts/silences/new', silenceAlertsParams(r.name))}
                      aria-label={t('alerts.list.silenceLabel', { name: r.name })}
                    >
                      {t('alerts.list.silence')}
                    </Link>
                    {canEdit && (
                      <button
                        type="button"
                        className="btn btn-small btn-danger"
                        aria-label={t('alerts.list.deleteLabel', { name: r.name })}
                        onClick={() => onDelete(r)}
                      >
                        {t('alerts.list.delete')}
                      </button>
                    )}
                  </span>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
