// The search service's client and what the search bar does with it:
// completions of the word being typed, and a question read into the page
// that shows its results. Loaded when the search bar is first used, so
// that no page's first load carries the search service's descriptors.
import { createClient } from '@connectrpc/connect';
import { useQuery } from '@tanstack/react-query';
import { SearchService, type AskResponse, type InterpretResponse, type Interpretation, type Suggestion } from '../gen/airis/search/v1/search_pb';
import { transport } from '../api/clients';
import { keys } from '../api/hooks';
import { encode, target } from './interpretation';

const client = createClient(SearchService, transport);

const timeZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** Completions of `prefix` from the tenant's names. */
export async function suggest(prefix: string, signal?: AbortSignal): Promise<Suggestion[]> {
  if (!prefix.trim()) return [];
  const answer = await client.suggest({ prefix, limit: 8 }, { signal });
  return answer.suggestions;
}

/** The last answer, for the interpretation bar (its unplaced words and sources). */
let last: { key: string; answer: InterpretResponse } | null = null;

export function lastAnswer(question: string, asked: string): InterpretResponse | null {
  return last && last.key === `${asked}\n${question}` ? last.answer : null;
}

/** Where a question's results are: the owning page's path and URL keys, with the question and its interpretation. */
export interface Asked {
  path: string;
  params: Record<string, string | string[]>;
  answer: InterpretResponse;
  /** Ask's answer, when it was asked already (a canary's versions chosen): what the page's answer would ask again. */
  answered?: AskResponse;
}

/**
 * Reads `question` in the asker's language and time zone, as of `nowMs`;
 * the page that shows its results, with `ask` (the question), `asked`
 * (when) and `interp` (the interpretation, versions to compare chosen) in
 * its URL.
 */
export async function ask(question: string, locale: string, nowMs: number): Promise<Asked> {
  const request = { locale, timeZone: timeZone(), nowUnixNano: BigInt(nowMs) * 1_000_000n };
  let answer = await client.interpret({ question, ...request });
  let answered: AskResponse | undefined;
  const versions = answer.interpretation?.compareVersions;
  if (versions && (!versions.candidate || !versions.baseline)) {
    // A canary: Ask chooses the versions from the spans, so that the page
    // (and a link to it) opens on the versions compared.
    answered = await client.ask({ query: { case: 'question', value: question }, ...request });
    if (answered.interpretation) answer = answered.interpretation;
  }
  const asked = String(nowMs);
  last = { key: `${asked}\n${question}`, answer };
  const interpretation = answer.interpretation;
  const to = interpretation ? target(interpretation) : { path: '/traces', params: {}, unapplied: [] };
  return {
    path: to.path,
    params: { ...to.params, ask: question, asked, ...(interpretation ? { interp: encode(interpretation) } : {}) },
    answer,
    ...(answered ? { answered } : {}),
  };
}

/**
 * The answer to an interpretation as it stands (Ask, run by the query
 * service as the signed-in user); not run while `interpretation` is null.
 */
export function useAsk(interpretation: Interpretation | null, encoded: string, locale: string) {
  return useQuery({
    queryKey: keys.ask(encoded, locale),
    queryFn: ({ signal }) =>
      client.ask({ query: { case: 'interpretation', value: interpretation! }, locale, timeZone: timeZone() }, { signal }),
    enabled: interpretation !== null,
  });
}
