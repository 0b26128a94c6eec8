import { create, equals, fromBinary, toBinary } from '@bufbuild/protobuf';
import i18next, { type TFunction } from 'i18next';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AlertState,
  LabelMatcherSchema,
  MatchOperator,
  NotificationPolicySchema,
  NotificationSchema,
  RouteSchema,
  type NotificationPolicy,
} from '../../gen/airis/aiops/v1/alert_pb';
import { en, ko } from '../../i18n/all';
import {
  addChildRoute,
  ALERTMANAGER_RECEIVER,
  effectiveOf,
  FIELD,
  fieldIds,
  formatSeconds,
  formToPolicy,
  groupLabelsOf,
  inheritedAt,
  moveRoute,
  newAlertmanagerForm,
  newPolicyForm,
  newRouteForm,
  notificationKey,
  parseGroupBy,
  parseSeconds,
  policyToForm,
  removeRoute,
  ROOT_TIMING,
  routeAt,
  routeNumber,
  serverFieldOf,
  settingsOf,
  updateRoute,
  validatePolicy,
  type PolicyForm,
  type RouteForm,
} from './notifications';
import { matcherText } from './silences';

let t: TFunction;
let tKo: TFunction;
beforeAll(async () => {
  const i18n = i18next.createInstance();
  await i18n.init({ lng: 'en', resources: { en: { translation: en }, ko: { translation: ko } }, interpolation: { escapeValue: false } });
  t = i18n.getFixedT('en');
  tKo = i18n.getFixedT('ko');
});

const eq = (name: string, value: string) => create(LabelMatcherSchema, { name, value, operator: MatchOperator.EQUAL });

/** The policy of docs/aiops.md, with a nested route, a webhook that takes no resolved alerts, and two Alertmanagers. */
function stored(): NotificationPolicy {
  return create(NotificationPolicySchema, {
    version: 4n,
    updateTimeUnixNano: 1_770_000_000_000_000_000n,
    receivers: [
      { name: 'team', webhooks: [{ url: 'http://127.0.0.1:9095/alerts', locale: 'ko' }] },
      { name: 'pager', webhooks: [{ url: 'http://127.0.0.1:9095/page', sendResolved: false, maxAlerts: 20 }] },
      { name: 'blackhole', webhooks: [] },
    ],
    route: {
      receiver: 'team',
      groupBy: ['alertname', 'service_name'],
      groupWaitSeconds: 30,
      groupIntervalSeconds: 300,
      repeatIntervalSeconds: 14_400,
      routes: [
        {
          receiver: 'pager',
          repeatIntervalSeconds: 3600,
          matchers: [eq('severity', 'page')],
          continue: true,
          routes: [{ matchers: [create(LabelMatcherSchema, { name: 'service_name', value: 'pay.*', operator: MatchOperator.REGEX })], groupBy: ['...'] }],
        },
        { receiver: 'blackhole', matchers: [eq('severity', 'info')], groupWaitSeconds: 0 },
      ],
    },
    alertmanagers: [{ url: 'http://alertmanager:9093', locale: 'ko' }, { url: 'http://127.0.0.1:9093/' }],
  });
}

/** The form without the uids that only tell routes apart on screen. */
function plain(r: RouteForm): unknown {
  const { uid: _uid, routes, ...rest } = r;
  return { ...rest, routes: routes.map(plain) };
}

describe('durations as typed', () => {
  it('reads seconds and Alertmanager durations, zero included', () => {
    expect(parseSeconds('30')).toBe(30);
    expect(parseSeconds(' 30s ')).toBe(30);
    expect(parseSeconds('5m')).toBe(300);
    expect(parseSeconds('1h30m')).toBe(5400);
    expect(parseSeconds('4h')).toBe(14_400);
    expect(parseSeconds('1w')).toBe(604_800);
    expect(parseSeconds('0')).toBe(0);
    expect(parseSeconds('0s')).toBe(0);
    expect(parseSeconds('1s')).toBe(1);
    for (const bad of ['', 'soon', '-5', '1.5m', '5 minutes', 'm']) expect(parseSeconds(bad), bad).toBeNull();
  });
  it('writes them back the way they are read', () => {
    for (const s of [0, 1, 30, 90, 300, 5400, 14_400, 86_400, 604_800]) expect(parseSeconds(formatSeconds(s))).toBe(s);
    expect([formatSeconds(0), formatSeconds(30), formatSeconds(300), formatSeconds(5400), formatSeconds(14_400)]).toEqual(['0s', '30s', '5m', '1h30m', '4h']);
  });
  it('splits group_by on commas and spaces', () => {
    expect(parseGroupBy('alertname, service_name')).toEqual(['alertname', 'service_name']);
    expect(parseGroupBy(' alertname  service_name,')).toEqual(['alertname', 'service_name']);
    expect(parseGroupBy('...')).toEqual(['...']);
    expect(parseGroupBy('  ')).toEqual([]);
  });
});

