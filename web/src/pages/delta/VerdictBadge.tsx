// The verdict as a mark and a word, never a colour alone: the result's,
// each operation's and each change's (delta.css: .verdict-*).
import { useTranslation } from 'react-i18next';
import type { VerdictName } from './delta';

const VERDICT_GLYPH: Record<VerdictName, string> = { pass: '✓', fail: '✕', inconclusive: '?', unknown: '?' };

export function VerdictBadge({ verdict, large }: { verdict: VerdictName; large?: boolean }) {
  const { t } = useTranslation();
  return (
    <span className={`verdict verdict-${verdict} ${large ? 'verdict-large' : ''}`} data-testid={large ? 'verdict' : undefined}>
      <span aria-hidden="true" className="verdict-glyph">
        {VERDICT_GLYPH[verdict]}
      </span>
      {t(`delta.verdict.${verdict}`)}
    </span>
  );
}
