// The delta service's hooks (Compare, ListChanges), apart from hooks.ts:
// only the Canary analysis page loads them and the service's descriptors.
// Their keys are hooks.ts's `keys`, as for every RPC.
import { createClient } from '@connectrpc/connect';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { DeltaService } from '../gen/airis/delta/v1/delta_pb';
import { toListChangesRequest, type ChangesParams } from '../pages/delta/changes';
import { toCompareRequest, type CompareParams } from '../pages/delta/delta';
import { transport } from './clients';
import { keys } from './hooks';

export type { ChangesParams, CompareParams };

/** Change analysis (DeltaService.Compare): bearer auth, through the same ingress. */
const deltaClient = createClient(DeltaService, transport);

/** Compare of two cohorts; not run while `p` is null (the URL lacks a cohort). */
export function useCompare(p: CompareParams | null) {
  return useQuery({
    queryKey: keys.compare(p),
    queryFn: ({ signal }) => deltaClient.compare(toCompareRequest(p!), { signal }),
    enabled: p !== null,
  });
}

/**
 * The changes found over the page's time range, each compared
 * (DeltaService.ListChanges); the last answer stays while an
 * auto-refresh or a new range asks again.
 */
export function useListChanges(p: ChangesParams | null) {
  return useQuery({
    queryKey: keys.changes(p),
    queryFn: ({ signal }) => deltaClient.listChanges(toListChangesRequest(p!), { signal }),
    enabled: p !== null,
    placeholderData: keepPreviousData,
  });
}