describe('the policy form', () => {
  it('holds a stored policy as typed text, and gives the same policy back', () => {
    const p = stored();
    const form = policyToForm(p);
    expect(form.version).toBe('4');
    expect(form.receivers).toEqual([
      { name: 'team', webhooks: [{ url: 'http://127.0.0.1:9095/alerts', locale: 'ko', sendResolved: true, maxAlerts: '' }] },
      { name: 'pager', webhooks: [{ url: 'http://127.0.0.1:9095/page', locale: '', sendResolved: false, maxAlerts: '20' }] },
      { name: 'blackhole', webhooks: [] },
    ]);
    expect(plain(form.route)).toMatchObject({
      receiver: 'team',
      groupBy: 'alertname, service_name',
      matchers: [],
      wait: '30s',
      interval: '5m',
      repeat: '4h',
      routes: [
        {
          receiver: 'pager',
          groupBy: '',
          matchers: [{ name: 'severity', op: '=', value: 'page' }],
          continue: true,
          wait: '',
          interval: '',
          repeat: '1h',
          routes: [{ receiver: '', groupBy: '...', matchers: [{ name: 'service_name', op: '=~', value: 'pay.*' }] }],
        },
        { receiver: 'blackhole', wait: '0s', continue: false },
      ],
    });
    const back = formToPolicy(form);
    // What the service stores is what it sent, the time of the change aside.
    expect(equals(NotificationPolicySchema, back, { ...p, updateTimeUnixNano: 0n })).toBe(true);
    // Unset timings stay unset (inherited), a set 0 stays 0.
    expect(back.route!.routes[0]!.groupWaitSeconds).toBeUndefined();
    expect(back.route!.routes[1]!.groupWaitSeconds).toBe(0);
    expect(back.receivers[0]!.webhooks[0]!.sendResolved).toBeUndefined();
    expect(back.receivers[1]!.webhooks[0]!.sendResolved).toBe(false);
  });
  it('holds the Alertmanagers as typed, and sends them trimmed, in order, with their language', () => {
    const form = policyToForm(stored());
    expect(form.alertmanagers).toEqual([
      { url: 'http://alertmanager:9093', locale: 'ko' },
      { url: 'http://127.0.0.1:9093/', locale: '' },
    ]);
    // Changed, one removed, one added: what is sent is the list as the form has it.
    form.alertmanagers[0]!.locale = 'en';
    form.alertmanagers.splice(1, 1);
    form.alertmanagers.push({ ...newAlertmanagerForm(), url: '  http://am.example.internal:9093 ', locale: 'ko' });
    const p = formToPolicy(form);
    expect(p.alertmanagers.map((a) => [a.url, a.locale])).toEqual([
      ['http://alertmanager:9093', 'en'],
      ['http://am.example.internal:9093', 'ko'],
    ]);
    // The rest of the policy is unchanged; removing every Alertmanager sends none.
    expect(p.receivers.map((r) => r.name)).toEqual(['team', 'pager', 'blackhole']);
    form.alertmanagers = [];
    expect(formToPolicy(form).alertmanagers).toEqual([]);
    // A new one starts empty, in English; a tenant without a policy starts with none.
    expect(newAlertmanagerForm()).toEqual({ url: '', locale: '' });
    expect(newPolicyForm().alertmanagers).toEqual([]);
    expect(policyToForm(create(NotificationPolicySchema, {})).alertmanagers).toEqual([]);
  });
  it('sends back what it does not edit as it was read, fields of a newer service included', () => {
    // Field 100 of the policy, unknown to this client: 0xa2 0x06 is its tag (length-delimited), then 3 bytes.
    const extra = new Uint8Array([0xa2, 0x06, 3, 0x61, 0x62, 0x63]);
    const read = fromBinary(NotificationPolicySchema, new Uint8Array([...toBinary(NotificationPolicySchema, stored()), ...extra]));
    const form = policyToForm(read);
    form.route.routes = [];
    const sent = toBinary(NotificationPolicySchema, formToPolicy(form));
    expect([...sent.slice(sent.length - extra.length)]).toEqual([...extra]);
    expect(fromBinary(NotificationPolicySchema, sent).route?.routes).toEqual([]);
    // The form's policy is a copy: the one read is unchanged.
    expect(read.route?.routes).toHaveLength(2);
  });
  it('starts a tenant without a policy from one receiver taking every alert', () => {
    const empty = create(NotificationPolicySchema, {});
    expect(policyToForm(empty).route.receiver).toBe('');
    const form = newPolicyForm();
    expect(form.version).toBe('0');
    expect(form.receivers.map((r) => [r.name, r.webhooks.length])).toEqual([['default', 1]]);
    expect([form.route.receiver, form.route.groupBy, form.route.matchers]).toEqual(['default', 'alertname', []]);
    // The webhook's URL is what is left to fill in.
    expect(Object.keys(validatePolicy(form))).toEqual([FIELD.webhook(0, 0, 'url')]);
    form.receivers[0]!.webhooks[0]!.url = 'http://127.0.0.1:9095/hook';
    expect(validatePolicy(form)).toEqual({});
    const p = formToPolicy(form);
    expect(p.version).toBe(0n);
    expect(p.route?.groupWaitSeconds).toBeUndefined();
    expect(p.route?.groupBy).toEqual(['alertname']);
  });
  it('leaves empty matcher rows out and trims names', () => {
    const form = policyToForm(stored());
    form.receivers[0]!.name = '  team ';
    form.route.receiver = 'team';
    form.route.routes[0]!.matchers = [{ name: '', op: '=', value: '' }, { name: ' severity', op: '!=', value: 'info' }];
    const p = formToPolicy(form);
    expect(p.receivers[0]!.name).toBe('team');
    expect(p.route!.routes[0]!.matchers.map(matcherText)).toEqual(['severity!="info"']);
  });
});

