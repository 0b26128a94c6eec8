// A summarised question's answer under its chips: the groups the query
// service gave (Ask, as the signed-in user), the asked number marked, the
// comparison's earlier number beside it and the delta service's judgement
// of the change, each group linking to its requests, and the parts this
// answer could not apply, with why.
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { applyPatch } from '../app/urlState';
import { QueryState, Skeleton } from '../components/states';
import { TableHead, type Column } from '../components/TableHead';
import { formatCount, formatDurationNanos, formatPercent, formatSignedPercent } from '../lib/format';
import type { Interpretation } from '../gen/airis/search/v1/search_pb';
import { answerTable, judgementOf, measureOf, type Judgement, type Measure, type Row } from './answer';
import { useAsk } from './searchApi';

const MEASURES: Measure[] = ['count', 'errors', 'errorRate', 'p50', 'p95', 'p99'];

function show(m: Measure, value: number): string {
  if (m === 'errorRate') return formatPercent(value);
  if (m === 'count' || m === 'errors') return formatCount(value);
  return formatDurationNanos(value);
}

function change(row: Row, m: Measure): string {
  const now = measureOf(row, m);
  if (row.before === undefined || row.before === 0) return '';
  return formatSignedPercent((now - row.before) / row.before);
}

const VERDICT_GLYPH: Record<Judgement['verdict'], string> = { pass: '✓', fail: '✕', inconclusive: '?', unknown: '?' };
const SEVERITY_GLYPH: Record<Judgement['reasons'][number]['severity'], string> = { fail: '✕', inconclusive: '?', info: '·' };

/** The delta service's judgement of a comparison: the verdict as a mark and a word, the first reasons, the way to the rest. */
function JudgementPanel({ judgement }: { judgement: Judgement }) {
  const { t } = useTranslation();
  const j = judgement;
  return (
    <section className="ask-judgement" aria-label={t('search.answer.judgement.title')} data-testid="ask-judgement">
      <h3 className="ask-answer-title">
        {t('search.answer.judgement.title')}{' '}
        <span className="muted small">{t('search.answer.judgement.from', { baseline: j.baseline, candidate: j.candidate })}</span>
      </h3>
      <p className="ask-judgement-verdict">
        <span className={`ask-verdict ask-verdict-${j.verdict}`} data-testid="ask-verdict">
          <span aria-hidden="true">{VERDICT_GLYPH[j.verdict]}</span> {t(`search.answer.judgement.verdict.${j.verdict}`)}
        </span>{' '}
        {/* A score says something only of what was judged. */}
        {(j.verdict === 'pass' || j.verdict === 'fail') && (
          <span className="muted small">{t('search.answer.judgement.score', { score: formatCount(Math.round(j.score)) })}</span>
        )}
      </p>
      {j.reasons.length > 0 && (
        <ul className="ask-judgement-reasons" aria-label={t('search.answer.judgement.reasons')}>
          {j.reasons.map((r, index) => (
            <li key={index} className={`ask-reason-${r.severity}`}>
              <span aria-hidden="true">{SEVERITY_GLYPH[r.severity]}</span>{' '}
              <span className="sr-only">{t(`search.answer.judgement.severity.${r.severity}`)}</span>
              {r.text}
            </li>
          ))}
        </ul>
      )}
      {(j.more > 0 || j.link) && (
        <p className="small">
          {j.more > 0 && <span className="muted">{t('search.answer.judgement.more', { count: j.more })} </span>}
          {j.link && (
            <Link to={{ pathname: j.link.path, search: `?${new URLSearchParams(j.link.params).toString()}` }}>{t(j.versions ? 'search.answer.judgement.openVersions' : 'search.answer.judgement.open')}</Link>
          )}
        </p>
      )}
    </section>
  );
}

/** Parts of the question left out, each with why; nothing when there are none. */
function PartsNotes({ label, notes }: { label: string; notes: { field: string; reason: string }[] }) {
  if (notes.length === 0) return null;
  return (
    <ul className="ask-answer-notes" aria-label={label}>
      {notes.map((n, index) => (
        <li key={index}>
          <code>{n.field}</code> {n.reason}
        </li>
      ))}
    </ul>
  );
}

export default function AskAnswer({ interpretation, encoded }: { interpretation: Interpretation; encoded: string }) {
  const { t, i18n } = useTranslation();
  const language = i18n.language.startsWith('ko') ? 'ko' : 'en';
  const query = useAsk(interpretation, encoded, language);
  const range: Record<string, string> = interpretation.timeRange
    ? {
        from: String(interpretation.timeRange.startUnixNano / 1_000_000n),
        to: String((interpretation.timeRange.endUnixNano + 999_999n) / 1_000_000n),
      }
    : {};
  return (
    <section className="ask-answer" aria-label={t('search.answer.title')} data-testid="ask-answer">
      <QueryState query={query} skeleton={<Skeleton rows={3} />} compact>
        {(response) => {
          const table = answerTable(interpretation, response, range);
          if (!table) return null;
          const judgement = judgementOf(response, language);
          const columns: Column[] = [
            { label: t(`search.answer.group.${['service', 'operation'].includes(table.groupKind) ? table.groupKind : 'attribute'}`, { key: table.groupKind }) },
            ...MEASURES.map((m) => ({
              label:
                m === table.asked ? (
                  <>
                    {t(`search.answer.measure.${m}`)} <span className="sr-only">{t('search.answer.asked')}</span>
                  </>
                ) : (
                  t(`search.answer.measure.${m}`)
                ),
              numeric: true,
            })),
            ...(table.compared
              ? [
                  {
                    label: table.baselineVersion
                      ? t('search.answer.beforeVersion', { measure: t(`search.answer.measure.${table.asked}`), version: table.baselineVersion })
                      : t('search.answer.before', { measure: t(`search.answer.measure.${table.asked}`) }),
                    numeric: true,
                  },
                ]
              : []),
          ];
          return (
            <>
              <h3 className="ask-answer-title">
                {t('search.answer.title')} <span className="muted small">{t('search.answer.from', { rpc: table.rpc })}</span>
              </h3>
              {table.rows.length === 0 ? (
                <p className="interpretation-note">{t('search.answer.empty')}</p>
              ) : (
                <div className="table-wrap">
                  <table className="data">
                    <TableHead columns={columns} />
                    <tbody>
                      {table.rows.map((row) => (
                        <tr key={row.group}>
                          <th scope="row">
                            {row.link ? (
                              <Link to={{ pathname: row.link.path, search: `?${applyPatch(new URLSearchParams(), row.link.params).toString()}` }}>{row.group || '—'}</Link>
                            ) : (
                              row.group || '—'
                            )}
                          </th>
                          {MEASURES.map((m) => (
                            <td key={m} className={`num ${m === table.asked ? 'asked' : ''}`}>
                              {show(m, measureOf(row, m))}
                            </td>
                          ))}
                          {table.compared && (
                            <td className="num">
                              {row.before === undefined ? '—' : show(table.asked, row.before)} <span className="muted small">{change(row, table.asked)}</span>
                            </td>
                          )}
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
              {judgement && <JudgementPanel judgement={judgement} />}
              <PartsNotes label={t('search.answer.judgement.notJudged')} notes={response.notJudged} />
              <PartsNotes label={t('search.answer.notApplied')} notes={response.notApplied} />
            </>
          );
        }}
      </QueryState>
    </section>
  );
}
