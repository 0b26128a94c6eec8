// The service map: caller → callee edges coloured by error rate.
import '@xyflow/react/dist/style.css';
import {
  Background,
  Controls,
  Handle,
  MarkerType,
  Position,
  ReactFlow,
  type Edge,
  type Node,
  type NodeProps,
} from '@xyflow/react';
import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router';
import { useServiceMap } from '../../api/hooks';
import { useTheme } from '../../app/theme';
import { useTimeRange } from '../../app/timeRange';
import { useLinkTo, useUrlState } from '../../app/urlState';
import { Empty, ErrorPanel, Panel, Skeleton } from '../../components/states';
import type { ServiceEdge } from '../../gen/airis/analytics/v1/query_pb';
import { colorFor, HEALTH_COLOR, healthOf, healthTextClass } from '../../lib/colors';
import { formatCount, formatDurationNanos, formatPercent, formatRate } from '../../lib/format';
import { widenedToMinutesSeconds } from '../../lib/time';
import { layoutGraph, NODE_H, NODE_W } from './layout';
import './map.css';

type SvcData = { name: string; spans: string; errors: string; healthClass: string };

function ServiceNodeView({ data }: NodeProps<Node<SvcData>>) {
  return (
    <div className="svc-node" style={{ width: NODE_W, height: NODE_H, borderColor: colorFor(data.name) }}>
      <Handle type="target" position={Position.Left} />
      <div className="svc-node-name">{data.name}</div>
      <div className="svc-node-stats">
        {data.spans} · <span className={data.healthClass}>{data.errors}</span>
      </div>
      <Handle type="source" position={Position.Right} />
    </div>
  );
}
const nodeTypes = { service: ServiceNodeView };

export function edgeId(e: { caller: string; callee: string }): string {
  return `${e.caller}→${e.callee}`;
}