describe('the route tree', () => {
  const tree = () => policyToForm(stored()).route;
  it('numbers routes from 1, the root having none', () => {
    expect(routeNumber([])).toBe('');
    expect(routeNumber([0, 2])).toBe('1.3');
  });
  it('finds, changes, adds and removes routes by path', () => {
    const root = tree();
    expect(routeAt(root, [0, 0])?.groupBy).toBe('...');
    expect(routeAt(root, [5])).toBeUndefined();
    const changed = updateRoute(root, [0, 0], (r) => ({ ...r, receiver: 'team' }));
    expect(routeAt(changed, [0, 0])?.receiver).toBe('team');
    expect(routeAt(root, [0, 0])?.receiver).toBe('');
    const added = addChildRoute(root, [1]);
    expect(routeAt(added, [1])?.routes).toHaveLength(1);
    expect(routeAt(added, [1, 0])?.matchers).toEqual([{ name: '', op: '=', value: '' }]);
    const removed = removeRoute(root, [0]);
    expect(removed.routes.map((r) => r.receiver)).toEqual(['blackhole']);
    expect(removeRoute(root, [])).toBe(root);
  });
  it('moves a route among its siblings, not past either end', () => {
    const root = addChildRoute(tree(), [], { ...newRouteForm(), receiver: 'team' });
    const order = (r: RouteForm) => r.routes.map((c) => c.receiver);
    expect(order(root)).toEqual(['pager', 'blackhole', 'team']);
    expect(order(moveRoute(root, [2], -1))).toEqual(['pager', 'team', 'blackhole']);
    expect(order(moveRoute(root, [0], 1))).toEqual(['blackhole', 'pager', 'team']);
    expect(order(moveRoute(root, [0], -1))).toEqual(['pager', 'blackhole', 'team']);
    expect(order(moveRoute(root, [2], 1))).toEqual(['pager', 'blackhole', 'team']);
    // The moved route is the same route (its uid goes with it).
    expect(moveRoute(root, [2], -1).routes[1]!.uid).toBe(root.routes[2]!.uid);
  });
});

