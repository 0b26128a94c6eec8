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

/**
 * When to renew: after this share of the token's lifetime, timed from when
 * it arrived (the lifetime is the server's exp - iat, so a wrong client
 * clock does not matter), and at least a minute before it ends when the
 * lifetime allows.
 */
const RENEW_AT = 0.8;
const LEAD_MS = 60_000;

function adoptToken(token: string, issuedAtUnix: bigint, expiresAtUnix: bigint): void {
  accessToken = token;
  clearTimeout(refreshTimer);
  const lifetimeMs = Number(expiresAtUnix - issuedAtUnix) * 1000;
  if (lifetimeMs > 0) {
    const delay = Math.max(1_000, Math.min(lifetimeMs * RENEW_AT, lifetimeMs - LEAD_MS));
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

/**
 * Bumped by every sign-in and sign-out: an answer that arrives after one
 * (a Refresh in flight while the user signs out) is stale and ignored.
 */
let generation = 0;

/** One Refresh at a time: concurrent callers share the request. */
function refreshShared(): Promise<RefreshResult> {
  if (inflight) return inflight;
  const started = generation;
  inflight = (async (): Promise<RefreshResult> => {
    try {
      const res = await auth.refresh({});
      if (started !== generation) return { ok: false, error: new ConnectError('signed out meanwhile', Code.Unauthenticated) };
      adoptToken(res.accessToken, res.token?.issuedAtUnix ?? 0n, res.token?.expiresAtUnix ?? 0n);
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
  return (await refresh()) === 'ok';
}

/**
 * Refresh, telling why it failed: 'expired' (the session is over; the state
 * becomes signedOut) or 'failed' (the gateway could not answer; the
 * session may well be alive).
 */
export async function refresh(): Promise<'ok' | 'expired' | 'failed'> {
  const started = generation;
  const r = await refreshShared();
  if (r.ok) return 'ok';
  if (!isUnauthenticated(r.error)) return 'failed';
  if (started === generation) {
    const wasSignedIn = state.status === 'signedIn';
    clearToken();
    setState({ status: 'signedOut', expired: wasSignedIn });
  }
  return 'expired';
}

/** On start: restore the session from the cookie, if there is one. */
export async function restoreSession(): Promise<void> {
  if (state.status !== 'error' && state.status !== 'restoring') return;
  setState({ status: 'restoring' });
  const started = generation;
  const r = await refreshShared();
  if (r.ok || started !== generation) return;
  if (isUnauthenticated(r.error)) setState({ status: 'signedOut', expired: false });
  else setState({ status: 'error', error: r.error });
}

export async function login(tenant: string, username: string, password: string): Promise<User> {
  // The gateway sets the session cookie that keeps this browser signed in.
  const res = await auth.login({ tenant, username, password, startSession: true });
  generation++;
  adoptToken(res.accessToken, res.token?.issuedAtUnix ?? 0n, res.token?.expiresAtUnix ?? 0n);
  const user: User = { tenant, username: res.token?.subject || username, role: roleName(res.role) };
  setState({ status: 'signedIn', user });
  return user;
}

/**
 * Ends the session on the gateway (the cookie is the credential: no access
 * token is sent, the page's may have expired) and then here. Rejects, and
 * stays signed in, when the gateway could not end it: a browser that only
 * forgot its token would sign in again from the cookie on the next load.
 */
export async function logout(): Promise<void> {
  await auth.logout({});
  generation++;
  clearToken();
  setState({ status: 'signedOut', expired: false });
}

/** Called when an RPC is refused even after a refresh. */
export function markExpired(): void {
  clearToken();
  if (state.status !== 'signedOut') setState({ status: 'signedOut', expired: true });
}
