/** Only same-app paths after sign-in: never an open redirect to another origin. */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\') || next.startsWith('/login')) {
    return '/services';
  }
  return next;
}