describe('inheritance', () => {
  it('takes Alertmanager defaults at the root and the parent below it', () => {
    const bare = create(RouteSchema, { receiver: 'team' });
    const root = effectiveOf(bare, null);
    expect(root.receiver).toEqual({ value: 'team', source: 'set' });
    expect(root.groupBy).toEqual({ value: [], source: 'default' });
    expect(root.timing).toEqual({
      wait: { value: ROOT_TIMING.wait, source: 'default' },
      interval: { value: 300, source: 'default' },
      repeat: { value: 14_400, source: 'default' },
    });
    const p = stored();
    const top = effectiveOf(p.route!, null);
    const pager = effectiveOf(p.route!.routes[0]!, top);
    expect(pager.receiver).toEqual({ value: 'pager', source: 'set' });
    expect(pager.groupBy).toEqual({ value: ['alertname', 'service_name'], source: 'inherited' });
    expect(pager.timing.repeat).toEqual({ value: 3600, source: 'set' });
    expect(pager.timing.interval).toEqual({ value: 300, source: 'inherited' });
    const nested = effectiveOf(p.route!.routes[0]!.routes[0]!, pager);
    expect(nested.receiver).toEqual({ value: 'pager', source: 'inherited' });
    expect(nested.groupBy).toEqual({ value: ['...'], source: 'set' });
    expect(nested.timing.repeat).toEqual({ value: 3600, source: 'inherited' });
  });
  it('tells a route in the form what it inherits, as typed so far', () => {
    const form = policyToForm(stored());
    expect(inheritedAt(form.route, [])).toBeNull();
    form.route.interval = '2m';
    const parent = inheritedAt(form.route, [0, 0])!;
    expect(parent.receiver.value).toBe('pager');
    expect(parent.timing.interval).toEqual({ value: 120, source: 'inherited' });
    expect(parent.timing.repeat).toEqual({ value: 3600, source: 'set' });
    // What does not read yet counts as unset.
    form.route.wait = 'soon';
    expect(settingsOf(form.route).groupWaitSeconds).toBeUndefined();
    expect(inheritedAt(form.route, [0])!.timing.wait).toEqual({ value: 30, source: 'default' });
  });
});

