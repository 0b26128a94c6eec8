// One trace: waterfall with critical path, span details and the trace's logs.
import { useCallback, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router';
import { useSearchLogs, useTrace } from '../../api/hooks';
import { useUrlState } from '../../app/urlState';
import { CopyButton } from '../../components/CopyButton';
import { LogList } from '../../components/LogRow';
import { Empty, ErrorPanel, Panel, Skeleton } from '../../components/states';
import { StatusCode } from '../../gen/airis/analytics/v1/query_pb';
import { colorFor } from '../../lib/colors';
import { formatCount, formatDateTime, formatDurationNanos } from '../../lib/format';
import { nanosToMs } from '../../lib/time';
import { buildTree, criticalPath, expandAncestors, flattenRows, indexNodes, traceBounds } from '../../lib/waterfall';
import { SpanDetail } from './SpanDetail';
import { Waterfall } from './Waterfall';
import './trace.css';

export default function TracePage() {
  const { t } = useTranslation();
  const { traceId = '' } = useParams();
  const trace = useTrace(traceId);
  const [params, update] = useUrlState();
  const selectedId = params.get('span') ?? '';
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(() => new Set());
  const [showCritical, setShowCritical] = useState(true);
  const [find, setFind] = useState('');

  const spans = useMemo(() => trace.data?.spans ?? [], [trace.data]);
  const roots = useMemo(() => buildTree(spans), [spans]);
  const nodes = useMemo(() => indexNodes(roots), [roots]);
  // A selected span (from a link) inside collapsed subtrees gets its row
  // shown: ancestors expanded when the selection or the trace changes, so
  // the user can still collapse them afterwards. Adjusted while rendering,
  // not in an effect, so no frame lacks the row.
  const [revealed, setRevealed] = useState({ selectedId, nodes });
  if (revealed.selectedId !== selectedId || revealed.nodes !== nodes) {
    setRevealed({ selectedId, nodes });
    setCollapsed((prev) => expandAncestors(prev, nodes.get(selectedId)));
  }
  const rows = useMemo(() => flattenRows(roots, collapsed), [roots, collapsed]);
  const bounds = useMemo(() => traceBounds(spans), [spans]);
  const critical = useMemo(() => new Set(criticalPath(roots)), [roots]);
  const services = useMemo(() => [...new Set(spans.map((s) => s.serviceName))].sort(), [spans]);
  const errors = useMemo(() => spans.filter((s) => s.statusCode === StatusCode.ERROR).length, [spans]);
  const selected = nodes.get(selectedId)?.span;
  const root = roots[0]?.span;
  // Spans whose service, name, id or attribute values contain the text.
  const matches = useMemo(() => {
    const q = find.trim().toLowerCase();
    if (!q) return null;
    const out = new Set<string>();
    for (const s of spans) {
      if (
        s.name.toLowerCase().includes(q) ||
        s.serviceName.toLowerCase().includes(q) ||
        s.spanId.startsWith(q) ||
        Object.values(s.attributes).some((v) => v.toLowerCase().includes(q))
      ) {
        out.add(s.spanId);
      }
    }
    return out;
  }, [spans, find]);

  const toggle = useCallback((id: string) => {
    setCollapsed((prev) => {
      const next = new Set(prev);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  }, []);
  const select = useCallback((spanId: string) => update({ span: spanId }, { replace: true }), [update]);

  const startMs = nanosToMs(bounds.startNano);
  const endMs = nanosToMs(bounds.endNano);
  const logs = useSearchLogs(
    { startMs: Math.floor(startMs) - 60_000, endMs: Math.ceil(endMs) + 60_000, traceId, pageSize: 200 },
    spans.length > 0,
  );

  if (trace.isPending) {
    return (
      <div className="page">
        <Skeleton rows={12} />
      </div>
    );
  }
  if (trace.isError) {
    return (
      <div className="page">
        <h1>{t('trace.title')}</h1>
        <ErrorPanel error={trace.error} onRetry={() => void trace.refetch()} />
      </div>
    );
  }

  return (
    <div className="page trace-page">
      <div className="page-header">
        <div>
          <h1>
            {root ? (
              <>
                <span className="svc-dot" style={{ background: colorFor(root.serviceName) }} aria-hidden="true" />
                {root.serviceName}: {root.name}
              </>
            ) : (
              t('trace.title')
            )}
          </h1>
          <div className="page-sub trace-meta">
            <span className="mono">{traceId}</span>
            <span>{formatDateTime(startMs)}</span>
            <span>
              {t('traces.duration')}: <strong>{formatDurationNanos(bounds.endNano - bounds.startNano)}</strong>
            </span>
            <span>
              {t('traces.spans')}: <strong>{formatCount(spans.length)}</strong>
            </span>
            <span>
              {t('traces.errors')}: <strong className={errors ? 'text-error' : undefined}>{formatCount(errors)}</strong>
            </span>
            <span>
              {t('traces.services')}: <strong>{services.length}</strong>
            </span>
          </div>
        </div>
        <div className="row">
          <label className="row check">
            <input type="checkbox" checked={showCritical} onChange={(e) => setShowCritical(e.target.checked)} />
            {t('trace.criticalPath')}
          </label>
          <button type="button" className="btn" onClick={() => setCollapsed(new Set())}>
            {t('trace.expandAll')}
          </button>
          <CopyButton text={traceId} label={t('trace.copyId')} />
          <CopyButton text={typeof window !== 'undefined' ? window.location.href : ''} label={t('trace.copyLink')} />
        </div>
      </div>
      <div className="svc-legend" role="group" aria-label={t('traces.services')}>
        {services.map((s) => (
          <span key={s} className="badge">
            <span className="svc-dot" style={{ background: colorFor(s) }} aria-hidden="true" />
            {s}
          </span>
        ))}
      </div>
      <div className={`trace-layout ${selected ? 'with-detail' : ''}`}>
        <Panel
          title={t('trace.waterfall')}
          actions={
            <div className="row">
              <label htmlFor="trace-find" className="sr-only">
                {t('trace.find')}
              </label>
              <input id="trace-find" type="search" placeholder={t('trace.find')} value={find} onChange={(e) => setFind(e.target.value)} />
              {matches && (
                <span className="muted small" aria-live="polite">
                  {t('trace.matches', { count: matches.size, n: formatCount(matches.size) })}
                </span>
              )}
            </div>
          }
        >
          {selectedId && !selected && spans.length > 0 && (
            <p className="wf-notice small" role="status">
              <span>{t('trace.spanNotFound', { id: selectedId })}</span>
              <button type="button" className="btn btn-small" onClick={() => update({ span: null }, { replace: true })}>
                {t('common.close')}
              </button>
            </p>
          )}
          {spans.length === 0 ? (
            <Empty title={t('trace.empty')} />
          ) : (
            <Waterfall
              rows={rows}
              bounds={bounds}
              critical={showCritical ? critical : null}
              matches={matches}
              selectedId={selectedId}
              onSelect={select}
              onToggle={toggle}
            />
          )}
        </Panel>
        {selected && (
          <Panel
            title={t('trace.spanDetail')}
            actions={
              <button type="button" className="btn btn-small" onClick={() => update({ span: null }, { replace: true })}>
                {t('common.close')}
              </button>
            }
          >
            <SpanDetail span={selected} onCritical={critical.has(selected.spanId)} traceStartNano={bounds.startNano} />
          </Panel>
        )}
      </div>
      <Panel title={t('trace.logs')}>
        {logs.isPending ? (
          <Skeleton rows={3} />
        ) : logs.isError ? (
          <ErrorPanel error={logs.error} onRetry={() => void logs.refetch()} compact />
        ) : (logs.data?.records.length ?? 0) === 0 ? (
          <Empty title={t('trace.noLogs')} hint={t('trace.noLogsHint')} />
        ) : (
          <LogList records={logs.data!.records} showTraceLink={false} />
        )}
      </Panel>
    </div>
  );
}
