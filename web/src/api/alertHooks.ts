// The alert service's hooks (rules, silences, alerts, notifications), apart
// from hooks.ts: only the alert pages load them and the service's
// descriptors, so the other pages' first load stays smaller. Keys are
// hooks.ts's `keys`, as for every RPC.
import { create, fromJsonString } from '@bufbuild/protobuf';
import { createClient } from '@connectrpc/connect';
import { keepPreviousData, useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  AlertRuleSchema,
  AlertService,
  AlertState,
  GetNotificationPolicyResponseSchema,
  GetSilenceResponseSchema,
  SilenceState,
  type AlertRule,
  type NotificationPolicy,
  type Silence,
} from '../gen/airis/aiops/v1/alert_pb';
import { transport } from './clients';
import { timeRange } from './filters';
import { keys, type Range } from './hooks';

/** Alert rules, alerts, silences and notifications (AlertService): bearer auth. */
const alertClient = createClient(AlertService, transport);

/** The tenant's alert rules, by name then id, paged (the token from the URL). */
export function useListRules(pageToken: string, pageSize = 100) {
  return useQuery({
    queryKey: keys.rules(pageToken, pageSize),
    queryFn: ({ signal }) => alertClient.listRules({ page: { pageSize, pageToken } }, { signal }),
    placeholderData: keepPreviousData,
  });
}

/** One alert rule; NOT_FOUND when the tenant has no rule with that id. */
export function useRule(id: string) {
  return useQuery({
    queryKey: keys.rule(id),
    queryFn: ({ signal }) => alertClient.getRule({ id }, { signal }),
    enabled: !!id,
    // A newer version read restarts the editor's form: only on demand
    // (after a conflict), never behind the back of someone typing.
    refetchOnReconnect: false,
  });
}

/** After a rule changed: the lists and that rule are read again. */
function useRulesChanged() {
  const qc = useQueryClient();
  return (id: string) => {
    void qc.invalidateQueries({ queryKey: keys.ruleLists() });
    if (id) void qc.invalidateQueries({ queryKey: keys.rule(id) });
  };
}

/** CreateRule (editor or admin): the rule without id and version. */
export function useCreateRule() {
  const changed = useRulesChanged();
  return useMutation({
    mutationFn: (rule: AlertRule) => alertClient.createRule({ rule }),
    onSuccess: (res) => changed(res.rule?.id ?? ''),
  });
}

/** UpdateRule (editor or admin): with the id and the version read; ABORTED when it changed since. */
export function useUpdateRule() {
  const changed = useRulesChanged();
  return useMutation({
    mutationFn: (rule: AlertRule) => alertClient.updateRule({ rule }),
    onSuccess: (_res, rule) => changed(rule.id),
  });
}

/** DeleteRule (editor or admin) of the version read; ABORTED when it changed since. */
export function useDeleteRule() {
  const changed = useRulesChanged();
  return useMutation({
    mutationFn: (v: { id: string; version: bigint }) => alertClient.deleteRule({ id: v.id, version: v.version }),
    // A rule that changed or went meanwhile: the list shows what is there now.
    onSettled: (_res, _err, v) => changed(v.id),
  });
}

/**
 * The tenant's silences in `states` (all when empty), the latest ending
 * first; pages accumulate ("more"). Read again every minute: silences start
 * and end as time passes.
 */
export function useListSilences(states: readonly SilenceState[], pageSize = 100) {
  const sorted = [...states].sort((a, b) => a - b);
  return useInfiniteQuery({
    queryKey: keys.silences(sorted, pageSize),
    initialPageParam: '',
    queryFn: ({ signal, pageParam }) => alertClient.listSilences({ states: sorted, page: { pageSize, pageToken: pageParam } }, { signal }),
    getNextPageParam: (last) => last.page?.nextPageToken || undefined,
    placeholderData: keepPreviousData,
    refetchInterval: 60_000,
  });
}

/** One silence, expired ones included; NOT_FOUND when the tenant has none with that id. */
export function useSilence(id: string) {
  return useQuery({
    queryKey: keys.silence(id),
    queryFn: ({ signal }) => alertClient.getSilence({ id }, { signal }),
    enabled: !!id,
    // A newer version read restarts the editor's form: only on demand.
    refetchOnReconnect: false,
    refetchOnWindowFocus: false,
  });
}