describe('checks and refusals', () => {
  it('says what is missing or does not read, by field', () => {
    const form: PolicyForm = policyToForm(stored());
    form.receivers[1]!.name = ' ';
    form.receivers[0]!.webhooks[0]!.url = '';
    form.receivers[0]!.webhooks[0]!.maxAlerts = 'ten';
    form.route.receiver = '';
    form.route.groupBy = 'alertname, 9lives';
    form.route.routes[0]!.interval = 'soon';
    form.route.routes[0]!.routes[0]!.groupBy = '..., alertname';
    form.route.routes[1]!.matchers.push({ name: 'bad-name', op: '=', value: 'x' });
    form.alertmanagers[1]!.url = '  ';
    form.alertmanagers.push(newAlertmanagerForm());
    expect(validatePolicy(form)).toEqual({
      'receivers[1].name': { key: 'receiverName' },
      'receivers[0].webhooks[0].url': { key: 'url' },
      'receivers[0].webhooks[0].max_alerts': { key: 'maxAlerts' },
      'route.receiver': { key: 'rootReceiver' },
      'route.group_by': { key: 'groupBy', values: { name: '9lives' } },
      'route.routes[0].group_interval_seconds': { key: 'duration' },
      'route.routes[0].routes[0].group_by': { key: 'groupByEvery' },
      'route.routes[1].matchers[1].name': { key: 'matcherName', values: { n: 2 } },
      'alertmanagers[1].url': { key: 'alertmanagerUrl' },
      'alertmanagers[2].url': { key: 'alertmanagerUrl' },
    });
    for (const [field, p] of Object.entries(validatePolicy(form))) {
      expect(t(`notifications.invalid.${p.key}`, p.values ?? {}), field).not.toMatch(/notifications\.invalid/);
      expect(tKo(`notifications.invalid.${p.key}`, p.values ?? {}), field).not.toMatch(/notifications\.invalid/);
    }
    // Whether a URL is an http:// address is the service's to say, as for webhooks.
    form.alertmanagers[1]!.url = 'https://alertmanager:9093';
    form.receivers[0]!.webhooks[0]!.url = 'https://hooks.example.internal/x';
    expect(validatePolicy(form)['alertmanagers[1].url']).toBeUndefined();
    expect(validatePolicy(form)['receivers[0].webhooks[0].url']).toBeUndefined();
    // Empty matcher rows are not sent, so not checked.
    form.route.routes[1]!.matchers.push({ name: '', op: '=', value: '' });
    expect(validatePolicy(form)['route.routes[1].matchers[2].name']).toBeUndefined();
  });
  it('keeps the name the notification log gives the Alertmanagers from receivers', () => {
    const form = policyToForm(stored());
    form.receivers[2]!.name = ` ${ALERTMANAGER_RECEIVER} `;
    const p = validatePolicy(form);
    expect(p).toEqual({ 'receivers[2].name': { key: 'receiverReserved', values: { name: 'alertmanager' } } });
    expect(t('notifications.invalid.receiverReserved', p['receivers[2].name']!.values)).toContain('"alertmanager"');
    expect(tKo('notifications.invalid.receiverReserved', p['receivers[2].name']!.values)).toContain('"alertmanager"');
  });
  it("maps the service's paths to the form's fields", () => {
    const form = policyToForm(stored());
    const ids = fieldIds(form);
    expect(ids).toContain('route.routes[0].routes[0].group_wait_seconds');
    expect(ids).toContain('receivers[1].webhooks[0].url');
    expect(serverFieldOf('policy.route.routes[0].receiver: no receiver named "nobody"', form)).toBe('route.routes[0].receiver');
    expect(serverFieldOf('policy.route.group_interval_seconds: 0, expected 1 to 86400', form)).toBe('route.group_interval_seconds');
    expect(serverFieldOf('policy.receivers[1].webhooks[0].url: https is not sent directly', form)).toBe('receivers[1].webhooks[0].url');
    expect(serverFieldOf('policy.receivers[2].name: "team" is used by another receiver', form)).toBe('receivers[2].name');
    // The closest field that holds what it names.
    expect(serverFieldOf('policy.route.routes[1].group_by[1]: "x-y" is not a label name', form)).toBe('route.routes[1].group_by');
    expect(serverFieldOf('policy.route.routes[0].routes[0].matchers[0].operator: required', form)).toBe('route.routes[0].routes[0].matchers[0].operator');
    // A route the form does not have: the list that holds it.
    expect(serverFieldOf('policy.route.routes[7].receiver: no receiver named "x"', form)).toBe('route.routes');
    expect(serverFieldOf('policy.route: required', form)).toBe('route');
    // The Alertmanagers', by index, as policy.rs names them.
    expect(ids).toEqual(expect.arrayContaining(['alertmanagers', 'alertmanagers[0].url', 'alertmanagers[0].locale', 'alertmanagers[1].url', 'alertmanagers[1].locale']));
    expect(ids).not.toContain('alertmanagers[2].url');
    expect(serverFieldOf('policy.alertmanagers[0].url: "alertmanager:9093" is not an http:// URL', form)).toBe('alertmanagers[0].url');
    expect(serverFieldOf('policy.alertmanagers[1].url: https is not sent directly; give the http:// address', form)).toBe('alertmanagers[1].url');
    expect(serverFieldOf('policy.alertmanagers[1].url: "http://am:9093/?x=1" has a query; give the Alertmanager\'s base address', form)).toBe(
      'alertmanagers[1].url',
    );
    expect(serverFieldOf('policy.alertmanagers[1].locale: "jp", expected "ko" or "en"', form)).toBe('alertmanagers[1].locale');
    expect(serverFieldOf('policy.alertmanagers: 9, at most 8', form)).toBe('alertmanagers');
    // One the form no longer has: the list.
    expect(serverFieldOf('policy.alertmanagers[4].url: required', form)).toBe('alertmanagers');
    expect(FIELD.alertmanager(1, 'locale')).toBe('alertmanagers[1].locale');
    // None the form shows: the top of the form.
    expect(serverFieldOf('policy: something else', form)).toBeNull();
    expect(serverFieldOf('rule.name: required', form)).toBeNull();
  });
  it('maps a matcher the service counts among those sent to its row in the form', () => {
    const form = policyToForm(stored());
    form.route.routes[1]!.matchers = [
      { name: '', op: '=', value: '' },
      { name: 'severity', op: '=', value: 'info' },
      { name: '', op: '=', value: '' },
      { name: 'team', op: '=~', value: '(' },
    ];
    expect(serverFieldOf('policy.route.routes[1].matchers[1].value: not a regular expression', form)).toBe('route.routes[1].matchers[3].value');
    // Paths into other routes are not shifted by this route's empty rows.
    expect(serverFieldOf('policy.route.routes[0].matchers[0].value: bad', form)).toBe('route.routes[0].matchers[0].value');
  });
});

describe('the notification log', () => {
  it('keys notifications and lists group labels by name', () => {
    const n = create(NotificationSchema, {
      receiver: 'team',
      webhook: 1,
      groupKey: '{}:{alertname="slow", service_name="payment"}',
      groupLabels: { service_name: 'payment', alertname: 'slow' },
      status: AlertState.FIRING,
      timeUnixNano: 5n,
    });
    expect(notificationKey(n)).toBe('5|team|1|{}:{alertname="slow", service_name="payment"}');
    expect(groupLabelsOf(n)).toEqual([
      ['alertname', 'slow'],
      ['service_name', 'payment'],
    ]);
  });
});
