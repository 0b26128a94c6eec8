// gRPC-Web over the page's own origin: the ingress (Envoy) serves the UI and
// routes /airis.* to the services, so no CORS and cookies stay first-party.
import { Code, ConnectError, type Interceptor, type Transport } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';

const baseUrl = typeof window === 'undefined' ? 'http://127.0.0.1:8080' : window.location.origin;

const sameOriginFetch: typeof fetch = (input, init) => fetch(input, { ...init, credentials: 'same-origin' });

/** Without authentication: Login, Refresh and Logout. */
export const rawTransport: Transport = createGrpcWebTransport({ baseUrl, fetch: sameOriginFetch });

// Filled in by the session module at start (avoids an import cycle).
interface AuthHooks {
  token(): string | null;
  /** 'expired': the session is over; 'failed': the gateway did not answer. */
  refresh(): Promise<'ok' | 'expired' | 'failed'>;
  expired(): void;
}
let hooks: AuthHooks = { token: () => null, refresh: async () => 'expired', expired: () => {} };
export function installAuthHooks(h: AuthHooks): void {
  hooks = h;
}

/**
 * Adds the bearer token. On UNAUTHENTICATED, renews the token once (shared
 * with every other failing call) and retries; if that fails the session is
 * over and the app sends the user to sign in, keeping the page in `next`.
 */
export const authInterceptor: Interceptor = (next) => async (req) => {
  const sent = hooks.token();
  if (sent) req.header.set('authorization', `Bearer ${sent}`);
  try {
    return await next(req);
  } catch (err) {
    if (ConnectError.from(err).code !== Code.Unauthenticated) throw err;
    // Another call may already have renewed the token meanwhile.
    const current = hooks.token();
    const renewed = current && current !== sent ? 'ok' : await hooks.refresh();
    // The gateway did not answer: the session may be fine, so the call
    // fails as unavailable (retryable) instead of signing the user out.
    if (renewed === 'failed') throw new ConnectError('could not renew the session', Code.Unavailable);
    const token = hooks.token();
    if (renewed !== 'ok' || !token) {
      hooks.expired();
      throw err;
    }
    req.header.set('authorization', `Bearer ${token}`);
    try {
      return await next(req);
    } catch (again) {
      if (ConnectError.from(again).code === Code.Unauthenticated) hooks.expired();
      throw again;
    }
  }
};

export const transport: Transport = createGrpcWebTransport({
  baseUrl,
  fetch: sameOriginFetch,
  interceptors: [authInterceptor],
});
