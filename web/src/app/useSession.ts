import { useSyncExternalStore } from 'react';
import { getSession, subscribeSession, type SessionState, type User } from '../api/session';

export function useSession(): SessionState {
  return useSyncExternalStore(subscribeSession, getSession);
}

export function useUser(): User | null {
  const s = useSession();
  return s.status === 'signedIn' ? s.user : null;
}
