import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { TokenInfoSchema, TokenKind } from '../../gen/airis/gateway/v1/auth_pb';
import { countByKind, kindFilterOf, kindName, matchesKind } from './tokenKinds';

const tok = (kind: TokenKind) => create(TokenInfoSchema, { kind });
const tokens = [
  tok(TokenKind.INGEST),
  tok(TokenKind.SESSION),
  tok(TokenKind.ACCESS),
  tok(TokenKind.ACCESS),
  tok(TokenKind.ACCESS),
  tok(TokenKind.UNSPECIFIED),
];

describe('token kind filter', () => {
  it('defaults to ingest tokens', () => {
    expect(kindFilterOf(null)).toBe('ingest');
    expect(kindFilterOf('bogus')).toBe('ingest');
    expect(kindFilterOf('session')).toBe('session');
    expect(kindFilterOf('all')).toBe('all');
  });
  it('filters on the kind', () => {
    expect(tokens.filter((t) => matchesKind(t, 'ingest'))).toHaveLength(1);
    expect(tokens.filter((t) => matchesKind(t, 'access'))).toHaveLength(3);
    expect(tokens.filter((t) => matchesKind(t, 'all'))).toHaveLength(6);
  });
  it('counts what each filter shows', () => {
    expect(countByKind(tokens)).toEqual({ ingest: 1, session: 1, access: 3, all: 6 });
    expect(countByKind([])).toEqual({ ingest: 0, session: 0, access: 0, all: 0 });
  });
  it('names kinds for their badges', () => {
    expect(kindName(TokenKind.SESSION)).toBe('session');
    expect(kindName(TokenKind.UNSPECIFIED)).toBe('unknown');
  });
});
