// The notification policy as the editor holds it (timings and numbers as
// typed; receivers, routes and the Alertmanagers every alert is forwarded
// to), converted to and from NotificationPolicy; the route tree's changes
// (add, remove, move); what each route inherits; the fields the service's
// INVALID_ARGUMENT messages name; and what the editor checks before
// sending (the rest is the service's to say).
import { clone, create } from '@bufbuild/protobuf';
import {
  AlertmanagerConfigSchema,
  NotificationPolicySchema,
  ReceiverSchema,
  RouteSchema,
  WebhookConfigSchema,
  type Notification,
  type NotificationPolicy,
  type Route,
} from '../../gen/airis/aiops/v1/alert_pb';
import {
  blankMatcher,
  formatSilenceDuration,
  isBlank,
  matcherFormOf,
  parseSilenceDuration,
  toLabelMatcher,
  type MatcherForm,
} from './silences';
import { NAME_RE, closestField, type Problems } from './fields';

// === limits and defaults: the alert service's (services/aiops/src/alert/policy.rs) ===

export const MAX_RECEIVERS = 64;
export const MAX_WEBHOOKS = 8;
export const MAX_ALERTMANAGERS = 8;
export const MAX_CHILDREN = 64;
/** Levels of the tree, the root included. */
export const MAX_DEPTH = 8;
export const MAX_RECEIVER_NAME_CHARS = 200;
/** The receiver the notification log lists what went to the Alertmanagers under; no receiver may take its name. */
export const ALERTMANAGER_RECEIVER = 'alertmanager';
/** Alertmanager's defaults at the root, in seconds. */
export const ROOT_TIMING: Timing = { wait: 30, interval: 300, repeat: 14_400 };
/** `group_by: ["..."]`: every label, each alert its own group. */
export const EVERY_LABEL = '...';

export const TIMINGS = ['wait', 'interval', 'repeat'] as const;
export type TimingName = (typeof TIMINGS)[number];
export type Timing = Record<TimingName, number>;

// === durations as typed: seconds, or Alertmanager's 30s, 5m, 4h, 1h30m ===

/** Whole seconds from "30", "30s", "5m", "1h30m", "0s"; null when it is none. Empty is not a duration (the caller says what empty means). */
export function parseSeconds(text: string): number | null {
  const v = text.trim();
  if (/^\d{1,9}$/.test(v)) return Number(v);
  if (/^(0+\s*[wdhms]\s*)+$/i.test(v)) return 0;
  const ms = parseSilenceDuration(v);
  return ms !== null && ms % 1000 === 0 ? ms / 1000 : null;
}

/** Seconds as parseSeconds reads them: "0s", "30s", "5m", "4h", "1h30m". */
export function formatSeconds(seconds: number): string {
  return formatSilenceDuration(seconds * 1000);
}

// === the form ===

export interface WebhookForm {
  url: string;
  /** "", "en" or "ko" ("" is English). */
  locale: string;
  sendResolved: boolean;
  /** As typed; empty or 0: no limit. */
  maxAlerts: string;
}

/** An Alertmanager every alert is forwarded to (its v2 API). */
export interface AlertmanagerForm {
  /** Its base address, as typed (alerts go to `<url>/api/v2/alerts`). */
  url: string;
  /** The annotations' language: "", "en" or "ko" ("" is English). */
  locale: string;
}

export interface ReceiverForm {
  name: string;
  webhooks: WebhookForm[];
}

export interface RouteForm {
  /** Tells the routes apart while they are moved (React keys); not sent. */
  uid: number;
  /** '' inherits the parent's (required at the root). */
  receiver: string;
  /** Label names separated by commas, or `...`; '' inherits (at the root: one group for all). */
  groupBy: string;
  /** Empty rows are not sent. */
  matchers: MatcherForm[];
  continue: boolean;
  /** As typed; '' inherits (at the root: the default). */
  wait: string;
  interval: string;
  repeat: string;
  routes: RouteForm[];
}

export interface PolicyForm {
  /** The version read, as digits ('0' for a tenant without a policy). */
  version: string;
  /** The policy read: what the form does not edit is sent back as it was (fields of a newer service included). */
  base: NotificationPolicy | null;
  receivers: ReceiverForm[];
  route: RouteForm;
  alertmanagers: AlertmanagerForm[];
}

