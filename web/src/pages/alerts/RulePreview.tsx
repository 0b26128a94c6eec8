// "What would this have fired": the rule being edited judged by TestRule
// over the page's time range, in the UI's language, once the form is
// complete and has not changed for a moment (and again on demand). The
// value it looked at each minute, the threshold, the minutes pending and
// firing, and the alerts it would have raised with their annotations.
import { fromJsonString, toJsonString } from '@bufbuild/protobuf';
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { isFormError } from '../../api/errors';
import { useTestRule } from '../../api/alertHooks';
import { useTimeRange } from '../../app/timeRange';
import { Chart, type ChartSeries } from '../../components/Chart';
import { ChartSkeleton, Empty, FormError, Panel, QueryState } from '../../components/states';
import { TableHead } from '../../components/TableHead';
import { AlertRuleSchema, type AlertRule, type TestRuleResponse } from '../../gen/airis/aiops/v1/alert_pb';
import { ERROR_COLOR, HEALTH_COLOR, PALETTE } from '../../lib/colors';
import { formatCount, formatRangeEnds, formatShortDateTime } from '../../lib/format';
import {
  episodesOf,
  firedCount,
  formatRuleValue,
  formToRule,
  previewOf,
  thresholdLine,
  watchesText,
  type AlertStateName,
  type Episode,
  type Problems,
  type RuleForm,
} from './rules';

/** How long the form must stay unchanged before the preview runs. */
const SETTLE_MS = 700;

const STATE_COLOR: Record<AlertStateName, string> = { pending: HEALTH_COLOR.warn, firing: ERROR_COLOR };

/** `value`, once it has not changed for `ms`. */
function useSettled<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const id = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(id);
  }, [value, ms]);
  return settled;
}

export function RulePreview({
  form,
  problems,
  metricUnit,
  onShowProblems,
}: {
  form: RuleForm;
  /** What keeps the rule from being judged (validateRule without a name); empty when it can be. */
  problems: Problems;
  metricUnit: string;
  onShowProblems: () => void;
}) {
  const { t, i18n } = useTranslation();
  const range = useTimeRange();
  const complete = Object.keys(problems).length === 0;
  const untitled = t('alerts.editor.untitled');
  const json = useMemo(() => (complete ? toJsonString(AlertRuleSchema, formToRule(form, { name: untitled })) : ''), [complete, form, untitled]);
  const settled = useSettled(json, SETTLE_MS);
  const locale = i18n.language === 'ko' ? 'ko' : 'en';
  const test = useTestRule({ rule: settled, startMs: range.startMs, endMs: range.endMs, locale }, complete);
  // The rule the answer is about, for its units and words.
  const judged = useMemo(() => (settled ? fromJsonString(AlertRuleSchema, settled) : null), [settled]);
  const [from, to] = formatRangeEnds(range.startMs, range.endMs);
  const waiting = complete && (json !== settled || test.isFetching);

  const run = () => {
    // A window ending now moves on; a fixed one is asked again.
    if (range.relative) range.reload();
    else void test.refetch();
  };

  return (
    <Panel
      id="rule-preview"
      title={t('alerts.preview.title')}
      actions={
        <>
          <span className="muted small" role="status" data-testid="preview-running">
            {waiting ? t('alerts.preview.running') : ''}
          </span>
          <button type="button" className="btn btn-small" onClick={run} disabled={!complete}>
            {t('alerts.preview.run')}
          </button>
        </>
      }
    >
      <p className="muted small preview-window">{t('alerts.preview.window', { from, to })}</p>
      {!complete ? (
        <Empty title={t('alerts.preview.incompleteTitle')} hint={t('alerts.preview.incompleteHint')}>
          <p>
            <button type="button" className="btn btn-small" onClick={onShowProblems}>
              {t('alerts.preview.showProblems')}
            </button>
          </p>
        </Empty>
      ) : test.isError && isFormError(test.error) ? (
        <FormError error={test.error} />
      ) : (
        <QueryState
          query={test}
          skeleton={<ChartSkeleton height={200} />}
          isEmpty={(d) => d.evaluations.length === 0}
          empty={<Empty title={t('alerts.preview.noMinutes')} hint={t('alerts.preview.noMinutesHint')} />}
        >
          {(d) => judged && <PreviewResult res={d} rule={judged} metricUnit={metricUnit} />}
        </QueryState>
      )}
    </Panel>
  );
}