/** After a silence changed: the lists are read again, and `silence` is what GetSilence would answer now. */
function useSilencesChanged() {
  const qc = useQueryClient();
  return (silence: Silence | undefined, ...stale: string[]) => {
    void qc.invalidateQueries({ queryKey: keys.silenceLists() });
    if (silence) qc.setQueryData(keys.silence(silence.id), create(GetSilenceResponseSchema, { silence }));
    for (const id of stale) if (id && id !== silence?.id) void qc.invalidateQueries({ queryKey: keys.silence(id) });
  };
}

/** CreateSilence (editor or admin): the silence without id and version. */
export function useCreateSilence() {
  const changed = useSilencesChanged();
  return useMutation({
    mutationFn: (silence: Silence) => alertClient.createSilence({ silence }),
    onSuccess: (res) => changed(res.silence),
  });
}

/**
 * UpdateSilence (editor or admin) with the id and the version read:
 * ABORTED when it changed since. The answer may be a new silence (a new
 * id) that replaced it: other matchers, or a change of an expired one.
 */
export function useUpdateSilence() {
  const changed = useSilencesChanged();
  return useMutation({
    mutationFn: (silence: Silence) => alertClient.updateSilence({ silence }),
    onSuccess: (res, sent) => changed(res.silence, sent.id),
  });
}

/** ExpireSilence (editor or admin): it ends now. */
export function useExpireSilence() {
  const changed = useSilencesChanged();
  return useMutation({
    mutationFn: (id: string) => alertClient.expireSilence({ id }),
    onSuccess: (res, id) => changed(res.silence, id),
    onError: (_err, id) => changed(undefined, id),
  });
}

export interface TestRuleParams extends Range {
  /** The rule as JSON (toJsonString of AlertRuleSchema): a plain value for the key. */
  rule: string;
  /** "en" or "ko": the language of the rendered annotations. */
  locale: string;
}

/** What a rule would have done over the window (TestRule), judged minute by minute. */
export function useTestRule(p: TestRuleParams, enabled: boolean) {
  return useQuery({
    queryKey: keys.testRule(p),
    queryFn: ({ signal }) =>
      alertClient.testRule(
        { rule: fromJsonString(AlertRuleSchema, p.rule), timeRange: timeRange(p.startMs, p.endMs), locale: p.locale },
        { signal },
      ),
    enabled: enabled && !!p.rule,
    placeholderData: keepPreviousData,
    // The past does not change once judged; "run again" asks anew.
    staleTime: 60_000,
  });
}

export interface AlertParams extends Range {
  /** AlertState numbers, ascending; none for every state. */
  states: number[];
  /** One rule's alerts; '' for every rule's. */
  ruleId: string;
  /** "en" or "ko": the language of the annotations. */
  locale: string;
  pageToken: string;
  pageSize: number;
}

/**
 * The alerts stored rules raised (ListAlerts) that were active in the
 * window, the most recently active first, paged. Read again every minute:
 * rules are judged once a minute.
 */
export function useListAlerts(p: AlertParams) {
  return useQuery({
    queryKey: keys.alerts(p),
    queryFn: ({ signal }) =>
      alertClient.listAlerts(
        {
          states: p.states as AlertState[],
          ruleId: p.ruleId,
          timeRange: timeRange(p.startMs, p.endMs),
          locale: p.locale,
          page: { pageSize: p.pageSize, pageToken: p.pageToken },
        },
        { signal },
      ),
    placeholderData: keepPreviousData,
    refetchInterval: 60_000,
  });
}

/** The tenant's notification policy; version 0 when it never stored one (nobody is notified). */
export function useNotificationPolicy() {
  return useQuery({
    queryKey: keys.policy(),
    queryFn: ({ signal }) => alertClient.getNotificationPolicy({}, { signal }),
    // A newer version read restarts the editor's form: only on demand.
    refetchOnReconnect: false,
  });
}

/** UpdateNotificationPolicy (editor or admin): the whole policy with the version read; ABORTED when it changed since. */
export function useUpdateNotificationPolicy() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (policy: NotificationPolicy) => alertClient.updateNotificationPolicy({ policy }),
    onSuccess: (res) => {
      if (res.policy) qc.setQueryData(keys.policy(), create(GetNotificationPolicyResponseSchema, { policy: res.policy }));
    },
  });
}

/** What was sent to the receivers' webhooks (ListNotifications), newest first, paged; read again every 30 s. */
export function useListNotifications(receiver: string, pageToken: string, pageSize = 100) {
  return useQuery({
    queryKey: keys.notifications(receiver, pageToken, pageSize),
    queryFn: ({ signal }) => alertClient.listNotifications({ receiver, page: { pageSize, pageToken } }, { signal }),
    placeholderData: keepPreviousData,
    refetchInterval: 30_000,
  });
}