let lastUid = 0;
const nextUid = () => ++lastUid;

export const newWebhookForm = (): WebhookForm => ({ url: '', locale: '', sendResolved: true, maxAlerts: '' });

export const newReceiverForm = (): ReceiverForm => ({ name: '', webhooks: [newWebhookForm()] });

export const newAlertmanagerForm = (): AlertmanagerForm => ({ url: '', locale: '' });

/** A child route to fill in: one matcher to write, everything else inherited. */
export function newRouteForm(): RouteForm {
  return { uid: nextUid(), receiver: '', groupBy: '', matchers: [blankMatcher()], continue: false, wait: '', interval: '', repeat: '', routes: [] };
}

/**
 * Where a tenant without a policy starts: one receiver with a webhook to
 * fill in, taking every alert, grouped by rule, at the default timings.
 */
export function newPolicyForm(): PolicyForm {
  return {
    version: '0',
    base: null,
    receivers: [{ name: 'default', webhooks: [newWebhookForm()] }],
    route: { ...newRouteForm(), receiver: 'default', groupBy: 'alertname', matchers: [] },
    alertmanagers: [],
  };
}

const secondsText = (v: number | undefined) => (v === undefined ? '' : formatSeconds(v));

function routeToForm(r: Route): RouteForm {
  return {
    uid: nextUid(),
    receiver: r.receiver,
    groupBy: r.groupBy.join(', '),
    matchers: r.matchers.map(matcherFormOf),
    continue: r.continue,
    wait: secondsText(r.groupWaitSeconds),
    interval: secondsText(r.groupIntervalSeconds),
    repeat: secondsText(r.repeatIntervalSeconds),
    routes: r.routes.map(routeToForm),
  };
}

/** A stored policy in the form; one without a root route (version 0) gets an empty one. */
export function policyToForm(p: NotificationPolicy): PolicyForm {
  return {
    version: String(p.version),
    base: p,
    receivers: p.receivers.map((r) => ({
      name: r.name,
      webhooks: r.webhooks.map((w) => ({
        url: w.url,
        locale: w.locale,
        sendResolved: w.sendResolved ?? true,
        maxAlerts: w.maxAlerts ? String(w.maxAlerts) : '',
      })),
    })),
    route: p.route ? routeToForm(p.route) : { ...newRouteForm(), matchers: [] },
    alertmanagers: p.alertmanagers.map((a) => ({ url: a.url, locale: a.locale })),
  };
}

/** `alertname, service_name` → its names; commas or spaces between them. */
export function parseGroupBy(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean);
}

/** What a timing field sends: undefined when empty (inherited), else its seconds (an unreadable one as NaN never reaches here: validatePolicy). */
function secondsOf(text: string): number | undefined {
  if (!text.trim()) return undefined;
  return parseSeconds(text) ?? undefined;
}

function formToRoute(r: RouteForm): Route {
  return create(RouteSchema, {
    receiver: r.receiver.trim(),
    groupBy: parseGroupBy(r.groupBy),
    matchers: r.matchers.filter((m) => !isBlank(m)).map(toLabelMatcher),
    continue: r.continue,
    groupWaitSeconds: secondsOf(r.wait),
    groupIntervalSeconds: secondsOf(r.interval),
    repeatIntervalSeconds: secondsOf(r.repeat),
    routes: r.routes.map(formToRoute),
  });
}

/**
 * The policy the form describes, for UpdateNotificationPolicy with the
 * version read: its receivers, routes and Alertmanagers, and the rest of
 * the policy read as it was (the service replaces the policy whole).
 * Sending resolved alerts, the default, is left unset.
 */
export function formToPolicy(form: PolicyForm): NotificationPolicy {
  const policy = form.base ? clone(NotificationPolicySchema, form.base) : create(NotificationPolicySchema);
  policy.version = BigInt(form.version || '0');
  policy.updateTimeUnixNano = 0n;
  policy.route = formToRoute(form.route);
  policy.receivers = form.receivers.map((r) =>
    create(ReceiverSchema, {
      name: r.name.trim(),
      webhooks: r.webhooks.map((w) =>
        create(WebhookConfigSchema, {
          url: w.url.trim(),
          locale: w.locale,
          sendResolved: w.sendResolved ? undefined : false,
          maxAlerts: w.maxAlerts.trim() ? Number(w.maxAlerts.trim()) : 0,
        }),
      ),
    }),
  );
  policy.alertmanagers = form.alertmanagers.map((a) => create(AlertmanagerConfigSchema, { url: a.url.trim(), locale: a.locale }));
  return policy;
}

