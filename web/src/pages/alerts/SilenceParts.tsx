// Matchers and states as the silences pages and the notification policy
// show and edit them: matchers as chips, a silence's state as a badge, and
// one matcher's row of the editors (label, operator, value).
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { LabelMatcher } from '../../gen/airis/aiops/v1/alert_pb';
import { isMatchOp, MATCH_OPS, matcherText, opOf, type MatcherForm, type SilenceStateName } from './silences';

const STATE_BADGE: Record<SilenceStateName, string> = { active: 'badge-ok', pending: 'badge-warn', expired: '' };

/** Matchers as chips: `name op "value"`. */
export function MatcherChips({ matchers }: { matchers: readonly LabelMatcher[] }) {
  return (
    <span className="badges">
      {matchers.map((m, i) => (
        <span key={i} className={`badge mono matcher-chip${opOf(m.operator)?.includes('~') ? ' matcher-regex' : ''}`}>
          {matcherText(m)}
        </span>
      ))}
    </span>
  );
}

/** A state as a badge. */
export function StateBadge({ state }: { state: SilenceStateName }) {
  const { t } = useTranslation();
  return <span className={`badge ${STATE_BADGE[state]}`}>{t(`silences.state.${state}`)}</span>;
}

const OP_KEY = { '=': 'equal', '!=': 'notEqual', '=~': 'regex', '!~': 'notRegex' } as const;

/** The DOM ids of a matcher row's three controls. */
export interface MatcherIds {
  name: string;
  op: string;
  value: string;
}

/**
 * One matcher of an editor: label name, operator and value, each named by
 * aria-label ("Matcher 2 value"), its problem under it; × removes the row
 * when `onRemove` is given.
 */
export function MatcherRow({
  n,
  ids,
  matcher,
  problems = {},
  onChange,
  onRemove,
}: {
  /** The row's number, from 1. */
  n: number;
  ids: MatcherIds;
  matcher: MatcherForm;
  problems?: { name?: string; op?: string; value?: string };
  onChange: (patch: Partial<MatcherForm>) => void;
  onRemove?: () => void;
}) {
  const { t } = useTranslation();
  return (
    <div className="row label-row matcher-row" data-testid="matcher-row">
      <RowControl id={ids.name} problem={problems.name}>
        {(p) => (
          <input
            {...p}
            className="mono"
            aria-label={t('silences.editor.matcherName', { n })}
            placeholder="alertname"
            value={matcher.name}
            onChange={(e) => onChange({ name: e.target.value })}
          />
        )}
      </RowControl>
      <RowControl id={ids.op} problem={problems.op}>
        {(p) => (
          <select
            {...p}
            className="mono"
            aria-label={t('silences.editor.matcherOp', { n })}
            value={matcher.op}
            onChange={(e) => isMatchOp(e.target.value) && onChange({ op: e.target.value })}
          >
            {MATCH_OPS.map((op) => (
              <option key={op} value={op} title={t(`silences.op.${OP_KEY[op]}`)}>
                {op}
              </option>
            ))}
          </select>
        )}
      </RowControl>
      <RowControl id={ids.value} problem={problems.value} grow>
        {(p) => (
          <input
            {...p}
            className="mono"
            aria-label={t('silences.editor.matcherValue', { n })}
            value={matcher.value}
            onChange={(e) => onChange({ value: e.target.value })}
          />
        )}
      </RowControl>
      {onRemove && (
        <button type="button" className="btn btn-small" aria-label={t('silences.editor.removeMatcher', { n })} onClick={onRemove}>
          ×
        </button>
      )}
    </div>
  );
}

/** A control of a row, named by aria-label, its problem under it. */
export function RowControl({
  id,
  problem,
  grow,
  children,
}: {
  id: string;
  problem?: string;
  grow?: boolean;
  children: (p: { id: string; 'aria-invalid'?: true; 'aria-describedby'?: string }) => ReactNode;
}) {
  return (
    <span className={`row-input${grow ? ' grow' : ''}`}>
      {children({ id, 'aria-invalid': problem ? true : undefined, 'aria-describedby': problem ? `${id}-error` : undefined })}
      {problem && (
        <span id={`${id}-error`} className="field-error">
          {problem}
        </span>
      )}
    </span>
  );
}
