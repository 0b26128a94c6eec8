// The delta service's hook (Compare), apart from hooks.ts: only the Canary
// analysis page loads it and the service's descriptors. Its key is
// hooks.ts's `keys`, as for every RPC.
import { createClient } from '@connectrpc/connect';
import { useQuery } from '@tanstack/react-query';
import { DeltaService } from '../gen/airis/delta/v1/delta_pb';
import { toCompareRequest, type CompareParams } from '../pages/delta/delta';
import { transport } from './clients';
import { keys } from './hooks';

export type { CompareParams };

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
