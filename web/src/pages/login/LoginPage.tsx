import { Code, ConnectError } from '@connectrpc/connect';
import { useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { login } from '../../api/session';
import { useSession } from '../../app/useSession';
import { LanguageSwitch } from '../../app/Shell';
import { ErrorPanel } from '../../components/states';
import { safeNext } from './safeNext';
import './login.css';

// The tenant is not a secret; remembering it saves typing on every sign-in.
const TENANT_KEY = 'airis.tenant';
function lastTenant(): string {
  try {
    return localStorage.getItem(TENANT_KEY) ?? '';
  } catch {
    return '';
  }
}
function rememberTenant(t: string): void {
  try {
    localStorage.setItem(TENANT_KEY, t);
  } catch {
    // Not remembered; no harm.
  }
}

export default function LoginPage() {
  const { t } = useTranslation();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const session = useSession();
  const qc = useQueryClient();
  const next = safeNext(params.get('next'));
  const [tenant, setTenant] = useState(lastTenant);
  const [missing, setMissing] = useState(false);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  if (session.status === 'signedIn' && !busy) return <Navigate to={next} replace />;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (!tenant.trim() || !username.trim() || !password) {
      setMissing(true);
      return;
    }
    setMissing(false);
    setBusy(true);
    try {
      await login(tenant.trim(), username.trim(), password);
      rememberTenant(tenant.trim());
      // Nothing cached for a previous user may show.
      qc.clear();
      navigate(next, { replace: true });
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  const code = error ? ConnectError.from(error).code : null;

  return (
    <main className="login-page">
      <div className="login-lang">
        <LanguageSwitch />
      </div>
      <form className="login-card" onSubmit={submit} aria-labelledby="login-title" noValidate>
        <div className="login-brand">
          <span className="brand-mark" aria-hidden="true" />
          <span>AIRIS-MON</span>
        </div>
        <h1 id="login-title">{t('auth.title')}</h1>
        {params.get('expired') && !error && (
          <p className="login-note" role="status">
            {t('auth.expired')}
          </p>
        )}
        <div className="field">
          <label htmlFor="login-tenant">{t('auth.tenant')}</label>
          <input
            id="login-tenant"
            name="tenant"
            autoComplete="organization"
            required
            value={tenant}
            onChange={(e) => setTenant(e.target.value)}
            autoFocus={!tenant}
          />
        </div>
        <div className="field">
          <label htmlFor="login-username">{t('auth.username')}</label>
          <input
            id="login-username"
            name="username"
            autoComplete="username"
            required
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            autoFocus={!!tenant}
          />
        </div>
        <div className="field">
          <label htmlFor="login-password">{t('auth.password')}</label>
          <input
            id="login-password"
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </div>
        {code === Code.Unauthenticated && (
          <p className="form-error" role="alert">
            {t('auth.badCredentials')}
          </p>
        )}
        {(missing || code === Code.InvalidArgument) && (
          <p className="form-error" role="alert">
            {t('auth.missingFields')}
          </p>
        )}
        {error !== null && code !== Code.Unauthenticated && code !== Code.InvalidArgument && (
          <ErrorPanel error={error} compact />
        )}
        <button type="submit" className="btn btn-primary login-submit" disabled={busy}>
          {busy ? t('auth.signingIn') : t('auth.signIn')}
        </button>
      </form>
    </main>
  );
}
