// One log record: time, severity, service, body with highlighted matches;
// expands to its attributes; links to its trace.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { severityOf } from '../api/filters';
import { useLinkTo } from '../app/urlState';
import type { LogRecord, SearchLogsResponse } from '../gen/airis/analytics/v1/query_pb';
import { colorFor } from '../lib/colors';
import { formatTimeMs } from '../lib/format';
import { nanosToMs } from '../lib/time';
import { highlightSegments } from '../lib/utf8';
import { Icon } from './Icon';
import { Empty, QueryState, Skeleton, type QueryLike } from './states';
import './LogRow.css';

export function LogBody({ record }: { record: LogRecord }) {
  const segs = highlightSegments(record.body, record.highlights);
  return (
    <>
      {segs.map((s, i) =>
        s.match ? (
          <mark key={i} data-testid="log-highlight">
            {s.text}
          </mark>
        ) : (
          <span key={i}>{s.text}</span>
        ),
      )}
    </>
  );
}

export function LogRow({ record, showTraceLink = true }: { record: LogRecord; showTraceLink?: boolean }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const linkTo = useLinkTo();
  const sev = severityOf(record.severityNumber, record.severityText);
  const attrs = Object.entries(record.attributes);
  const res = Object.entries(record.resourceAttributes);
  return (
    <li className={`log-row sev-${sev}`} data-testid="log-row">
      <div className="log-line">
        <button
          type="button"
          className="log-toggle"
          aria-expanded={open}
          aria-label={open ? t('logs.collapse') : t('logs.expand')}
          onClick={() => setOpen((o) => !o)}
        >
          <Icon name={open ? 'chevronDown' : 'chevronRight'} size={14} />
        </button>
        <time className="log-time mono" dateTime={new Date(nanosToMs(record.timeUnixNano)).toISOString()}>
          {formatTimeMs(nanosToMs(record.timeUnixNano))}
        </time>
        <span className={`sev-badge sev-${sev}`}>{record.severityText || t(`severity.${sev}`)}</span>
        <span className="log-service" title={record.serviceName}>
          <span className="svc-dot" style={{ background: colorFor(record.serviceName) }} aria-hidden="true" />
          {record.serviceName}
        </span>
        <span className="log-body">
          <LogBody record={record} />
        </span>
        {showTraceLink && record.traceId && (
          <Link className="log-trace" to={linkTo(`/traces/${record.traceId}`, record.spanId ? { span: record.spanId } : {})}>
            {t('logs.jumpToTrace')}
          </Link>
        )}
      </div>
      {open && (
        <div className="log-details">
          <dl className="kv">
            {record.traceId && (
              <>
                <dt>trace_id</dt>
                <dd>{record.traceId}</dd>
              </>
            )}
            {record.spanId && (
              <>
                <dt>span_id</dt>
                <dd>{record.spanId}</dd>
              </>
            )}
            <dt>severity_number</dt>
            <dd>{record.severityNumber}</dd>
            {record.scopeName && (
              <>
                <dt>{t('span.scope')}</dt>
                <dd>{record.scopeName}</dd>
              </>
            )}
            {attrs.map(([k, v]) => (
              <FragmentKV key={'a' + k} k={k} v={v} />
            ))}
            {res.map(([k, v]) => (
              <FragmentKV key={'r' + k} k={`resource.${k}`} v={v} />
            ))}
          </dl>
        </div>
      )}
    </li>
  );
}

function FragmentKV({ k, v }: { k: string; v: string }) {
  return (
    <>
      <dt>{k}</dt>
      <dd>{v}</dd>
    </>
  );
}

export function LogList({ records, showTraceLink }: { records: readonly LogRecord[]; showTraceLink?: boolean }) {
  return (
    <ul className="log-list">
      {records.map((r, i) => (
        <LogRow key={`${r.timeUnixNano}-${i}`} record={r} showTraceLink={showTraceLink} />
      ))}
    </ul>
  );
}

/** A log search's records, or why there are none (see QueryState). */
export function LogResults({
  query,
  rows,
  compact,
  hideError,
}: {
  query: QueryLike<SearchLogsResponse>;
  /** Skeleton lines while loading. */
  rows: number;
  compact?: boolean;
  hideError?: boolean;
}) {
  const { t } = useTranslation();
  return (
    <QueryState
      query={query}
      skeleton={<Skeleton rows={rows} />}
      compact={compact}
      hideError={hideError}
      isEmpty={(d) => d.records.length === 0}
      empty={<Empty title={t('logs.emptyTitle')} hint={t('logs.emptyHint')} />}
    >
      {(d) => <LogList records={d.records} />}
    </QueryState>
  );
}
