import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { useLinkTo } from '../../app/urlState';
import { CopyButton } from '../../components/CopyButton';
import { SpanKind, StatusCode, type Span } from '../../gen/airis/analytics/v1/query_pb';
import { colorFor } from '../../lib/colors';
import { formatDateTime, formatDurationNanos } from '../../lib/format';
import { nanosToMs } from '../../lib/time';

const KIND: Record<number, string> = {
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};
const STATUS: Record<number, string> = {
  [StatusCode.UNSET]: 'unset',
  [StatusCode.OK]: 'ok',
  [StatusCode.ERROR]: 'error',
};

const EXCEPTION_KEYS = ['exception.type', 'exception.message', 'exception.stacktrace'];

function KV({ entries, hideEmpty }: { entries: [string, string][]; hideEmpty?: boolean }) {
  if (entries.length === 0) return hideEmpty ? null : <p className="muted small">–</p>;
  return (
    <dl className="kv">
      {entries
        .sort((a, b) => a[0].localeCompare(b[0]))
        .map(([k, v]) => (
          <div key={k} style={{ display: 'contents' }}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
    </dl>
  );
}

export function SpanDetail({ span, onCritical, traceStartNano }: { span: Span; onCritical: boolean; traceStartNano: bigint }) {
  const { t } = useTranslation();
  const linkTo = useLinkTo();
  const traceStartMs = nanosToMs(span.startTimeUnixNano);
  const exceptions = span.events.filter((e) => e.name === 'exception');
  const otherEvents = span.events.filter((e) => e.name !== 'exception');
  const status = STATUS[span.statusCode] ?? 'unset';
  return (
    <div className="span-detail">
      <h3 className="span-title">
        <span className="svc-dot" style={{ background: colorFor(span.serviceName) }} aria-hidden="true" />
        {span.serviceName}: {span.name}
      </h3>
      <div className="row small">
        <span className={`badge ${status === 'error' ? 'badge-error' : status === 'ok' ? 'badge-ok' : ''}`}>{t(`status.${status}`)}</span>
        <span className="badge">{t(`kind.${KIND[span.kind] ?? 'unspecified'}`)}</span>
        {onCritical && <span className="badge badge-warn">{t('trace.onCriticalPath')}</span>}
      </div>
      {span.statusMessage && <p className="text-error small">{span.statusMessage}</p>}
      <dl className="kv">
        <dt>{t('traces.duration')}</dt>
        <dd>{formatDurationNanos(span.durationNano)}</dd>
        <dt>{t('traces.start')}</dt>
        <dd>{formatDateTime(traceStartMs)}</dd>
        <dt>{t('span.offset')}</dt>
        <dd>+{formatDurationNanos(span.startTimeUnixNano - traceStartNano)}</dd>
        <dt>span_id</dt>
        <dd>{span.spanId}</dd>
        <dt>parent_span_id</dt>
        <dd>{span.parentSpanId || '–'}</dd>
      </dl>
      <div className="row">
        <CopyButton className="btn-small" text={span.spanId} label={t('trace.copySpanId')} />
      </div>

      {exceptions.length > 0 && (
        <section className="exceptions" aria-label={t('span.exceptions')}>
          <h4>{t('span.exceptions')}</h4>
          {exceptions.map((e, i) => (
            <div key={i} className="exception">
              <div className="exception-type">{e.attributes['exception.type'] ?? 'exception'}</div>
              {e.attributes['exception.message'] && <div className="exception-msg">{e.attributes['exception.message']}</div>}
              {e.attributes['exception.stacktrace'] && <pre className="exception-stack">{e.attributes['exception.stacktrace']}</pre>}
              <KV entries={Object.entries(e.attributes).filter(([k]) => !EXCEPTION_KEYS.includes(k))} hideEmpty />
            </div>
          ))}
        </section>
      )}

      <h4>{t('span.attributes')}</h4>
      <KV entries={Object.entries(span.attributes)} />
      <h4>{t('span.resource')}</h4>
      <KV entries={Object.entries(span.resourceAttributes)} />

      {otherEvents.length > 0 && (
        <>
          <h4>{t('span.events')}</h4>
          <ul className="events">
            {otherEvents.map((e, i) => (
              <li key={i}>
                <span className="mono">
                  +{formatDurationNanos(e.timeUnixNano - span.startTimeUnixNano)}
                </span>{' '}
                <strong>{e.name}</strong>
                <KV entries={Object.entries(e.attributes)} />
              </li>
            ))}
          </ul>
        </>
      )}

      {span.links.length > 0 && (
        <>
          <h4>{t('span.links')}</h4>
          <ul className="events">
            {span.links.map((l, i) => (
              <li key={i}>
                <Link to={linkTo(`/traces/${l.traceId}`, { span: l.spanId })} className="mono">
                  {l.traceId}
                </Link>
                <span className="muted mono"> / {l.spanId}</span>
                <KV entries={Object.entries(l.attributes)} />
              </li>
            ))}
          </ul>
        </>
      )}

      <h4>{t('span.scope')}</h4>
      <p className="mono small">
        {span.scopeName || '–'} {span.scopeVersion}
      </p>
    </div>
  );
}
