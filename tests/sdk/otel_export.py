#!/usr/bin/env python3
"""Export a known set of traces, logs and metrics with the official
OpenTelemetry Python SDK and its OTLP/gRPC exporters (not our code), so an
end-to-end test can check that exactly this data reaches ClickHouse.

    otel_export.py --endpoint 127.0.0.1:4317 --header authorization='Bearer dev-token' \
        --service NAME --traces N --logs N --run-id ID [--insecure]

Sends:
- N traces, each a SERVER root span with 2 CLIENT children (3N spans). Every
  span carries `run.id=ID` and attributes of several types (string, int,
  float, bool, string array); the root has one event with attributes, the
  second child a link to the first child; in every trace whose index is a
  multiple of 3 the root and the second child have ERROR status.
- N log records with severities cycling INFO, WARN, ERROR, a string body,
  attributes and `run.id`; every even-numbered record is correlated with the
  trace/span id of a root span (when N traces > 0).
- One metrics export: an observable gauge (2 points), a monotonic counter
  (3 points) and an explicit-bucket histogram (2 points), all with `run.id`.

Exits 0 and prints one JSON line on stdout only if every export succeeded
with nothing rejected by the receiver (an OTLP partial success with rejected
items counts as a failure):

    {"spans": 3N, "logs": N, "metric_points": {"gauge": 2, "sum": 3, "histogram": 2},
     "trace_ids": ["<32 hex>", ...], "error_spans": E, "correlated_logs": C}

On failure it exits 1 with the reason on stderr (2 for usage errors).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from typing import Any, Callable, Sequence

import grpc
from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    Gauge,
    Histogram,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
    Sum,
)
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import Link, NonRecordingSpan, SpanKind, Status, StatusCode

LOG = logging.getLogger("otel_export")

SCOPE = "airis.tests.sdk"
SCOPE_VERSION = "1.0.0"
GAUGE = "airis.test.queue_depth"
COUNTER = "airis.test.requests"
HISTOGRAM = "airis.test.latency"
HISTOGRAM_BOUNDS = [5.0, 10.0, 25.0, 50.0, 100.0, 250.0]
GAUGE_POINTS = {"a": 7, "b": 3}
COUNTER_POINTS = {"/checkout": 1, "/cart": 2, "/search": 3}
HISTOGRAM_POINTS = {"/checkout": [3.0, 7.0, 30.0, 120.0, 400.0], "/cart": [1.0, 60.0]}
EXPECTED_METRIC_POINTS = {
    "gauge": len(GAUGE_POINTS),
    "sum": len(COUNTER_POINTS),
    "histogram": len(HISTOGRAM_POINTS),
}
SEVERITIES = [
    (SeverityNumber.INFO, "INFO"),
    (SeverityNumber.WARN, "WARN"),
    (SeverityNumber.ERROR, "ERROR"),
]


class Stats:
    """What the exporters report: items exported, failed and rejected."""

    def __init__(self, signal: str) -> None:
        self.signal = signal
        self.lock = threading.Lock()
        self.exported = 0
        self.failed = 0
        self.rejected = 0
        self.messages: list[str] = []

    def export_result(self, ok: bool, items: int) -> None:
        with self.lock:
            if ok:
                self.exported += items
            else:
                self.failed += items

    def partial_success(self, rejected: int, message: str) -> None:
        with self.lock:
            self.rejected += rejected
            if message:
                self.messages.append(message)

    def problems(self) -> list[str]:
        out = []
        if self.failed:
            out.append(f"{self.signal}: export of {self.failed} items failed")
        if self.rejected:
            out.append(f"{self.signal}: receiver rejected {self.rejected} items: {'; '.join(self.messages)}")
        elif self.messages:
            LOG.warning("%s: receiver warned: %s", self.signal, "; ".join(self.messages))
        return out


class _ResponseHook:
    """Wraps the generated gRPC stub so that the response (and its
    `partial_success`) is seen; the SDK exporters discard it."""

    def __init__(self, stub: Any, on_response: Callable[[Any], None]) -> None:
        self._stub = stub
        self._on_response = on_response

    def Export(self, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = self._stub.Export(*args, **kwargs)
        self._on_response(response)
        return response


class _Recording:
    """Mixin for the OTLP exporters: records export results and the
    receiver's partial_success. Relies on the exporters' `_client` stub
    attribute (checked at start-up)."""

    stats: Stats
    _rejected_field: str

    def _initialize_channel_and_stub(self) -> None:
        super()._initialize_channel_and_stub()  # type: ignore[misc]
        client = getattr(self, "_client", None)
        if client is None:
            raise RuntimeError("this SDK version has no OTLP exporter `_client`; cannot observe partial_success")
        self._client = _ResponseHook(client, self._on_response)

    def _on_response(self, response: Any) -> None:
        if response is not None and response.HasField("partial_success"):
            ps = response.partial_success
            self.stats.partial_success(getattr(ps, self._rejected_field), ps.error_message)


class SpanExporter(_Recording, OTLPSpanExporter):
    _rejected_field = "rejected_spans"

    def __init__(self, stats: Stats, **kwargs: Any) -> None:
        self.stats = stats
        super().__init__(**kwargs)

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        result = super().export(spans)
        self.stats.export_result(result == SpanExportResult.SUCCESS, len(spans))
        return result


class LogExporter(_Recording, OTLPLogExporter):
    _rejected_field = "rejected_log_records"

    def __init__(self, stats: Stats, **kwargs: Any) -> None:
        self.stats = stats
        super().__init__(**kwargs)

    def export(self, batch: Sequence[Any], *args: Any, **kwargs: Any) -> Any:
        result = super().export(batch, *args, **kwargs)
        # LogRecordExportResult / LogExportResult: SUCCESS has value 0.
        self.stats.export_result(getattr(result, "name", "") == "SUCCESS", len(batch))
        return result


class MetricExporter(_Recording, OTLPMetricExporter):
    """Forwards exactly one collection: after `seal()` further exports (the
    reader's final collection at shutdown) are not sent, so the receiver
    gets a known number of data points."""

    _rejected_field = "rejected_data_points"

    def __init__(self, stats: Stats, **kwargs: Any) -> None:
        self.stats = stats
        self.sealed = False
        self.points = {"gauge": 0, "sum": 0, "histogram": 0}
        super().__init__(**kwargs)

    def seal(self) -> None:
        self.sealed = True

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        if self.sealed:
            return MetricExportResult.SUCCESS
        points = count_points(metrics_data)
        result = super().export(metrics_data, timeout_millis=timeout_millis, **kwargs)
        ok = result == MetricExportResult.SUCCESS
        self.stats.export_result(ok, sum(points.values()))
        if ok:
            for kind, n in points.items():
                self.points[kind] += n
        return result


def count_points(data: MetricsData) -> dict[str, int]:
    points = {"gauge": 0, "sum": 0, "histogram": 0}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            if sm.scope.name != SCOPE:
                continue
            for metric in sm.metrics:
                kind = {Gauge: "gauge", Sum: "sum", Histogram: "histogram"}.get(type(metric.data))
                if kind is None:
                    raise RuntimeError(f"unexpected metric type {type(metric.data).__name__} for {metric.name}")
                points[kind] += len(metric.data.data_points)
    return points


def parse_header(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"header must be KEY=VALUE, got {text!r}")
    # gRPC metadata keys are lowercase.
    return key.strip().lower(), value.strip()


def non_negative(text: str) -> int:
    n = int(text)
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {n}")
    return n


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint", default="127.0.0.1:4317", help="HOST:PORT, or http(s)://HOST:PORT")
    p.add_argument("--header", action="append", type=parse_header, default=[], metavar="KEY=VALUE",
                   help="gRPC metadata sent with every export (repeatable)")
    p.add_argument("--service", required=True, help="service.name of the resource")
    p.add_argument("--service-version", default="1.0.0")
    p.add_argument("--environment", default="test", help="deployment.environment of the resource")
    p.add_argument("--traces", type=non_negative, default=0, help="traces to send (3 spans each)")
    p.add_argument("--logs", type=non_negative, default=0, help="log records to send")
    p.add_argument("--run-id", required=True, help="value of the run.id attribute on everything sent")
    p.add_argument("--insecure", action="store_true", help="plaintext gRPC (default: TLS unless the endpoint is http://)")
    p.add_argument("--timeout", type=float, default=10.0,
                   help="seconds to wait for the endpoint and per export, retries included (default 10)")
    return p.parse_args(argv)


def split_endpoint(endpoint: str, insecure: bool) -> tuple[str, bool]:
    scheme, sep, rest = endpoint.partition("://")
    if not sep:
        return endpoint, insecure
    if scheme not in ("http", "https"):
        raise SystemExit(f"otel_export: unsupported endpoint scheme {scheme!r}")
    return rest.rstrip("/"), insecure or scheme == "http"


def wait_for_endpoint(target: str, insecure: bool, timeout: float) -> None:
    """Fails fast and clearly when nothing listens (the exporters would only
    log retries)."""
    channel = grpc.insecure_channel(target) if insecure else grpc.secure_channel(target, grpc.ssl_channel_credentials())
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
    except grpc.FutureTimeoutError:
        mode = "plaintext" if insecure else "TLS"
        raise SystemExit(f"otel_export: cannot connect to OTLP endpoint {target} ({mode}) within {timeout:g}s") from None
    finally:
        channel.close()


def span_attributes(run_id: str, i: int, role: str) -> dict[str, Any]:
    return {
        "run.id": run_id,
        "span.role": role,
        "trace.index": i,
        "sample.ratio": 0.25 + i,
        "cache.hit": i % 2 == 0,
        "tags": ["airis", "sdk", role],
    }


def send_traces(tracer: trace.Tracer, run_id: str, n: int) -> tuple[list[str], list[trace.SpanContext], int]:
    trace_ids: list[str] = []
    roots: list[trace.SpanContext] = []
    errors = 0
    for i in range(n):
        failing = i % 3 == 0
        # An empty parent context: every root starts a new trace.
        with tracer.start_as_current_span("GET /checkout", context=Context(), kind=SpanKind.SERVER,
                                          attributes={**span_attributes(run_id, i, "root"),
                                                      "http.request.method": "GET",
                                                      "http.response.status_code": 500 if failing else 200}) as root:
            ctx = root.get_span_context()
            trace_ids.append(format(ctx.trace_id, "032x"))
            roots.append(ctx)
            root.add_event("request.received", attributes={"run.id": run_id, "request.bytes": 512 + i,
                                                            "request.compressed": True})
            with tracer.start_as_current_span("SELECT orders", kind=SpanKind.CLIENT,
                                              attributes={**span_attributes(run_id, i, "db"),
                                                          "db.system.name": "postgresql"}) as db:
                db_ctx = db.get_span_context()
            with tracer.start_as_current_span("POST /payments", kind=SpanKind.CLIENT,
                                              links=[Link(db_ctx, {"run.id": run_id, "link.reason": "after-db"})],
                                              attributes={**span_attributes(run_id, i, "payment"),
                                                          "server.address": "payments.internal"}) as pay:
                if failing:
                    pay.set_status(Status(StatusCode.ERROR, "payment declined"))
                    errors += 1
            if failing:
                root.set_status(Status(StatusCode.ERROR, "checkout failed"))
                errors += 1
    return trace_ids, roots, errors


def send_logs(logger: Any, run_id: str, n: int, roots: list[trace.SpanContext]) -> int:
    correlated = 0
    for i in range(n):
        number, text = SEVERITIES[i % len(SEVERITIES)]
        context = Context()
        if roots and i % 2 == 0:
            context = trace.set_span_in_context(NonRecordingSpan(roots[i % len(roots)]), Context())
            correlated += 1
        logger.emit(
            timestamp=time.time_ns(),
            context=context,
            severity_number=number,
            severity_text=text,
            body=f"order {i} processed ({text.lower()})",
            attributes={
                "run.id": run_id,
                "log.index": i,
                "order.amount": 10.5 * (i + 1),
                "order.paid": i % 3 != 2,
                "order.items": ["book", "pen"],
            },
        )
    return correlated


def record_metrics(meter: Any, run_id: str) -> None:
    def observe(_options: CallbackOptions) -> list[Observation]:
        return [Observation(v, {"run.id": run_id, "queue": q}) for q, v in GAUGE_POINTS.items()]

    meter.create_observable_gauge(GAUGE, callbacks=[observe], unit="{item}", description="queue depth")
    counter = meter.create_counter(COUNTER, unit="{request}", description="requests served")
    for route, value in COUNTER_POINTS.items():
        counter.add(value, {"run.id": run_id, "http.route": route})
    histogram = meter.create_histogram(HISTOGRAM, unit="ms", description="request latency")
    for route, values in HISTOGRAM_POINTS.items():
        for v in values:
            histogram.record(v, {"run.id": run_id, "http.route": route})


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    target, insecure = split_endpoint(args.endpoint, args.insecure)
    wait_for_endpoint(target, insecure, args.timeout)

    exporter_args: dict[str, Any] = {
        "endpoint": target,
        "insecure": insecure,
        "headers": dict(args.header),
        "timeout": args.timeout,
    }
    resource = Resource.create({
        "service.name": args.service,
        "service.version": args.service_version,
        "deployment.environment": args.environment,
    })
    span_stats, log_stats, metric_stats = Stats("spans"), Stats("logs"), Stats("metrics")

    # Traces.
    tracer_provider = TracerProvider(resource=resource, sampler=ALWAYS_ON)
    span_queue = max(2048, 3 * args.traces)
    tracer_provider.add_span_processor(BatchSpanProcessor(
        SpanExporter(span_stats, **exporter_args),
        max_queue_size=span_queue, max_export_batch_size=512, schedule_delay_millis=200,
        export_timeout_millis=int(args.timeout * 1000) * 2))
    tracer = tracer_provider.get_tracer(SCOPE, SCOPE_VERSION)

    # Logs.
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(
        LogExporter(log_stats, **exporter_args),
        max_queue_size=max(2048, args.logs), max_export_batch_size=512, schedule_delay_millis=200,
        export_timeout_millis=int(args.timeout * 1000) * 2))
    logger = logger_provider.get_logger(SCOPE, SCOPE_VERSION)

    # Metrics: a reader that never fires on its own; force_flush exports once.
    metric_exporter = MetricExporter(metric_stats, **exporter_args)
    reader = PeriodicExportingMetricReader(metric_exporter, export_interval_millis=3_600_000,
                                           export_timeout_millis=args.timeout * 1000 * 2)
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader], views=[
        View(instrument_name=HISTOGRAM, aggregation=ExplicitBucketHistogramAggregation(HISTOGRAM_BOUNDS)),
    ])
    meter = meter_provider.get_meter(SCOPE, SCOPE_VERSION)

    trace_ids, roots, error_spans = send_traces(tracer, args.run_id, args.traces)
    correlated = send_logs(logger, args.run_id, args.logs, roots)
    record_metrics(meter, args.run_id)

    flush_ms = int(args.timeout * 1000) * 3
    flushed = {
        "spans": tracer_provider.force_flush(flush_ms),
        "logs": logger_provider.force_flush(flush_ms),
        "metrics": meter_provider.force_flush(flush_ms),
    }
    metric_exporter.seal()
    tracer_provider.shutdown()
    logger_provider.shutdown()
    meter_provider.shutdown()

    problems = [f"{signal}: force_flush timed out" for signal, ok in flushed.items() if not ok]
    for stats in (span_stats, log_stats, metric_stats):
        problems += stats.problems()
    expected = {"spans": 3 * args.traces, "logs": args.logs}
    for signal, stats in (("spans", span_stats), ("logs", log_stats)):
        if stats.exported != expected[signal] and not stats.failed:
            problems.append(f"{signal}: exported {stats.exported}, expected {expected[signal]}")
    if metric_exporter.points != EXPECTED_METRIC_POINTS and not metric_stats.failed:
        problems.append(f"metrics: exported points {metric_exporter.points}, expected {EXPECTED_METRIC_POINTS}")
    if problems:
        for problem in problems:
            print(f"otel_export: {problem}", file=sys.stderr)
        return 1

    print(json.dumps({
        "spans": span_stats.exported,
        "logs": log_stats.exported,
        "metric_points": metric_exporter.points,
        "trace_ids": trace_ids,
        "error_spans": error_spans,
        "correlated_logs": correlated,
    }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
