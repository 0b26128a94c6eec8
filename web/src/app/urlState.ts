// Page state lives in the URL query string so a pasted link reproduces the view.
import { useCallback, useState } from 'react';
import { useSearchParams } from 'react-router';

export type Patch = Record<string, string | string[] | null | undefined>;

/** Applies a patch to search params: null/empty removes, arrays repeat the key. */
export function applyPatch(params: URLSearchParams, patch: Patch): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const [k, v] of Object.entries(patch)) {
    next.delete(k);
    if (v === null || v === undefined || v === '') continue;
    if (Array.isArray(v)) for (const item of v) next.append(k, item);
    else next.set(k, v);
  }
  return next;
}

export function useUrlState(): [URLSearchParams, (patch: Patch, opts?: { replace?: boolean }) => void] {
  const [params, setParams] = useSearchParams();
  const update = useCallback(
    (patch: Patch, opts?: { replace?: boolean }) => setParams((prev) => applyPatch(prev, patch), { replace: opts?.replace }),
    [setParams],
  );
  return [params, update];
}

/**
 * A search form's draft of the filters the URL applies: edited freely,
 * written to the URL on submit, and reset to the URL's when that changes
 * from outside (back button, a pasted link). Also returns the applied
 * filters' key, the page token left out: paging keeps the draft.
 */
export function useDraft<T extends { page: string }>(applied: T): [T, (draft: T) => void, string] {
  const key = JSON.stringify({ ...applied, page: '' });
  const [draft, setDraft] = useState(applied);
  const [lastKey, setLastKey] = useState(key);
  if (key !== lastKey) {
    setLastKey(key);
    setDraft(applied);
  }
  return [draft, setDraft, key];
}

/** Keys carried over when moving between pages. */
export const GLOBAL_KEYS = ['from', 'to', 'refresh'] as const;

/** A link to `path` keeping the time range and auto-refresh, plus `extra`. */
export function linkWith(current: URLSearchParams, path: string, extra: Patch = {}): string {
  const base = new URLSearchParams();
  for (const k of GLOBAL_KEYS) {
    const v = current.get(k);
    if (v) base.set(k, v);
  }
  const q = applyPatch(base, extra).toString();
  return q ? `${path}?${q}` : path;
}

export function useLinkTo(): (path: string, extra?: Patch) => string {
  const [params] = useSearchParams();
  return useCallback((path: string, extra?: Patch) => linkWith(params, path, extra), [params]);
}
