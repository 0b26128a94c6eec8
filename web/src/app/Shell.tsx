// The app shell: sidebar navigation, top bar (time, refresh, language,
// theme, user), and the page.
import { lazy, Suspense, useEffect, useState } from 'react';
import { useLocation } from 'react-router';
import { useTranslation } from 'react-i18next';
import { NavLink, Outlet, useNavigate, useSearchParams } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import { logout } from '../api/session';
import { Icon } from '../components/Icon';
import { ErrorBoundary, ErrorPanel } from '../components/states';
import { TimeRangePicker } from '../components/TimeRangePicker';
import { usePopover } from '../components/usePopover';
import { SearchBar } from '../search/SearchBar';
import { LANGUAGES, setLanguage, type Lang } from '../i18n';
import { formatSpan } from '../lib/format';
import { DEFAULT_FROM, DEFAULT_TO, relativeSpan } from '../lib/time';
import { NAV } from './routes';
import { setTheme, useTheme } from './theme';
import { TimeRangeProvider, useTimeRange } from './timeRange';
import { linkWith } from './urlState';
import { useUser } from './useSession';
import './Shell.css';

// With the search service's client: loaded once a question was asked.
const InterpretationBar = lazy(() => import('../search/InterpretationBar'));

/** A path segment decoded, or as it is when malformed (`%ZZ`). */
function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Tab title: the page, then the product (several tabs stay tellable apart). */
function useDocumentTitle() {
  const { t, i18n } = useTranslation();
  const { pathname } = useLocation();
  useEffect(() => {
    // The entry with the longest path that holds this one: `/alerts/rules/x` is a rule, not an alert.
    const nav = NAV.filter((n) => pathname === n.path || pathname.startsWith(n.path + '/')).sort(
      (a, b) => b.path.length - a.path.length,
    )[0];
    const rest = nav ? safeDecode(pathname.slice(nav.path.length + 1)) : '';
    const parts = [rest, nav ? t(nav.label) : '', 'AIRIS-MON'].filter(Boolean);
    document.title = parts.join(' · ');
  }, [pathname, t, i18n.language]);
}

export function Shell() {
  const { t } = useTranslation();
  const [params] = useSearchParams();
  useDocumentTitle();
  return (
    <TimeRangeProvider>
      <a className="skip-link" href="#main">
        {t('nav.skip')}
      </a>
      <div className="shell">
        <nav className="sidebar" aria-label={t('nav.main')}>
          <div className="brand">
            <span className="brand-mark" aria-hidden="true" />
            <span className="brand-name">AIRIS-MON</span>
          </div>
          <ul>
            {NAV.map((n) => (
              <li key={n.path}>
                <NavLink to={linkWith(params, n.path)} end={n.end} className={({ isActive }) => `nav-item ${isActive ? 'active' : ''}`}>
                  <Icon name={n.icon} size={18} />
                  <span>{t(n.label)}</span>
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="main-col">
          <header className="topbar">
            <div className="topbar-left">
              <SearchBar />
              <RangeNotice />
            </div>
            <div className="topbar-right">
              <TimeRangePicker />
              <LanguageSwitch />
              <ThemeSwitch />
              <UserMenu />
            </div>
          </header>
          <main id="main" className="content" tabIndex={-1}>
            {params.has('interp') && (
              <ErrorBoundary resetKey={params.get('interp')} fallback={(error) => <ErrorPanel error={error} compact />}>
                <Suspense fallback={null}>
                  <InterpretationBar />
                </Suspense>
              </ErrorBoundary>
            )}
            <Outlet />
          </main>
        </div>
      </div>
    </TimeRangeProvider>
  );
}

export function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  return (
    <>
      <label htmlFor="lang-select" className="sr-only">
        {t('shell.language')}
      </label>
      <select id="lang-select" value={i18n.language} onChange={(e) => setLanguage(e.target.value as Lang)}>
        {LANGUAGES.map((l) => (
          <option key={l.code} value={l.code} lang={l.code}>
            {l.label}
          </option>
        ))}
      </select>
    </>
  );
}

function ThemeSwitch() {
  const { t } = useTranslation();
  const theme = useTheme();
  const next = theme === 'dark' ? 'light' : 'dark';
  return (
    <button
      type="button"
      className="btn"
      onClick={() => setTheme(next)}
      aria-label={t(next === 'light' ? 'shell.themeLight' : 'shell.themeDark')}
      title={t(next === 'light' ? 'shell.themeLight' : 'shell.themeDark')}
    >
      <Icon name={theme === 'dark' ? 'sun' : 'moon'} />
    </button>
  );
}

function UserMenu() {
  const { t } = useTranslation();
  const user = useUser();
  const pop = usePopover();
  const [signOutError, setSignOutError] = useState<unknown>(null);
  const navigate = useNavigate();
  const qc = useQueryClient();
  if (!user) return null;
  const signOut = async () => {
    try {
      setSignOutError(null);
      await logout();
    } catch (err) {
      // Still signed in on the gateway: say so, stay here.
      setSignOutError(err);
      return;
    }
    qc.clear();
    navigate('/login', { replace: true });
  };
  return (
    <div className="user-menu" {...pop.rootProps}>
      <button type="button" className="btn" aria-label={t('shell.userMenu', { user: user.username })} {...pop.triggerProps}>
        <Icon name="user" />
        <span>{user.username}</span>
      </button>
      {pop.open && (
        <div className="user-pop" aria-label={t('shell.account')} {...pop.popupProps}>
          <dl className="kv">
            <dt>{t('shell.tenant')}</dt>
            <dd>{user.tenant}</dd>
            <dt>{t('shell.user')}</dt>
            <dd>{user.username}</dd>
            <dt>{t('shell.role')}</dt>
            <dd>{t(`roles.${user.role}`)}</dd>
          </dl>
          <button type="button" className="btn" onClick={() => void signOut()}>
            {t('auth.signOut')}
          </button>
          {signOutError !== null && <ErrorPanel error={signOutError} compact />}
        </div>
      )}
    </div>
  );
}

/** Says so when the address's time range cannot be shown and the default is shown instead. */
function RangeNotice() {
  const { t } = useTranslation();
  const tr = useTimeRange();
  if (!tr.problem) return null;
  const span = relativeSpan(DEFAULT_FROM, DEFAULT_TO)!;
  const range = formatSpan(span.count, span.unit);
  return (
    <p className="range-notice" role="status">
      {tr.problem === 'order' ? t('time.urlOrder', { range }) : t('time.urlInvalid', { range })}
    </p>
  );
}
