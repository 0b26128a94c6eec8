// What changed over the page's time range, and did it hurt
// (DeltaService.ListChanges): each change found in the telemetry (a new
// version, pod template or config checksum on a service's spans, a log
// record announcing a deployment) with the verdict of its comparison; a
// row opens that comparison as the page's two cohorts.
import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { useListChanges } from '../../api/deltaHooks';
import { Empty, Panel, QueryState, Skeleton } from '../../components/states';
import type { AttributeChange, DetectedChange } from '../../gen/airis/delta/v1/delta_pb';
import { formatCount, formatDateTime } from '../../lib/format';
import {
  changeCohorts,
  changeKey,
  changeKindName,
  changeOutcome,
  changeTimeMs,
  orderChanges,
  sameCohorts,
  type ChangesParams,
  type CohortPair,
} from './changes';
import { VerdictBadge } from './VerdictBadge';

export function ChangesPanel({
  params,
  shown,
  onChoose,
}: {
  params: ChangesParams;
  /** The cohorts the page shows: the row whose comparison they are is marked. */
  shown: CohortPair;
  onChoose: (cohorts: CohortPair) => void;
}) {
  const { t } = useTranslation();
  const changes = useListChanges(params);
  return (
    <Panel title={t('delta.changes.title')} id="delta-changes">
      <QueryState
        query={changes}
        skeleton={<Skeleton rows={4} />}
        isEmpty={(answer) => answer.changes.length === 0}
        empty={<Empty title={t('delta.changes.emptyTitle')} hint={t('delta.changes.emptyHint')} />}
      >
        {(answer) => (
          <>
            <p className="muted small">{t('delta.changes.hint')}</p>
            <ChangesTable changes={answer.changes} shown={shown} onChoose={onChoose} />
            {answer.truncated && <p className="muted small">{t('delta.changes.truncated', { n: formatCount(answer.changes.length) })}</p>}
          </>
        )}
      </QueryState>
    </Panel>
  );
}

function ChangesTable({ changes, shown, onChoose }: { changes: readonly DetectedChange[]; shown: CohortPair; onChoose: (cohorts: CohortPair) => void }) {
  const { t } = useTranslation();
  const rows = useMemo(() => orderChanges(changes), [changes]);
  return (
    <div className="table-wrap delta-changes-wrap">
      <table className="data delta-table delta-changes">
        <caption className="sr-only">{t('delta.changes.title')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('delta.changes.time')}</th>
            <th scope="col">{t('filters.service')}</th>
            <th scope="col">{t('delta.changes.what')}</th>
            <th scope="col">{t('delta.verdictColumn')}</th>
            <th scope="col">
              <span className="sr-only">{t('delta.changes.comparison')}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((c) => (
            <ChangeRow key={changeKey(c)} change={c} shown={shown} onChoose={onChoose} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** "service.version v1 → v2": the key in monospace, the arrow read as words. */
function AttributeChangeText({ a }: { a: AttributeChange }) {
  const { t } = useTranslation();
  const value = (v: string) => (v ? <code>{v}</code> : <em className="muted">{t('delta.changes.noValue')}</em>);
  return (
    <span className="delta-change-attribute">
      <code className="delta-attribute-key">{a.key}</code> {value(a.before)}
      <span aria-hidden="true"> → </span>
      <span className="sr-only"> {t('delta.then')} </span>
      {value(a.after)}
    </span>
  );
}

function ChangeRow({ change, shown, onChoose }: { change: DetectedChange; shown: CohortPair; onChoose: (cohorts: CohortPair) => void }) {
  const { t } = useTranslation();
  const kind = changeKindName(change.kind);
  const outcome = changeOutcome(change);
  const cohorts = useMemo(() => changeCohorts(change), [change]);
  const selected = sameCohorts(cohorts, shown);
  const time = formatDateTime(changeTimeMs(change));
  return (
    <tr data-testid="change-row" className={selected ? 'selected' : undefined}>
      <td className="nowrap">{time}</td>
      <td>{change.serviceName}</td>
      <td className="delta-change-what">
        {kind === 'event' ? (
          <>
            <span className="badge delta-deployment">{t('delta.changes.deployment')}</span> <span className="delta-change-event">{change.event}</span>
          </>
        ) : (
          change.attributes.map((a, i) => (
            <span key={a.key}>
              {i > 0 && ', '}
              <AttributeChangeText a={a} />
            </span>
          ))
        )}
      </td>
      <td className="delta-change-outcome" data-testid="change-outcome">
        {outcome.kind === 'verdict' ? (
          <>
            <VerdictBadge verdict={outcome.verdict} />
            <div className="muted small">{t('delta.score', { score: formatCount(Math.round(outcome.score)) })}</div>
          </>
        ) : outcome.kind === 'error' ? (
          <>
            <span className="badge badge-warn">{t('delta.changes.notCompared')}</span>
            <div className="muted small delta-change-error">{outcome.message}</div>
          </>
        ) : (
          <span className="muted">–</span>
        )}
      </td>
      <td>
        <button
          type="button"
          className="btn btn-small"
          aria-pressed={selected}
          disabled={!cohorts}
          title={cohorts ? undefined : t('delta.changes.cannotOpen')}
          aria-label={t('delta.changes.openLabel', { service: change.serviceName, time })}
          onClick={() => cohorts && onChoose(cohorts)}
        >
          {t('delta.changes.open')}
        </button>
      </td>
    </tr>
  );
}