// === the route tree ===

/** A route's place: the indexes of the children from the root down; [] is the root. */
export type RoutePath = readonly number[];

export function routeAt(root: RouteForm, path: RoutePath): RouteForm | undefined {
  let r: RouteForm | undefined = root;
  for (const i of path) r = r?.routes[i];
  return r;
}

/** The tree with the route at `path` replaced by what `change` makes of it. */
export function updateRoute(root: RouteForm, path: RoutePath, change: (r: RouteForm) => RouteForm): RouteForm {
  if (path.length === 0) return change(root);
  const [i, ...rest] = path as [number, ...number[]];
  const child = root.routes[i];
  if (!child) return root;
  return { ...root, routes: root.routes.map((c, j) => (j === i ? updateRoute(child, rest, change) : c)) };
}

/** A new child at the end of the route at `path`'s children. */
export function addChildRoute(root: RouteForm, path: RoutePath, child: RouteForm = newRouteForm()): RouteForm {
  return updateRoute(root, path, (r) => ({ ...r, routes: [...r.routes, child] }));
}

/** The tree without the route at `path` (not the root) and its children. */
export function removeRoute(root: RouteForm, path: RoutePath): RouteForm {
  if (path.length === 0) return root;
  const i = path[path.length - 1]!;
  return updateRoute(root, path.slice(0, -1), (r) => ({ ...r, routes: r.routes.filter((_, j) => j !== i) }));
}

/** The route at `path` moved `by` places among its siblings (-1: up); unchanged at either end. */
export function moveRoute(root: RouteForm, path: RoutePath, by: number): RouteForm {
  if (path.length === 0) return root;
  const i = path[path.length - 1]!;
  return updateRoute(root, path.slice(0, -1), (r) => {
    const j = i + by;
    if (j < 0 || j >= r.routes.length) return r;
    const routes = [...r.routes];
    [routes[i], routes[j]] = [routes[j]!, routes[i]!];
    return { ...r, routes };
  });
}

/** "1.2": the route's number as the editor and the tree show it (the root has none). */
export const routeNumber = (path: RoutePath): string => path.map((i) => i + 1).join('.');

// === inheritance ===

/** Where a route's setting comes from. */
export type Source = 'set' | 'inherited' | 'default';

export interface Sourced<T> {
  value: T;
  source: Source;
}

/** What a route does once inherited. */
export interface Effective {
  receiver: Sourced<string>;
  /** [] at the root: one group for all. */
  groupBy: Sourced<string[]>;
  timing: Record<TimingName, Sourced<number>>;
}

/** What a route sets, as stored (Route) or as the form gives it. */
export interface RouteSettings {
  receiver: string;
  groupBy: readonly string[];
  groupWaitSeconds?: number;
  groupIntervalSeconds?: number;
  repeatIntervalSeconds?: number;
}

const TIMING_OF: Record<TimingName, 'groupWaitSeconds' | 'groupIntervalSeconds' | 'repeatIntervalSeconds'> = {
  wait: 'groupWaitSeconds',
  interval: 'groupIntervalSeconds',
  repeat: 'repeatIntervalSeconds',
};

/** The route `r` as it acts under `parent` (null: the root, under Alertmanager's defaults). */
export function effectiveOf(r: RouteSettings, parent: Effective | null): Effective {
  const unset: Source = parent ? 'inherited' : 'default';
  const timing = {} as Record<TimingName, Sourced<number>>;
  for (const name of TIMINGS) {
    const own = r[TIMING_OF[name]];
    timing[name] = own !== undefined ? { value: own, source: 'set' } : { value: parent ? parent.timing[name].value : ROOT_TIMING[name], source: unset };
  }
  return {
    receiver: r.receiver ? { value: r.receiver, source: 'set' } : { value: parent?.receiver.value ?? '', source: unset },
    groupBy: r.groupBy.length ? { value: [...r.groupBy], source: 'set' } : { value: parent?.groupBy.value ?? [], source: unset },
    timing,
  };
}

