// Ingest tokens (admin): mint one (shown once), list, revoke.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { hasRole } from '../../api/session';
import { useMintToken, useRevokeToken, useTokens } from '../../api/hooks';
import { useUser } from '../../app/useSession';
import { CopyButton } from '../../components/CopyButton';
import { Empty, ErrorPanel, FormError, Panel, Skeleton } from '../../components/states';
import { TokenKind, type TokenInfo } from '../../gen/airis/gateway/v1/auth_pb';
import { formatDateTime } from '../../lib/format';
import '../pages.css';
import './tokens.css';

const KIND: Record<number, string> = {
  [TokenKind.ACCESS]: 'access',
  [TokenKind.INGEST]: 'ingest',
  [TokenKind.SESSION]: 'session',
};

/**
 * Environment for an OTLP exporter; header values are URL-encoded per the
 * OTel spec. The protocol is spelled out: several SDKs default to
 * http/protobuf on 4318, and the ingress speaks OTLP/gRPC on 4317.
 */
export function exporterSnippet(host: string, token: string): string {
  return [
    `OTEL_EXPORTER_OTLP_ENDPOINT=http://${host}:4317`,
    'OTEL_EXPORTER_OTLP_PROTOCOL=grpc',
    `OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20${token}`,
  ].join('\n');
}

export default function TokensPage() {
  const { t } = useTranslation();
  const user = useUser();
  const isAdmin = hasRole(user, 'admin');
  const tokens = useTokens(isAdmin);
  const mint = useMintToken();
  const revoke = useRevokeToken();
  const [description, setDescription] = useState('');
  const [ttl, setTtl] = useState('');
  const [minted, setMinted] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<TokenInfo | null>(null);

  if (!isAdmin) {
    return (
      <div className="page">
        <h1>{t('tokens.title')}</h1>
        <div className="error-panel" role="alert">
          <div className="error-title">{t('errors.permissionRole', { role: t('roles.admin') })}</div>
          <div className="error-detail">{t('tokens.viewerMessage', { role: t(`roles.${user?.role ?? 'unknown'}`) })}</div>
        </div>
      </div>
    );
  }

  const submit = (e: FormEvent) => {
    e.preventDefault();
    mint.mutate(
      // Whole days only (a uint32); the server names its own upper limit.
      { description: description.trim(), ttlDays: Math.max(0, Math.min(0xffff_ffff, Math.trunc(Number(ttl) || 0))) },
      {
        onSuccess: (res) => {
          setMinted(res.token);
          setDescription('');
          setTtl('');
        },
      },
    );
  };

  return (
    <div className="page">
      <div className="page-header">
        <div>
          <h1>{t('tokens.title')}</h1>
          <div className="page-sub">{t('tokens.subtitle')}</div>
        </div>
      </div>
      <Panel title={t('tokens.mint')}>
        <form className="search-form" onSubmit={submit}>
          <div className="field grow">
            <label htmlFor="tok-desc">{t('tokens.description')}</label>
            <input
              id="tok-desc"
              value={description}
              maxLength={256}
              placeholder={t('tokens.descriptionPlaceholder')}
              onChange={(e) => setDescription(e.target.value)}
            />
          </div>
          <div className="field narrow">
            <label htmlFor="tok-ttl">{t('tokens.ttlDays')}</label>
            <input id="tok-ttl" type="number" min={0} step={1} value={ttl} placeholder={t('tokens.ttlDefault')} onChange={(e) => setTtl(e.target.value)} />
          </div>
          <div className="form-actions">
            <button type="submit" className="btn btn-primary" disabled={mint.isPending}>
              {t('tokens.mintButton')}
            </button>
          </div>
        </form>
        {mint.isError && <FormError error={mint.error} />}
      </Panel>
      <Panel title={t('tokens.issued')}>
        {tokens.isPending ? (
          <Skeleton rows={4} />
        ) : tokens.isError ? (
          <ErrorPanel error={tokens.error} onRetry={() => void tokens.refetch()} />
        ) : tokens.data.tokens.length === 0 ? (
          <Empty title={t('tokens.empty')} />
        ) : (
          <div className="table-wrap">
            <table className="data">
              <thead>
                <tr>
                  <th scope="col">{t('tokens.kind')}</th>
                  <th scope="col">{t('tokens.subject')}</th>
                  <th scope="col">{t('tokens.description')}</th>
                  <th scope="col">{t('tokens.issuedAt')}</th>
                  <th scope="col">{t('tokens.expiresAt')}</th>
                  <th scope="col">{t('tokens.state')}</th>
                  <th scope="col">
                    <span className="sr-only">{t('tokens.actions')}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {tokens.data.tokens.map((tok) => (
                  <tr key={tok.tokenId}>
                    <td>
                      <span className="badge">{t(`tokens.kinds.${KIND[tok.kind] ?? 'unknown'}`)}</span>
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
                          onClick={() => setConfirm(tok)}
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
        )}
        {revoke.isError && <ErrorPanel error={revoke.error} compact />}
      </Panel>
      {minted && <MintedDialog token={minted} onClose={() => setMinted(null)} />}
      {confirm && (
        <ConfirmDialog
          title={t('tokens.confirmTitle')}
          body={t('tokens.confirmBody', { description: confirm.description || confirm.tokenId, subject: confirm.subject })}
          confirmLabel={t('tokens.revoke')}
          onCancel={() => setConfirm(null)}
          onConfirm={() => {
            revoke.mutate(confirm.tokenId);
            setConfirm(null);
          }}
        />
      )}
    </div>
  );
}

function useModal(onClose: () => void) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    const onCancel = (e: Event) => {
      e.preventDefault();
      onClose();
    };
    d?.addEventListener('cancel', onCancel);
    return () => d?.removeEventListener('cancel', onCancel);
  }, [onClose]);
  return ref;
}

function MintedDialog({ token, onClose }: { token: string; onClose: () => void }) {
  const { t } = useTranslation();
  const ref = useModal(onClose);
  const snippet = exporterSnippet(window.location.hostname, token);
  return (
    <dialog ref={ref} className="modal" aria-labelledby="minted-title">
      <h2 id="minted-title">{t('tokens.mintedTitle')}</h2>
      <p className="text-warn">{t('tokens.shownOnce')}</p>
      <label htmlFor="minted-token">{t('tokens.token')}</label>
      <textarea id="minted-token" className="mono token-box" readOnly rows={4} value={token} />
      <div className="row">
        <CopyButton text={token} label={t('tokens.copyToken')} />
      </div>
      <label htmlFor="minted-snippet">{t('tokens.snippet')}</label>
      <textarea id="minted-snippet" className="mono token-box" readOnly rows={4} value={snippet} />
      <div className="row">
        <CopyButton text={snippet} label={t('tokens.copySnippet')} />
        <button type="button" className="btn btn-primary" onClick={onClose} style={{ marginLeft: 'auto' }}>
          {t('common.done')}
        </button>
      </div>
    </dialog>
  );
}

function ConfirmDialog({
  title,
  body,
  confirmLabel,
  onConfirm,
  onCancel,
}: {
  title: string;
  body: string;
  confirmLabel: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const { t } = useTranslation();
  const ref = useModal(onCancel);
  return (
    <dialog ref={ref} className="modal" aria-labelledby="confirm-title">
      <h2 id="confirm-title">{title}</h2>
      <p>{body}</p>
      <div className="row" style={{ justifyContent: 'flex-end' }}>
        <button type="button" className="btn" onClick={onCancel} autoFocus>
          {t('common.cancel')}
        </button>
        <button type="button" className="btn btn-danger" onClick={onConfirm}>
          {confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
