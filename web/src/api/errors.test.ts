import { Code, ConnectError } from '@connectrpc/connect';
import { describe, expect, it } from 'vitest';
import type { TFunction } from 'i18next';
import { describeError, errorKind, isConflict, isFormError, isRetryable, isTooFewPoints, neededRoleOf, shouldRetry, streamRetryDelay } from './errors';

const t = ((key: string, opts?: Record<string, string>) => (opts?.role ? `${key}:${opts.role}` : key)) as unknown as TFunction;

describe('errors', () => {
  it('maps codes to kinds', () => {
    expect(errorKind(Code.Unauthenticated)).toBe('unauthenticated');
    expect(errorKind(Code.DeadlineExceeded)).toBe('unavailable');
    expect(errorKind(Code.ResourceExhausted)).toBe('limit');
  });
  it('extracts the needed role', () => {
    expect(neededRoleOf('needs the admin role, the token has viewer')).toBe('admin');
    expect(neededRoleOf('this needs the editor or admin role, the token has viewer')).toBe('editor');
    expect(neededRoleOf('sending telemetry needs an ingest token or the editor role, the token has viewer')).toBeUndefined();
    expect(neededRoleOf('nope')).toBeUndefined();
  });
  it('keeps the server message', () => {
    const e = describeError(new ConnectError('time_range: start_unix_nano must be before end_unix_nano', Code.InvalidArgument), t);
    expect(e.kind).toBe('invalid');
    expect(e.detail).toContain('time_range');
    expect(e.retryable).toBe(false);
    const p = describeError(new ConnectError('needs the admin role, the token has viewer', Code.PermissionDenied), t);
    expect(p.neededRole).toBe('admin');
  });
  it('sends request errors to the form', () => {
    expect(isFormError(new ConnectError('x', Code.InvalidArgument))).toBe(true);
    expect(isFormError(new ConnectError('x', Code.ResourceExhausted))).toBe(true);
    expect(isFormError(new ConnectError('x', Code.Unavailable))).toBe(false);
  });
  it('recognises a write that lost a race', () => {
    expect(isConflict(new ConnectError('version: 3 is not the current version 4; read the rule again', Code.Aborted))).toBe(true);
    expect(isConflict(new ConnectError('x', Code.Unavailable))).toBe(false);
  });
  it("recognises Forecast's too-short history", () => {
    const msg = 'points: 5 usable, at least 10 needed (points in the same second count once)';
    expect(isTooFewPoints(new ConnectError(msg, Code.InvalidArgument))).toBe(true);
    expect(isTooFewPoints(new ConnectError(msg, Code.Unavailable))).toBe(false);
    expect(isTooFewPoints(new ConnectError('points[3].value: not a finite number', Code.InvalidArgument))).toBe(false);
  });
  it('retries only transient failures, once', () => {
    expect(shouldRetry(0, new ConnectError('x', Code.Unavailable))).toBe(true);
    expect(shouldRetry(1, new ConnectError('x', Code.Unavailable))).toBe(false);
    expect(shouldRetry(0, new ConnectError('x', Code.InvalidArgument))).toBe(false);
  });
  it('says which failures a retry may cure', () => {
    expect(isRetryable(new ConnectError('x', Code.Unavailable))).toBe(true);
    expect(isRetryable(new ConnectError('x', Code.Internal))).toBe(true);
    expect(isRetryable(new ConnectError('x', Code.InvalidArgument))).toBe(false);
    expect(isRetryable(new ConnectError('x', Code.PermissionDenied))).toBe(false);
    expect(isRetryable(new ConnectError('x', Code.Unauthenticated))).toBe(false);
  });
  it('reopens streams with backoff', () => {
    const none = () => 0;
    // A stream that was fine until a proxy closed it: reopened after a second.
    expect(streamRetryDelay(0, none)).toBe(1000);
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((n) => streamRetryDelay(n, none))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000,
    ]);
    // Jitter shortens a wait by at most a fifth.
    expect(streamRetryDelay(3, () => 0.999)).toBeGreaterThan(3200);
    expect(streamRetryDelay(3, () => 0.5)).toBe(3600);
    expect(streamRetryDelay(0, () => 0.999)).toBe(1000);
  });
});
