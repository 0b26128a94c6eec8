// Ingest tokens (admin): mint one (shown once), list, revoke.
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { hasRole } from '../../api/session';
import { useMintToken, useRevokeToken } from '../../api/hooks';
import { useUser } from '../../app/useSession';
import { ConfirmDialog, useModal } from '../../components/ConfirmDialog';
import { CopyButton } from '../../components/CopyButton';
import { Field, FormSubmit } from '../../components/Field';
import { ErrorPanel, FormError, Panel } from '../../components/states';
import type { TokenInfo } from '../../gen/airis/gateway/v1/auth_pb';
import { TokenList } from './TokenList';
import '../pages.css';
import './tokens.css';
import { exporterSnippet, otlpEndpoint } from './exporter';

export default function TokensPage() {
  const { t } = useTranslation();
  const user = useUser();
  const isAdmin = hasRole(user, 'admin');
  const mint = useMintToken();
  const revoke = useRevokeToken();
  const [description, setDescription] = useState('');
  const [ttl, setTtl] = useState('');
  const [minted, setMinted] = useState<{ token: string; endpoint: string } | null>(null);
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
          setMinted({ token: res.token, endpoint: otlpEndpoint(res.otlpEndpoint, window.location) });
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
          <Field id="tok-desc" label={t('tokens.description')} className="grow">
            {(control) => (
              <input
                {...control}
                value={description}
                maxLength={256}
                placeholder={t('tokens.descriptionPlaceholder')}
                onChange={(e) => setDescription(e.target.value)}
              />
            )}
          </Field>
          <Field id="tok-ttl" label={t('tokens.ttlDays')} className="narrow">
            {(control) => (
              <input {...control} type="number" min={0} step={1} value={ttl} placeholder={t('tokens.ttlDefault')} onChange={(e) => setTtl(e.target.value)} />
            )}
          </Field>
          <FormSubmit label={t('tokens.mintButton')} disabled={mint.isPending} />
        </form>
        {mint.isError && <FormError error={mint.error} />}
      </Panel>
      <Panel title={t('tokens.issued')}>
        <TokenList onRevoke={setConfirm} />
        {revoke.isError && <ErrorPanel error={revoke.error} compact />}
      </Panel>
      {minted && <MintedDialog {...minted} onClose={() => setMinted(null)} />}
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

function MintedDialog({ token, endpoint, onClose }: { token: string; endpoint: string; onClose: () => void }) {
  const { t } = useTranslation();
  const ref = useModal(onClose);
  const snippet = exporterSnippet(endpoint, token);
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
