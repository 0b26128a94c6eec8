// What the alert forms share about their fields: the problems the form
// finds before sending, label names, and which field an INVALID_ARGUMENT
// message of the service names.

/** What is wrong with a field: a translation key (under the page's `invalid`) and its values. */
export interface Problem {
  key: string;
  values?: Record<string, string | number>;
}
export type Problems = Record<string, Problem>;

/** A label name, as Prometheus has them. */
export const NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Among `ids`, the field `path` names exactly, else the closest one
 * enclosing it (`labels` for `labels["9x"]`, `matchers[1]` for
 * `matchers[1].value`); null when none does.
 */
export function closestField(path: string, ids: Iterable<string>): string | null {
  let best: string | null = null;
  for (const id of ids) {
    const encloses = path === id || path.startsWith(id + '.') || path.startsWith(id + '[');
    if (encloses && (!best || id.length > best.length)) best = id;
  }
  return best;
}
