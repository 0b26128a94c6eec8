"""Exports one span with the official OpenTelemetry Python SDK, configured
only by the OTEL_EXPORTER_OTLP_* variables the UI's token dialog shows, the
way an application would be.

    OTEL_EXPORTER_OTLP_ENDPOINT=... OTEL_EXPORTER_OTLP_HEADERS=... \\
        python3 otlp_export.py <service.name>

Exit status 0 when the ingress accepted the span, 1 when it refused it
(the refusal on stderr).
"""

import sys

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult


class Recording(OTLPSpanExporter):
    """The OTLP exporter, remembering the result of its last export."""

    result = None

    def export(self, spans):
        self.result = super().export(spans)
        return self.result


def main() -> int:
    service = sys.argv[1]
    # No retries on refusal: UNAUTHENTICATED is final for the SDK anyway.
    exporter = Recording(timeout=10)
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("airis-ui-e2e").start_as_current_span("ui-e2e-export"):
        pass
    provider.shutdown()
    if exporter.result == SpanExportResult.SUCCESS:
        print("exported")
        return 0
    print(f"export refused: {exporter.result}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
