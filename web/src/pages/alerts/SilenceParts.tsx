// What the silences list and editor both show of a silence: its matchers
// as chips, its state as a badge.
import { useTranslation } from 'react-i18next';
import type { Silence } from '../../gen/airis/aiops/v1/alert_pb';
import { matcherText, opOf, type SilenceStateName } from './silences';

const STATE_BADGE: Record<SilenceStateName, string> = { active: 'badge-ok', pending: 'badge-warn', expired: '' };

/** A silence's matchers as chips: `name op "value"`. */
export function MatcherChips({ silence }: { silence: Silence }) {
  return (
    <span className="badges">
      {silence.matchers.map((m, i) => (
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