/** A form's route as what it sets (a timing that does not read counts as unset). */
export function settingsOf(r: RouteForm): RouteSettings {
  return {
    receiver: r.receiver.trim(),
    groupBy: parseGroupBy(r.groupBy),
    groupWaitSeconds: secondsOf(r.wait),
    groupIntervalSeconds: secondsOf(r.interval),
    repeatIntervalSeconds: secondsOf(r.repeat),
  };
}

/** What the route at `path` inherits: its parent's effective settings (null for the root). */
export function inheritedAt(root: RouteForm, path: RoutePath): Effective | null {
  let parent: Effective | null = null;
  let r: RouteForm | undefined = root;
  for (const i of path) {
    if (!r) return parent;
    parent = effectiveOf(settingsOf(r), parent);
    r = r.routes[i];
  }
  return parent;
}

// === field ids: the paths the service names in its INVALID_ARGUMENT messages, after "policy." ===

export type RoutePart =
  | 'receiver'
  | 'group_by'
  | 'matchers'
  | 'continue'
  | 'group_wait_seconds'
  | 'group_interval_seconds'
  | 'repeat_interval_seconds'
  | 'routes';

export const TIMING_PART: Record<TimingName, RoutePart> = {
  wait: 'group_wait_seconds',
  interval: 'group_interval_seconds',
  repeat: 'repeat_interval_seconds',
};

const routeField = (path: RoutePath) => 'route' + path.map((i) => `.routes[${i}]`).join('');

export const FIELD = {
  receivers: 'receivers',
  receiver: (i: number, part: 'name' | 'webhooks') => `receivers[${i}].${part}`,
  webhook: (i: number, j: number, part: 'url' | 'locale' | 'max_alerts') => `receivers[${i}].webhooks[${j}].${part}`,
  route: (path: RoutePath, part?: RoutePart) => (part ? `${routeField(path)}.${part}` : routeField(path)),
  matcher: (path: RoutePath, k: number, part: 'name' | 'operator' | 'value') => `${routeField(path)}.matchers[${k}].${part}`,
  alertmanagers: 'alertmanagers',
  alertmanager: (i: number, part: 'url' | 'locale') => `alertmanagers[${i}].${part}`,
} as const;

function routeFieldIds(r: RouteForm, path: number[], out: string[]): void {
  out.push(FIELD.route(path));
  for (const part of ['receiver', 'group_by', 'matchers', 'continue', 'group_wait_seconds', 'group_interval_seconds', 'repeat_interval_seconds', 'routes'] as const) {
    out.push(FIELD.route(path, part));
  }
  r.matchers.forEach((_, k) => out.push(FIELD.matcher(path, k, 'name'), FIELD.matcher(path, k, 'operator'), FIELD.matcher(path, k, 'value')));
  r.routes.forEach((c, i) => routeFieldIds(c, [...path, i], out));
}

/** Every field of the form, by id. */
export function fieldIds(form: PolicyForm): string[] {
  const ids: string[] = [FIELD.receivers];
  form.receivers.forEach((r, i) => {
    ids.push(FIELD.receiver(i, 'name'), FIELD.receiver(i, 'webhooks'));
    r.webhooks.forEach((_, j) => ids.push(FIELD.webhook(i, j, 'url'), FIELD.webhook(i, j, 'locale'), FIELD.webhook(i, j, 'max_alerts')));
  });
  routeFieldIds(form.route, [], ids);
  ids.push(FIELD.alertmanagers);
  form.alertmanagers.forEach((_, i) => ids.push(FIELD.alertmanager(i, 'url'), FIELD.alertmanager(i, 'locale')));
  return ids;
}

/** The form's rows of the matchers a route sends, in order (empty rows are not sent). */
export function sentMatcherRows(matchers: readonly MatcherForm[]): number[] {
  return matchers.flatMap((m, i) => (isBlank(m) ? [] : [i]));
}

/**
 * The field an INVALID_ARGUMENT message names
 * ("policy.route.routes[0].receiver: no receiver named \"pager\"" →
 * "route.routes[0].receiver"): the one it names exactly, else the closest
 * enclosing one ("policy.route.group_by[1]: …" → "route.group_by"); null
 * when it names none. A matcher's index counts the matchers sent, which
 * skip empty rows: it is mapped back to the form's row.
 */