function PreviewResult({ res, rule, metricUnit }: { res: TestRuleResponse; rule: AlertRule; metricUnit: string }) {
  const { t } = useTranslation();
  const range = useTimeRange();
  const preview = useMemo(() => previewOf(res), [res]);
  const episodes = useMemo(() => episodesOf(res), [res]);
  const fired = firedCount(episodes);
  const line = thresholdLine(rule);
  const kind = rule.condition.case ?? 'threshold';
  const format = (v: number) => formatRuleValue(rule, v, metricUnit);

  const valueLabel = kind === 'threshold' || kind === 'absence' ? watchesText(rule, t) : t(`alerts.preview.valueLabel.${kind}`);
  const series: ChartSeries[] = [{ label: valueLabel, color: PALETTE[0]! }];
  const ys: (number | null)[][] = [preview.values];
  if (line !== null) {
    series.push({ label: t(kind === 'anomaly' ? 'alerts.preview.minScoreLine' : 'alerts.preview.thresholdLine'), color: ERROR_COLOR, dash: [6, 4] });
    ys.push(preview.x.map(() => line));
  }
  const regions = {
    label: t('alerts.preview.state'),
    spans: preview.spans.map((s) => ({ start: s.start, end: s.end, color: STATE_COLOR[s.state], label: t(`alerts.state.${s.state}`) })),
  };

  return (
    <>
      {fired > 0 ? (
        <p className="preview-verdict preview-fired" data-testid="preview-verdict">
          {t('alerts.preview.wouldFire', { count: fired, n: formatCount(fired) })}
        </p>
      ) : (
        <p className="preview-verdict preview-quiet" data-testid="preview-verdict">
          {t('alerts.preview.wouldNotFire')}
          {episodes.length > 0 && <span className="muted"> {t('alerts.preview.onlyPending', { count: episodes.length, n: formatCount(episodes.length) })}</span>}
        </p>
      )}
      <Chart
        kind="line"
        height={200}
        ariaLabel={t('alerts.preview.chartLabel')}
        x={preview.x}
        ys={ys}
        series={series}
        yFormat={format}
        legend
        xRange={[range.startMs / 1000, range.endMs / 1000]}
        onBrush={range.zoom}
        regions={regions}
      />
      <p className="muted small" data-testid="preview-counts">
        {t('alerts.preview.counts', {
          minutes: formatCount(preview.minutes),
          breached: formatCount(preview.breached),
          pending: formatCount(preview.pending),
          firing: formatCount(preview.firing),
        })}
      </p>
      {episodes.length > 0 && <EpisodeTable episodes={episodes} format={format} />}
    </>
  );
}

/** The alerts the rule would have raised, oldest first, with what they would have said. */
function EpisodeTable({ episodes, format }: { episodes: readonly Episode[]; format: (v: number) => string }) {
  const { t } = useTranslation();
  return (
    <div className="table-wrap">
      <table className="data episodes">
        <caption className="sr-only">{t('alerts.preview.episodes')}</caption>
        <TableHead
          columns={[
            { label: t('alerts.preview.active') },
            { label: t('alerts.preview.fired') },
            { label: t('alerts.preview.resolved') },
            { label: t('alerts.preview.valueColumn'), numeric: true },
            { label: t('alerts.preview.annotations') },
            { label: t('alerts.list.labels') },
          ]}
        />
        <tbody>
          {episodes.map((e) => (
            <tr key={e.key} data-testid="episode-row">
              <td className="nowrap">{formatShortDateTime(e.activeMs)}</td>
              <td className="nowrap">
                {e.firedMs !== null ? (
                  <span className="badge badge-error">{formatShortDateTime(e.firedMs)}</span>
                ) : (
                  <span className="muted">{t('alerts.preview.neverFired')}</span>
                )}
              </td>
              <td className="nowrap">
                {e.resolvedMs !== null ? (
                  formatShortDateTime(e.resolvedMs)
                ) : (
                  <span className="badge badge-warn">{e.firedMs !== null ? t('alerts.preview.stillFiring') : t('alerts.preview.stillPending')}</span>
                )}
              </td>
              <td className="num">{format(e.value)}</td>
              <td>
                {e.annotations.length ? (
                  <dl className="annotation-list">
                    {e.annotations.map(([name, text]) => (
                      <div key={name}>
                        <dt className="mono">{name}</dt>
                        <dd>{text}</dd>
                      </div>
                    ))}
                  </dl>
                ) : (
                  <span className="muted">–</span>
                )}
              </td>
              <td>
                <span className="badges">
                  {e.labels.map(([k, v]) => (
                    <span key={k} className="badge mono">
                      {k}={v}
                    </span>
                  ))}
                </span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