export default function MapPage() {
  const { t } = useTranslation();
  const range = useTimeRange();
  const theme = useTheme();
  const map = useServiceMap(range);
  const [params, update] = useUrlState();
  const navigate = useNavigate();
  const linkTo = useLinkTo();
  const selectedEdge = params.get('edge') ?? '';
  // Edge counts cover the range widened to whole minutes.
  const seconds = widenedToMinutesSeconds(range.startMs, range.endMs);

  const { nodes, edges } = useMemo(() => {
    const data = map.data;
    if (!data) return { nodes: [] as Node<SvcData>[], edges: [] as Edge[] };
    const names = new Set(data.nodes.map((n) => n.serviceName));
    for (const e of data.edges) {
      names.add(e.caller);
      names.add(e.callee);
    }
    const pos = layoutGraph(
      [...names],
      data.edges.map((e) => ({ source: e.caller, target: e.callee })),
    );
    const nodes: Node<SvcData>[] = [...names].map((name) => {
      const n = data.nodes.find((x) => x.serviceName === name);
      const errRate = n && n.spanCount > 0n ? Number(n.errorCount) / Number(n.spanCount) : 0;
      return {
        id: name,
        type: 'service',
        position: pos.get(name) ?? { x: 0, y: 0 },
        data: {
          name,
          spans: t('map.spans', { count: Number(n?.spanCount ?? 0n), n: formatCount(n?.spanCount ?? 0n) }),
          errors: t('map.errors', { count: Number(n?.errorCount ?? 0n), n: formatCount(n?.errorCount ?? 0n) }),
          healthClass: healthTextClass(errRate),
        },
        ariaLabel: t('map.nodeLabel', { name }),
      };
    });
    const edges: Edge[] = data.edges.map((e) => {
      const color = HEALTH_COLOR[healthOf(e.errorRate)];
      const id = edgeId(e);
      return {
        id,
        source: e.caller,
        target: e.callee,
        label: `${formatCount(e.requestCount)} · ${formatRate(Number(e.requestCount) / seconds)}`,
        style: { stroke: color, strokeWidth: id === selectedEdge ? 3.5 : 2 },
        labelStyle: { fill: 'var(--text)', fontSize: 11 },
        labelBgStyle: { fill: 'var(--surface-raised)' },
        markerEnd: { type: MarkerType.ArrowClosed, color },
        ariaLabel: t('map.edgeLabel', { caller: e.caller, callee: e.callee }),
        focusable: true,
      };
    });
    return { nodes, edges };
  }, [map.data, selectedEdge, seconds, t]);

  const edge: ServiceEdge | undefined = map.data?.edges.find((e) => edgeId(e) === selectedEdge);

  return (
    <div className="page">
      <div className="page-header">
        <div>
          <h1>{t('map.title')}</h1>
          <div className="page-sub">{t('map.subtitle')}</div>
        </div>
        <div className="map-legend" aria-label={t('map.legend')}>
          <span>
            <span className="legend-line" style={{ background: HEALTH_COLOR.ok }} /> {'< 1%'}
          </span>
          <span>
            <span className="legend-line" style={{ background: HEALTH_COLOR.warn }} /> {'< 5%'}
          </span>
          <span>
            <span className="legend-line" style={{ background: HEALTH_COLOR.bad }} /> {'≥ 5%'}
          </span>
        </div>
      </div>
      <div className={`map-layout ${edge ? 'with-detail' : ''}`}>
        <Panel>
          {map.isPending ? (
            <Skeleton rows={10} />
          ) : map.isError ? (
            <ErrorPanel error={map.error} onRetry={() => void map.refetch()} />
          ) : nodes.length === 0 ? (
            <Empty title={t('map.emptyTitle')} hint={t('map.emptyHint')} />
          ) : (
            <div className="map-canvas">
              <ReactFlow
                nodes={nodes}
                edges={edges}
                nodeTypes={nodeTypes}
                colorMode={theme}
                fitView
                nodesDraggable={false}
                nodesConnectable={false}
                onNodeClick={(_, n) => navigate(linkTo(`/services/${encodeURIComponent(n.id)}`))}
                onEdgeClick={(_, e) => update({ edge: e.id }, { replace: true })}
                onEdgeMouseEnter={(_, e) => update({ edge: e.id }, { replace: true })}
                proOptions={{ hideAttribution: true }}
                minZoom={0.2}
              >
                <Background gap={24} />
                <Controls showInteractive={false} />
              </ReactFlow>
            </div>
          )}
        </Panel>
        {edge && (
          <Panel
            title={`${edge.caller} → ${edge.callee}`}
            actions={
              <button type="button" className="btn btn-small" onClick={() => update({ edge: null }, { replace: true })}>
                {t('common.close')}
              </button>
            }
          >
            <dl className="kv">
              <dt>{t('red.requests')}</dt>
              <dd>{formatCount(edge.requestCount)}</dd>
              <dt>{t('red.rate')}</dt>
              <dd>{formatRate(Number(edge.requestCount) / seconds)}</dd>
              <dt>{t('map.errorsLabel')}</dt>
              <dd>{formatCount(edge.errorCount)}</dd>
              <dt>{t('red.errorRate')}</dt>
              <dd className={healthTextClass(edge.errorRate)}>{formatPercent(edge.errorRate)}</dd>
              <dt>p50</dt>
              <dd>{formatDurationNanos(edge.latency?.p50Nano ?? 0n)}</dd>
              <dt>p95</dt>
              <dd>{formatDurationNanos(edge.latency?.p95Nano ?? 0n)}</dd>
              <dt>p99</dt>
              <dd>{formatDurationNanos(edge.latency?.p99Nano ?? 0n)}</dd>
            </dl>
            <p className="muted small">{t('map.latencyNote')}</p>
            <div className="row">
              <Link className="btn btn-primary" to={linkTo('/traces', { service: edge.callee, caller: edge.caller })}>
                {t('map.viewEdgeTraces')}
              </Link>
            </div>
          </Panel>
        )}
      </div>
      <Panel title={t('map.edges')}>
        {map.data && map.data.edges.length > 0 ? (
          <div className="table-wrap">
            <table className="data">
              <thead>
                <tr>
                  <th scope="col">{t('map.caller')}</th>
                  <th scope="col">{t('map.callee')}</th>
                  <th scope="col" className="num">{t('red.requests')}</th>
                  <th scope="col" className="num">{t('red.errorRate')}</th>
                  <th scope="col" className="num">p95</th>
                  <th scope="col">{t('common.details')}</th>
                </tr>
              </thead>
              <tbody>
                {map.data.edges.map((e) => (
                  <tr key={edgeId(e)}>
                    <td>
                      <Link to={linkTo(`/services/${encodeURIComponent(e.caller)}`)}>{e.caller}</Link>
                    </td>
                    <td>
                      <Link to={linkTo(`/services/${encodeURIComponent(e.callee)}`)}>{e.callee}</Link>
                    </td>
                    <td className="num">{formatCount(e.requestCount)}</td>
                    <td className={`num ${healthTextClass(e.errorRate)}`}>
                      {formatPercent(e.errorRate)}
                    </td>
                    <td className="num">{formatDurationNanos(e.latency?.p95Nano ?? 0n)}</td>
                    <td>
                      <button type="button" className="btn btn-small" onClick={() => update({ edge: edgeId(e) }, { replace: true })}>
                        {t('common.details')}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <span className="muted">–</span>
        )}
      </Panel>
    </div>
  );
}