export function serverFieldOf(message: string, form: PolicyForm): string | null {
  const m = /^policy\.([^\s:]+):/.exec(message);
  if (!m) return null;
  let route: RouteForm | undefined = form.route;
  const path = m[1]!.replace(/routes\[(\d+)\]|matchers\[(\d+)\]/g, (all, child: string | undefined, matcher: string | undefined) => {
    if (child !== undefined) {
      route = route?.routes[Number(child)];
      return all;
    }
    const rows = route ? sentMatcherRows(route.matchers) : [];
    return `matchers[${rows[Number(matcher)] ?? Number(matcher)}]`;
  });
  return closestField(path, fieldIds(form));
}

// === checks: what the form can tell before sending ===

export type { Problem, Problems } from './fields';

/** A URL, a webhook's or an Alertmanager's: required (whether it is an http:// address the service can send to is the service's to say). */
function checkUrl(text: string, field: string, p: Problems, key: string): void {
  if (!text.trim()) p[field] = { key };
}

function checkRoute(r: RouteForm, path: number[], p: Problems): void {
  if (path.length === 0 && !r.receiver.trim()) p[FIELD.route(path, 'receiver')] = { key: 'rootReceiver' };
  const groupBy = parseGroupBy(r.groupBy);
  const bad = groupBy.find((n) => n !== EVERY_LABEL && !NAME_RE.test(n));
  if (bad !== undefined) p[FIELD.route(path, 'group_by')] = { key: 'groupBy', values: { name: bad } };
  else if (groupBy.includes(EVERY_LABEL) && groupBy.length > 1) p[FIELD.route(path, 'group_by')] = { key: 'groupByEvery' };
  for (const name of TIMINGS) {
    const text = r[name];
    if (text.trim() && parseSeconds(text) === null) p[FIELD.route(path, TIMING_PART[name])] = { key: 'duration' };
  }
  for (const k of sentMatcherRows(r.matchers)) {
    if (!NAME_RE.test(r.matchers[k]!.name.trim())) p[FIELD.matcher(path, k, 'name')] = { key: 'matcherName', values: { n: k + 1 } };
  }
  r.routes.forEach((c, i) => checkRoute(c, [...path, i], p));
}

/**
 * What the form can tell is missing or unreadable, by field id: names and
 * URLs (webhooks' and Alertmanagers') left empty, timings and numbers that
 * do not read, label names that are none. What needs the whole policy (a
 * route to a receiver that does not exist, a repeat interval shorter than
 * the group interval) or the service's parsing (a URL that is not
 * http://, an Alertmanager's with a query) is the service's to say, next
 * to the field it names.
 */
export function validatePolicy(form: PolicyForm): Problems {
  const p: Problems = {};
  form.receivers.forEach((r, i) => {
    const name = r.name.trim();
    if (!name) p[FIELD.receiver(i, 'name')] = { key: 'receiverName' };
    else if ([...name].length > MAX_RECEIVER_NAME_CHARS) p[FIELD.receiver(i, 'name')] = { key: 'receiverNameLong', values: { max: MAX_RECEIVER_NAME_CHARS } };
    else if (name === ALERTMANAGER_RECEIVER) p[FIELD.receiver(i, 'name')] = { key: 'receiverReserved', values: { name } };
    r.webhooks.forEach((w, j) => {
      checkUrl(w.url, FIELD.webhook(i, j, 'url'), p, 'url');
      if (w.maxAlerts.trim() && !/^\d{1,9}$/.test(w.maxAlerts.trim())) p[FIELD.webhook(i, j, 'max_alerts')] = { key: 'maxAlerts' };
    });
  });
  checkRoute(form.route, [], p);
  form.alertmanagers.forEach((a, i) => checkUrl(a.url, FIELD.alertmanager(i, 'url'), p, 'alertmanagerUrl'));
  return p;
}

// === the notification log ===

/** One notification of the log: what tells two apart. */
export const notificationKey = (n: Notification): string => `${n.timeUnixNano}|${n.receiver}|${n.webhook}|${n.groupKey}`;

/** Its group's labels by name. */
export function groupLabelsOf(n: Notification): [string, string][] {
  return Object.keys(n.groupLabels)
    .sort()
    .map((k) => [k, n.groupLabels[k]!]);
}
