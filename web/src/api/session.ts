// The signed-in session. The access token lives only in this module's
// memory; the long-lived credential is the gateway's HttpOnly session cookie,
// which the browser sends to Refresh and Logout and scripts never see.
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { AuthService, Role } from '../gen/airis/gateway/v1/auth_pb';
import { rawTransport } from './transport';

export type RoleName = 'viewer' | 'editor' | 'admin' | 'unknown';

export interface User {
  tenant: string;
  username: string;
  role: RoleName;
}

export type SessionState =
  | { status: 'restoring' }
  | { status: 'signedOut'; expired: boolean }
  | { status: 'signedIn'; user: User }
  | { status: 'error'; error: unknown };

export function roleName(role: Role): RoleName {
  switch (role) {
    case Role.VIEWER:
      return 'viewer';
    case Role.EDITOR:
      return 'editor';
    case Role.ADMIN:
      return 'admin';
    default:
      return 'unknown';
  }
}

const ROLE_ORDER: Record<RoleName, number> = { unknown: 0, viewer: 1, editor: 2, admin: 3 };
export function hasRole(user: User | null, needed: RoleName): boolean {
  return !!user && ROLE_ORDER[user.role] >= ROLE_ORDER[needed];
}

// Login, Refresh and Logout go through the transport without the auth
// interceptor: they authenticate with the cookie (or the password).
const auth = createClient(AuthService, rawTransport);

let state: SessionState = { status: 'restoring' };
let accessToken: string | null = null;
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let inflight: Promise<{ ok: true } | { ok: false; error: unknown }> | null = null;
const listeners = new Set<() => void>();

function setState(next: SessionState): void {
  state = next;
  for (const l of listeners) l();
}

export function subscribeSession(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
export function getSession(): SessionState {
  return state;
}
export function getAccessToken(): string | null {
  return accessToken;
}

/** Seconds before expiry at which the token is renewed. */
const REFRESH_LEAD_MS = 60_000;

function adoptToken(token: string, expiresAtUnix: bigint): void {
  accessToken = token;
  clearTimeout(refreshTimer);
  const expiresMs = Number(expiresAtUnix) * 1000;
  if (expiresMs > 0) {
    const delay = Math.max(5_000, expiresMs - Date.now() - REFRESH_LEAD_MS);
    refreshTimer = setTimeout(() => void proactiveRefresh(), delay);
  }
}

async function proactiveRefresh(): Promise<void> {
  const ok = await refreshOnce();
  if (!ok && state.status === 'signedIn' && accessToken) {
    // A transient failure (gateway or Redis briefly away): try again soon;
    // an expired session was already handled by refreshOnce.
    refreshTimer = setTimeout(() => void proactiveRefresh(), 10_000);
  }
}

function clearToken(): void {
  accessToken = null;
  clearTimeout(refreshTimer);
}

type RefreshResult = { ok: true } | { ok: false; error: unknown };

/** One Refresh at a time: concurrent callers share the request. */
function refreshShared(): Promise<RefreshResult> {
  if (inflight) return inflight;
  inflight = (async (): Promise<RefreshResult> => {
    try {
      const res = await auth.refresh({});
      adoptToken(res.accessToken, res.token?.expiresAtUnix ?? 0n);
      setState({
        status: 'signedIn',
        user: { tenant: res.tenant, username: res.username, role: roleName(res.role) },
      });
      return { ok: true };
    } catch (error) {
      return { ok: false, error };
    } finally {
      inflight = null;
    }
  })();
  return inflight;
}

function isUnauthenticated(err: unknown): boolean {
  return ConnectError.from(err).code === Code.Unauthenticated;
}

/**
 * Exchanges the session cookie for a new access token. Resolves false when
 * the session is gone (the state becomes signedOut, expired) or the gateway
 * could not be reached.
 */
export async function refreshOnce(): Promise<boolean> {
  const r = await refreshShared();
  if (!r.ok && isUnauthenticated(r.error)) {
    const wasSignedIn = state.status === 'signedIn';
    clearToken();
    setState({ status: 'signedOut', expired: wasSignedIn });
  }
  return r.ok;
}

/** On start: restore the session from the cookie, if there is one. */
export async function restoreSession(): Promise<void> {
  if (state.status !== 'error' && state.status !== 'restoring') return;
  setState({ status: 'restoring' });
  const r = await refreshShared();
  if (r.ok) return;
  if (isUnauthenticated(r.error)) setState({ status: 'signedOut', expired: false });
  else setState({ status: 'error', error: r.error });
}

export async function login(tenant: string, username: string, password: string): Promise<User> {
  const res = await auth.login({ tenant, username, password });
  adoptToken(res.accessToken, res.token?.expiresAtUnix ?? 0n);
  const user: User = { tenant, username: res.token?.subject || username, role: roleName(res.role) };
  setState({ status: 'signedIn', user });
  return user;
}

export async function logout(): Promise<void> {
  const token = accessToken;
  try {
    await auth.logout({}, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  } catch {
    // Signing out locally is what matters; the session ends server-side
    // with its expiry if the call failed.
  } finally {
    clearToken();
    setState({ status: 'signedOut', expired: false });
  }
}

/** Called when an RPC is refused even after a refresh. */
export function markExpired(): void {
  clearToken();
  if (state.status !== 'signedOut') setState({ status: 'signedOut', expired: true });
}
