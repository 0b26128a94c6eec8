"""Sends one trace of N spans (default 10,000) over five services with the
OpenTelemetry Python SDK, configured by OTEL_EXPORTER_OTLP_* as an
application would be, and prints its trace id: the waterfall's worst case
for the UI's browser tests and benchmarks.

    OTEL_EXPORTER_OTLP_ENDPOINT=... OTEL_EXPORTER_OTLP_HEADERS=... \\
        python3 big_trace.py [spans]

The shape: a root with fan-out calls, each call a service with nested
children three levels deep, start times spread over about 4 seconds.
"""

import sys
import time

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

SERVICES = ["bench-frontend", "bench-orders", "bench-payments", "bench-inventory", "bench-db"]


def main() -> int:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    providers = []
    tracers = []
    for name in SERVICES:
        provider = TracerProvider(resource=Resource.create({"service.name": name}))
        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(timeout=30), max_export_batch_size=512)
        )
        providers.append(provider)
        tracers.append(provider.get_tracer("airis-ui-bench"))

    # Synthetic times, so the trace has a readable shape however fast this runs.
    start = time.time_ns()
    ms = 1_000_000
    made = 1
    root = tracers[0].start_span("GET /bench", start_time=start)
    root_ctx = trace.set_span_in_context(root)
    t = start
    call = 0
    while made < total:
        service = 1 + call % (len(SERVICES) - 1)
        call_start = t + (call % 50) * ms
        parent = tracers[service].start_span(
            f"call {call}", context=root_ctx, start_time=call_start
        )
        made += 1
        ctx = trace.set_span_in_context(parent)
        child_end = call_start
        for i in range(3):
            if made >= total:
                break
            c_start = call_start + (i + 1) * ms // 4
            child = tracers[(service + 1) % len(SERVICES)].start_span(
                f"step {i}", context=ctx, start_time=c_start
            )
            made += 1
            if made < total:
                leaf = tracers[-1].start_span(
                    "SELECT", context=trace.set_span_in_context(child), start_time=c_start + ms // 8
                )
                leaf.end(end_time=c_start + ms // 2)
                made += 1
            child.end(end_time=c_start + ms)
            child_end = max(child_end, c_start + ms)
        parent.end(end_time=child_end + ms // 4)
        t += 4_000 * ms // max(1, total // 5)
        call += 1
    root.end(end_time=max(t, start) + 60 * ms)
    for provider in providers:
        provider.shutdown()
    print(format(root.get_span_context().trace_id, "032x"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
