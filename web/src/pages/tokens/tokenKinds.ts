// The token list's kind filter. Ingest tokens are what the page is for, and
// every sign-in adds a session and an access token per renewal, which would
// drown them: ingest is the default.
import { TokenKind, type TokenInfo } from '../../gen/airis/gateway/v1/auth_pb';

export const KIND_FILTERS = ['ingest', 'session', 'access', 'all'] as const;
export type KindFilter = (typeof KIND_FILTERS)[number];
export const DEFAULT_KIND_FILTER: KindFilter = 'ingest';

const KIND_OF: Record<Exclude<KindFilter, 'all'>, TokenKind> = {
  ingest: TokenKind.INGEST,
  session: TokenKind.SESSION,
  access: TokenKind.ACCESS,
};

/** The filter named by the URL (`kind=`), the default when absent or unknown. */
export function kindFilterOf(param: string | null): KindFilter {
  return (KIND_FILTERS as readonly string[]).includes(param ?? '') ? (param as KindFilter) : DEFAULT_KIND_FILTER;
}

export function matchesKind(token: TokenInfo, filter: KindFilter): boolean {
  return filter === 'all' || token.kind === KIND_OF[filter];
}

/** How many tokens each filter shows. */
export function countByKind(tokens: readonly TokenInfo[]): Record<KindFilter, number> {
  const counts = Object.fromEntries(KIND_FILTERS.map((f) => [f, 0])) as Record<KindFilter, number>;
  for (const tok of tokens) for (const f of KIND_FILTERS) if (matchesKind(tok, f)) counts[f]++;
  return counts;
}

/** A kind's name, as in its filter and its badge's translation key. */
export function kindName(kind: TokenKind): string {
  return (Object.keys(KIND_OF) as (keyof typeof KIND_OF)[]).find((f) => KIND_OF[f] === kind) ?? 'unknown';
}
