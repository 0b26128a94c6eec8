// The one place that turns RPC failures into what a person reads.
import { Code, ConnectError } from '@connectrpc/connect';
import type { TFunction } from 'i18next';

export type ErrorKind =
  | 'unauthenticated'
  | 'permission'
  | 'unavailable'
  | 'invalid'
  | 'limit'
  | 'notFound'
  | 'internal';

export interface UiError {
  kind: ErrorKind;
  /** Translated sentence. */
  title: string;
  /** The server's own message (names fields, limits, roles), if any. */
  detail: string;
  /** Whether retrying the same request may succeed. */
  retryable: boolean;
  /** For PERMISSION_DENIED: the role the server asked for, if it said. */
  neededRole?: string;
  code: Code;
}

export function errorKind(code: Code): ErrorKind {
  switch (code) {
    case Code.Unauthenticated:
      return 'unauthenticated';
    case Code.PermissionDenied:
      return 'permission';
    case Code.Unavailable:
    case Code.DeadlineExceeded:
    case Code.Aborted:
    case Code.Canceled:
      return 'unavailable';
    case Code.InvalidArgument:
    case Code.FailedPrecondition:
    case Code.OutOfRange:
      return 'invalid';
    case Code.ResourceExhausted:
      return 'limit';
    case Code.NotFound:
      return 'notFound';
    default:
      return 'internal';
  }
}

/**
 * "needs the admin role, the token has viewer" → "admin"; "this needs the
 * editor or admin role, …" → "editor" (the first, least of the roles that do).
 */
export function neededRoleOf(message: string): string | undefined {
  return /needs (?:the |an? )?(\w+)(?: or (?:the |an? )?\w+)* role/i.exec(message)?.[1]?.toLowerCase();
}

const retryableKind = (kind: ErrorKind) => kind === 'unavailable' || kind === 'internal';

export function describeError(err: unknown, t: TFunction): UiError {
  const ce = ConnectError.from(err);
  const kind = errorKind(ce.code);
  const detail = ce.rawMessage;
  const neededRole = kind === 'permission' ? neededRoleOf(detail) : undefined;
  let title: string;
  switch (kind) {
    case 'permission':
      title = neededRole
        ? t('errors.permissionRole', { role: t(`roles.${neededRole}`, { defaultValue: neededRole }) })
        : t('errors.permission');
      break;
    case 'unavailable':
      title = ce.code === Code.DeadlineExceeded ? t('errors.timeout') : t('errors.unavailable');
      break;
    default:
      title = t(`errors.${kind}`);
  }
  return {
    kind,
    title,
    detail,
    retryable: retryableKind(kind),
    neededRole,
    code: ce.code,
  };
}

/** Whether retrying the same request may succeed (what `describeError` says as `retryable`). */
export function isRetryable(err: unknown): boolean {
  return retryableKind(errorKind(ConnectError.from(err).code));
}

/**
 * INVALID_ARGUMENT and RESOURCE_EXHAUSTED say what to change in the request
 * (the server's message names the field or limit): shown next to the form
 * that sent it rather than in the panel.
 */
export function isFormError(err: unknown): boolean {
  const kind = errorKind(ConnectError.from(err).code);
  return kind === 'invalid' || kind === 'limit';
}

/** Query retry policy: transient failures once, never what will fail again. */
export function shouldRetry(failureCount: number, err: unknown): boolean {
  const kind = errorKind(ConnectError.from(err).code);
  return kind === 'unavailable' && failureCount < 1;
}

/**
 * How long to wait before reopening a stream after `failures` failed
 * attempts in a row: 1 s after a stream that was fine until it ended (a
 * proxy closed it); after failures 1, 2, 4 … s, at most 30 s, each shortened
 * by up to a fifth at random (`random` in [0, 1)) so that many tabs do not
 * retry in step.
 */
export function streamRetryDelay(failures: number, random: () => number = Math.random): number {
  if (failures <= 0) return 1000;
  const base = Math.min(30_000, 1000 * 2 ** (failures - 1));
  return Math.round(base * (1 - 0.2 * random()));
}

/**
 * ABORTED from a call that wrote what the caller had read (UpdateRule,
 * DeleteRule with a version): it changed meanwhile. Retrying the same
 * request cannot help; reading it again does.
 */
export function isConflict(err: unknown): boolean {
  return ConnectError.from(err).code === Code.Aborted;
}

/**
 * Forecast's INVALID_ARGUMENT for a history too short to forecast
 * ("points: 5 usable, at least 10 needed"): the remedy, a wider time
 * range, is what the person needs to read, not the field.
 */
export function isTooFewPoints(err: unknown): boolean {
  const ce = ConnectError.from(err);
  return ce.code === Code.InvalidArgument && /^points: \d+ usable, at least \d+ needed/.test(ce.rawMessage);
}

