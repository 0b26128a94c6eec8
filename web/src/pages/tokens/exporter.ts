// The exporter settings shown with a freshly minted ingest token.

/**
 * Environment for an OTLP exporter; header values are URL-encoded per the
 * OTel spec. The protocol is spelled out: several SDKs default to
 * http/protobuf on 4318, and the ingress speaks OTLP/gRPC on 4317.
 */
export function exporterSnippet(endpoint: string, token: string): string {
  return [
    `OTEL_EXPORTER_OTLP_ENDPOINT=${endpoint}`,
    'OTEL_EXPORTER_OTLP_PROTOCOL=grpc',
    `OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20${token}`,
  ].join('\n');
}

/**
 * Where exporters send: the endpoint the operators configured
 * (MintIngestToken's otlp_endpoint), else the ingress's OTLP port on the
 * host this page came from, with TLS when the page has it.
 */
export function otlpEndpoint(configured: string, page: Pick<Location, 'protocol' | 'hostname'>): string {
  if (configured) return configured;
  const scheme = page.protocol === 'https:' ? 'https' : 'http';
  return `${scheme}://${page.hostname}:4317`;
}
