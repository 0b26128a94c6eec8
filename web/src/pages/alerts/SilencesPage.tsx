// The tenant's silences (AlertService.ListSilences) in the states the URL's
// `state` asks for (active and pending when absent): what each matches,
// when it starts and ends, who made it and why; Edit opens the editor,
// Expire asks first and ends it now, Recreate starts a new one like it.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { useExpireSilence, useListSilences } from '../../api/alertHooks';
import { hasRole } from '../../api/session';
import { useLinkTo, useUrlState } from '../../app/urlState';
import { useUser } from '../../app/useSession';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { Segmented } from '../../components/Segmented';
import { Empty, ErrorPanel, Panel, QueryState, Skeleton } from '../../components/states';
import { TableHead } from '../../components/TableHead';
import type { Silence } from '../../gen/airis/aiops/v1/alert_pb';
import { nanosToMs } from '../../lib/time';
import {
  formatSilenceTime,
  matcherFormsOf,
  matchersText,
  recreateParams,
  relativeText,
  startedText,
  STATE_FILTERS,
  stateAt,
  stateFilterOf,
  stateProto,
  statesOf,
} from './silences';
import { MatcherChips, StateBadge } from './SilenceParts';
import { useNow } from './useNow';
import '../pages.css';
import './alerts.css';

/** Silences per page. */
const PAGE_SIZE = 100;

export default function SilencesPage() {
  const { t } = useTranslation();
  const user = useUser();
  const canEdit = hasRole(user, 'editor');
  const [params, update] = useUrlState();
  const filter = stateFilterOf(params.get('state'));
  const list = useListSilences(statesOf(filter).map(stateProto), PAGE_SIZE);
  const expire = useExpireSilence();
  const linkTo = useLinkTo();
  const now = useNow();
  const [confirm, setConfirm] = useState<Silence | null>(null);
  const [expired, setExpired] = useState<string | null>(null);

  const newSilence = (
    <Link className="btn btn-primary" to={linkTo('/alerts/silences/new')}>
      {t('silences.new')}
    </Link>
  );

  return (
    <div className="page">
      <div className="page-header">
        <div>
          <h1>{t('silences.title')}</h1>
          <div className="page-sub">{t('silences.subtitle')}</div>
        </div>
        {newSilence}
      </div>
      {!canEdit && user && (
        <p className="muted role-note">{t('silences.viewerNote', { role: t('roles.editor'), current: t(`roles.${user.role}`) })}</p>
      )}
      {/* Present from the start, so that what it says later is announced. */}
      <p className="rule-status" role="status">
        {expired ? t('silences.list.expired', { matchers: expired }) : ''}
      </p>

      <Segmented
        name="silence-state"
        legend={t('silences.filter.legend')}
        value={filter}
        onChange={(f) => update({ state: f === 'current' ? null : f })}
        options={STATE_FILTERS.map((f) => ({ value: f, label: t(`silences.filter.${f}`) }))}
      />

      <Panel title={t('silences.list.title')}>
        <QueryState
          query={list}
          skeleton={<Skeleton rows={6} />}
          isEmpty={(d) => d.pages.every((p) => p.silences.length === 0)}
          empty={
            <Empty title={t(`silences.list.empty.${filter}`)} hint={t('silences.list.emptyHint')}>
              {canEdit && <p>{newSilence}</p>}
            </Empty>
          }
        >
          {(d) => (
            <SilenceTable silences={d.pages.flatMap((p) => p.silences)} now={now} canEdit={canEdit} onExpire={setConfirm} />
          )}
        </QueryState>
        {list.hasNextPage && (
          <div className="row load-more">
            <button type="button" className="btn btn-small" disabled={list.isFetchingNextPage} onClick={() => void list.fetchNextPage()}>
              {t('paging.more')}
            </button>
          </div>
        )}
        {expire.isError && <ErrorPanel error={expire.error} compact />}
      </Panel>

      {confirm && (
        <ConfirmDialog
          title={t('silences.list.confirmTitle')}
          body={t('silences.list.confirmBody', { matchers: matchersText(confirm) })}
          confirmLabel={t('silences.list.expire')}
          onCancel={() => setConfirm(null)}
          onConfirm={() => {
            const s = confirm;
            setConfirm(null);
            setExpired(null);
            expire.mutate(s.id, { onSuccess: () => setExpired(matchersText(s)) });
          }}
        />
      )}
    </div>
  );
}

function SilenceTable({
  silences,
  now,
  canEdit,
  onExpire,
}: {
  silences: readonly Silence[];
  now: number;
  canEdit: boolean;
  onExpire: (s: Silence) => void;
}) {
  const { t } = useTranslation();
  const linkTo = useLinkTo();
  return (
    <div className="table-wrap">
      <table className="data silences">
        <TableHead
          columns={[
            { label: t('silences.list.matchers') },
            { label: t('silences.list.state') },
            { label: t('silences.list.starts') },
            { label: t('silences.list.ends') },
            { label: t('silences.list.createdBy') },
            { label: t('silences.list.comment') },
            { label: <span className="sr-only">{t('silences.list.actions')}</span> },
          ]}
        />
        <tbody>
          {silences.map((s) => {
            const state = stateAt(s, now);
            const to = linkTo(`/alerts/silences/${encodeURIComponent(s.id)}`);
            const matchers = matchersText(s);
            const started = startedText(s, now, t);
            const editable = canEdit && state !== 'expired';
            return (
              <tr key={s.id} data-testid="silence-row" data-id={s.id}>
                <td>
                  <MatcherChips matchers={s.matchers} />
                </td>
                <td>
                  <StateBadge state={state} />
                  <div className="muted small">{relativeText(s, now, t)}</div>
                </td>
                <td className="nowrap">
                  {formatSilenceTime(nanosToMs(s.startTimeUnixNano))}
                  {started && <div className="muted small">{started}</div>}
                </td>
                <td className="nowrap">{formatSilenceTime(nanosToMs(s.endTimeUnixNano))}</td>
                <td>{s.createdBy}</td>
                <td className="silence-comment">{s.comment}</td>
                <td className="nowrap">
                  <span className="row">
                    <Link className="btn btn-small" to={to} aria-label={t(editable ? 'silences.list.editLabel' : 'silences.list.openLabel', { matchers })}>
                      {t(editable ? 'silences.list.edit' : 'silences.list.open')}
                    </Link>
                    {editable && (
                      <button
                        type="button"
                        className="btn btn-small btn-danger"
                        aria-label={t('silences.list.expireLabel', { matchers })}
                        onClick={() => onExpire(s)}
                      >
                        {t('silences.list.expire')}
                      </button>
                    )}
                    {canEdit && state === 'expired' && (
                      <Link
                        className="btn btn-small"
                        to={linkTo('/alerts/silences/new', recreateParams({ matchers: matcherFormsOf(s), comment: s.comment }))}
                        aria-label={t('silences.list.recreateLabel', { matchers })}
                      >
                        {t('silences.list.recreate')}
                      </Link>
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
