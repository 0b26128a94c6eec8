import { describe, expect, it } from 'vitest';
import { exporterSnippet, otlpEndpoint } from './exporter';

describe('exporter settings', () => {
  it('uses the configured endpoint', () => {
    expect(otlpEndpoint('https://otlp.example.com:4317', { protocol: 'http:', hostname: 'ui.local' })).toBe(
      'https://otlp.example.com:4317',
    );
  });
  it('falls back to the page host, with TLS when the page has it', () => {
    expect(otlpEndpoint('', { protocol: 'http:', hostname: '127.0.0.1' })).toBe('http://127.0.0.1:4317');
    expect(otlpEndpoint('', { protocol: 'https:', hostname: 'airis.example.com' })).toBe('https://airis.example.com:4317');
  });
  it('spells out the protocol and URL-encodes the header', () => {
    expect(exporterSnippet('http://h:4317', 'a.b.c').split('\n')).toEqual([
      'OTEL_EXPORTER_OTLP_ENDPOINT=http://h:4317',
      'OTEL_EXPORTER_OTLP_PROTOCOL=grpc',
      'OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20a.b.c',
    ]);
  });
});
