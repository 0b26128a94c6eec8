// Loading, empty and error states shared by every panel.
import type { FetchStatus } from '@tanstack/react-query';
import { Component, type ErrorInfo, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { describeError, isConflict, isFormError } from '../api/errors';
import './states.css';

export function Skeleton({ rows = 5, height = 18 }: { rows?: number; height?: number }) {
  const { t } = useTranslation();
  return (
    <div className="skeleton" role="status" aria-live="polite" aria-label={t('common.loading')}>
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} className="skeleton-line" style={{ height, width: `${90 - ((i * 17) % 35)}%` }} />
      ))}
    </div>
  );
}

export function ChartSkeleton({ height = 180 }: { height?: number }) {
  const { t } = useTranslation();
  return <div className="skeleton-chart" style={{ height }} role="status" aria-label={t('common.loading')} />;
}

export function Empty({ title, hint, children }: { title: string; hint?: string; children?: ReactNode }) {
  return (
    <div className="empty" role="status">
      <div className="empty-title">{title}</div>
      {hint && <div className="empty-hint">{hint}</div>}
      {children}
    </div>
  );
}

/** An RPC failure in words, with Retry when retrying may help. */
export function ErrorPanel({ error, onRetry, compact }: { error: unknown; onRetry?: () => void; compact?: boolean }) {
  const { t } = useTranslation();
  const e = describeError(error, t);
  return (
    <div className={`error-panel ${compact ? 'compact' : ''}`} role="alert">
      <div className="error-title">{e.title}</div>
      {e.detail && e.detail !== e.title && (
        <div className="error-detail">
          <span className="error-detail-label">{t('errors.serverSaid')}</span> <code>{e.detail}</code>
        </div>
      )}
      {onRetry && e.kind !== 'permission' && e.kind !== 'invalid' && (
        <button type="button" className="btn" onClick={onRetry}>
          {t('common.retry')}
        </button>
      )}
    </div>
  );
}

/** What QueryState reads of a React Query result (plain or infinite). */
export interface QueryLike<T> {
  isPending: boolean;
  isError: boolean;
  error: unknown;
  data: T | undefined;
  fetchStatus: FetchStatus;
  refetch: () => unknown;
}

/**
 * The one way a panel shows a query: the skeleton while the first answer
 * is on its way (nothing when the query is not enabled), the error with
 * Retry, `empty` when `isEmpty` says the answer holds nothing, else the
 * answer. `hideError` when the error is shown elsewhere: next to the form
 * that caused it, or once for several panels.
 */
export function QueryState<T>({
  query,
  skeleton,
  isEmpty,
  empty,
  compact,
  hideError,
  children,
}: {
  query: QueryLike<T>;
  skeleton?: ReactNode;
  isEmpty?: (data: T) => boolean;
  empty?: ReactNode;
  compact?: boolean;
  hideError?: boolean;
  children: (data: T) => ReactNode;
}) {
  if (query.isPending) return query.fetchStatus === 'idle' ? null : (skeleton ?? <Skeleton />);
  if (query.isError) {
    return hideError ? null : <ErrorPanel error={query.error} onRetry={() => void query.refetch()} compact={compact} />;
  }
  // Neither pending nor failed: the query has its answer.
  const data = query.data as T;
  if (isEmpty?.(data)) return <>{empty}</>;
  return <>{children(data)}</>;
}

/** Inline form error (INVALID_ARGUMENT / RESOURCE_EXHAUSTED name the field). */
export function FormError({ error }: { error: unknown }) {
  const { t } = useTranslation();
  if (!error) return null;
  const e = describeError(error, t);
  return (
    <p className="form-error" role="alert">
      {e.title}
      {e.detail ? `: ${e.detail}` : ''}
    </p>
  );
}

/** What an editor says when what it saved changed meanwhile (ABORTED), and how to read it again. */
export interface ConflictText {
  title: string;
  hint: string;
  reload: string;
  onReload?: () => void;
}

/**
 * A failed save: changed meanwhile (ABORTED, with `conflict`: say so and
 * offer to reload), a refused field under the form (FormError), anything
 * else as a panel's error.
 */
export function SaveError({ error, conflict }: { error: unknown; conflict?: ConflictText }) {
  if (conflict && isConflict(error)) {
    return (
      <div className="error-panel compact" role="alert">
        <div className="error-title">{conflict.title}</div>
        <div className="error-detail">{conflict.hint}</div>
        {conflict.onReload && (
          <button type="button" className="btn" onClick={conflict.onReload}>
            {conflict.reload}
          </button>
        )}
      </div>
    );
  }
  if (isFormError(error)) return <FormError error={error} />;
  return <ErrorPanel error={error} compact />;
}

/** Says, before anything is refused, that changing what the page shows needs the editor role; `detail` says what the person can still do. */
export function RoleNote({ detail }: { detail: string }) {
  const { t } = useTranslation();
  return (
    <div className="error-panel compact" role="note">
      <div className="error-title">{t('errors.permissionRole', { role: t('roles.editor') })}</div>
      <div className="error-detail">{detail}</div>
    </div>
  );
}

interface BoundaryProps {
  children: ReactNode;
  fallback: (error: unknown, reset: () => void) => ReactNode;
  resetKey?: unknown;
}
interface BoundaryState {
  error: unknown;
  key: unknown;
}

/** Keeps a failing panel from blanking the page. */
export class ErrorBoundary extends Component<BoundaryProps, BoundaryState> {
  state: BoundaryState = { error: null, key: undefined };
  static getDerivedStateFromError(error: unknown): Partial<BoundaryState> {
    return { error };
  }
  static getDerivedStateFromProps(props: BoundaryProps, state: BoundaryState): Partial<BoundaryState> | null {
    if (props.resetKey !== state.key) return { key: props.resetKey, error: null };
    return null;
  }
  componentDidCatch(error: unknown, info: ErrorInfo): void {
    console.error('panel failed', error, info.componentStack);
  }
  render() {
    if (this.state.error) return this.props.fallback(this.state.error, () => this.setState({ error: null }));
    return this.props.children;
  }
}

/** A titled section with its own error boundary. */
export function Panel({
  title,
  actions,
  children,
  className,
  id,
}: {
  title?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
  id?: string;
}) {
  const headingId = id ? `${id}-title` : undefined;
  return (
    <section className={`panel ${className ?? ''}`} aria-labelledby={headingId}>
      {(title || actions) && (
        <header className="panel-header">
          {title && (
            <h2 className="panel-title" id={headingId}>
              {title}
            </h2>
          )}
          {actions && <div className="panel-actions">{actions}</div>}
        </header>
      )}
      <div className="panel-body">
        <ErrorBoundary fallback={(err, reset) => <CrashPanel error={err} onReset={reset} />}>{children}</ErrorBoundary>
      </div>
    </section>
  );
}

function CrashPanel({ error, onReset }: { error: unknown; onReset: () => void }) {
  const { t } = useTranslation();
  return (
    <div className="error-panel" role="alert">
      <div className="error-title">{t('errors.crash')}</div>
      <div className="error-detail">
        <code>{error instanceof Error ? error.message : String(error)}</code>
      </div>
      <button type="button" className="btn" onClick={onReset}>
        {t('common.retry')}
      </button>
    </div>
  );
}
