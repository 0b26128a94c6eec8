import { Code, ConnectError } from '@connectrpc/connect';
import { useQueryClient } from '@tanstack/react-query';
import { useRef, useState, type FormEvent, type InputHTMLAttributes } from 'react';
import { flushSync } from 'react-dom';
import { useTranslation } from 'react-i18next';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { login } from '../../api/session';
import { useSession } from '../../app/useSession';
import { LanguageSwitch } from '../../app/Shell';
import { Field } from '../../components/Field';
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

/** The gateway refused the three together: each field is marked and described by the one message. */
function isRefusal(err: unknown): boolean {
  const code = ConnectError.from(err).code;
  return code === Code.Unauthenticated || code === Code.InvalidArgument;
}

type LoginField = 'tenant' | 'username' | 'password';
const FIELDS: readonly LoginField[] = ['tenant', 'username', 'password'];
const MISSING_KEY: Record<LoginField, string> = {
  tenant: 'auth.enterTenant',
  username: 'auth.enterUsername',
  password: 'auth.enterPassword',
};

export default function LoginPage() {
  const { t } = useTranslation();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const session = useSession();
  const qc = useQueryClient();
  const next = safeNext(params.get('next'));
  const [values, setValues] = useState<Record<LoginField, string>>(() => ({ tenant: lastTenant(), username: '', password: '' }));
  const [missing, setMissing] = useState<LoginField[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const inputs = useRef<Partial<Record<LoginField, HTMLInputElement | null>>>({});

  if (session.status === 'signedIn' && !busy) return <Navigate to={next} replace />;

  const code = error ? ConnectError.from(error).code : null;
  const refused = error !== null && isRefusal(error);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const empty = FIELDS.filter((f) => (f === 'password' ? !values[f] : !values[f].trim()));
    // Rendered before the focus moves, so the field is read with its error.
    flushSync(() => setMissing(empty));
    if (empty.length) {
      inputs.current[empty[0]!]?.focus();
      return;
    }
    setBusy(true);
    try {
      await login(values.tenant.trim(), values.username.trim(), values.password);
      rememberTenant(values.tenant.trim());
      // Nothing cached for a previous user may show.
      qc.clear();
      navigate(next, { replace: true });
    } catch (err) {
      flushSync(() => {
        setError(err);
        setBusy(false);
      });
      if (isRefusal(err)) inputs.current.tenant?.focus();
    }
  };

  const field = (name: LoginField, label: string, props: InputHTMLAttributes<HTMLInputElement>) => (
    <Field
      id={`login-${name}`}
      label={label}
      error={missing.includes(name) ? t(MISSING_KEY[name]) : undefined}
      invalid={refused}
      describedBy={refused ? 'login-error' : undefined}
    >
      {(control) => (
        <input
          {...control}
          {...props}
          ref={(el) => {
            inputs.current[name] = el;
          }}
          name={name}
          required
          value={values[name]}
          onChange={(e) => {
            setValues((v) => ({ ...v, [name]: e.target.value }));
            setMissing((m) => m.filter((f) => f !== name));
          }}
        />
      )}
    </Field>
  );

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
        {field('tenant', t('auth.tenant'), { autoComplete: 'organization', autoFocus: !values.tenant })}
        {field('username', t('auth.username'), { autoComplete: 'username', autoFocus: !!values.tenant })}
        {field('password', t('auth.password'), { type: 'password', autoComplete: 'current-password' })}
        {refused && (
          <p id="login-error" className="form-error" role="alert">
            {code === Code.Unauthenticated ? t('auth.badCredentials') : t('auth.missingFields')}
          </p>
        )}
        {error !== null && !refused && <ErrorPanel error={error} compact />}
        <button type="submit" className="btn btn-primary login-submit" disabled={busy}>
          {busy ? t('auth.signingIn') : t('auth.signIn')}
        </button>
      </form>
    </main>
  );
}
