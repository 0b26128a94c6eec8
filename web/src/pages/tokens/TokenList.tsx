// The tenant's tokens, one kind at a time (the kind is in the URL: `kind=`),
// each with the count it would show.
import { useTranslation } from 'react-i18next';
import { useTokens } from '../../api/hooks';
import { useUrlState } from '../../app/urlState';
import { Segmented } from '../../components/Segmented';
import { Empty, QueryState, Skeleton } from '../../components/states';
import { TableHead } from '../../components/TableHead';
import type { TokenInfo } from '../../gen/airis/gateway/v1/auth_pb';
import { formatCount, formatDateTime } from '../../lib/format';
import { countByKind, DEFAULT_KIND_FILTER, KIND_FILTERS, kindFilterOf, kindName, matchesKind, type KindFilter } from './tokenKinds';

export function TokenList({ onRevoke }: { onRevoke: (token: TokenInfo) => void }) {
  const { t } = useTranslation();
  const tokens = useTokens(true);
  const [params, update] = useUrlState();
  const filter = kindFilterOf(params.get('kind'));
  return (
    <QueryState query={tokens} skeleton={<Skeleton rows={4} />} isEmpty={(d) => d.tokens.length === 0} empty={<Empty title={t('tokens.empty')} />}>
      {(d) => {
        const shown = d.tokens.filter((tok) => matchesKind(tok, filter));
        return (
          <>
            <KindFilterControl
              value={filter}
              counts={countByKind(d.tokens)}
              onChange={(f) => update({ kind: f === DEFAULT_KIND_FILTER ? null : f }, { replace: true })}
            />
            {shown.length === 0 ? (
              <Empty title={t('tokens.emptyKind')} hint={t('tokens.emptyKindHint')} />
            ) : (
              <TokenTable tokens={shown} onRevoke={onRevoke} />
            )}
          </>
        );
      }}
    </QueryState>
  );
}

function KindFilterControl({
  value,
  counts,
  onChange,
}: {
  value: KindFilter;
  counts: Record<KindFilter, number>;
  onChange: (f: KindFilter) => void;
}) {
  const { t } = useTranslation();
  return (
    <div className="token-filter">
      <Segmented
        name="token-kind"
        legend={t('tokens.filter.label')}
        value={value}
        onChange={onChange}
        options={KIND_FILTERS.map((f) => ({
          value: f,
          label: (
            <>
              {t(`tokens.filter.${f}`)}
              <span className="segment-count">{formatCount(counts[f])}</span>
            </>
          ),
        }))}
      />
    </div>
  );
}

function TokenTable({ tokens, onRevoke }: { tokens: readonly TokenInfo[]; onRevoke: (token: TokenInfo) => void }) {
  const { t } = useTranslation();
  return (
    <div className="table-wrap">
      <table className="data">
        <TableHead
          columns={[
            { label: t('tokens.kind') },
            { label: t('tokens.subject') },
            { label: t('tokens.description') },
            { label: t('tokens.issuedAt') },
            { label: t('tokens.expiresAt') },
            { label: t('tokens.state') },
            { label: <span className="sr-only">{t('tokens.actions')}</span> },
          ]}
        />
        <tbody>
          {tokens.map((tok) => (
            <tr key={tok.tokenId}>
              <td>
                <span className="badge">{t(`tokens.kinds.${kindName(tok.kind)}`)}</span>
              </td>
              <td>{tok.subject}</td>
              <td>{tok.description || <span className="muted">–</span>}</td>
              <td className="nowrap">{formatDateTime(Number(tok.issuedAtUnix) * 1000)}</td>
              <td className="nowrap">{formatDateTime(Number(tok.expiresAtUnix) * 1000)}</td>
              <td>
                {tok.revoked ? (
                  <span className="badge badge-error">{t('tokens.revoked')}</span>
                ) : (
                  <span className="badge badge-ok">{t('tokens.active')}</span>
                )}
              </td>
              <td>
                {!tok.revoked && (
                  <button
                    type="button"
                    className="btn btn-small btn-danger"
                    aria-label={t('tokens.revokeLabel', { subject: tok.subject, description: tok.description || tok.tokenId })}
                    onClick={() => onRevoke(tok)}
                  >
                    {t('tokens.revoke')}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
