"""Exports one log record and two metrics with the official OpenTelemetry
Python SDK, for obskit's peer test: the Rust test exports the same with
obskit and checks the receiver decodes both the same way.

Usage: otlp_peer.py PROTOCOL ENDPOINT TRACE_ID SPAN_ID
PROTOCOL is grpc or http/protobuf; ENDPOINT the receiver's base URL.
"""

import sys
import time

from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource

# The semantic conventions' HTTP duration buckets, obskit's default.
BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0]


def main() -> None:
    protocol, endpoint, trace_id, span_id = sys.argv[1:5]
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        logs = OTLPLogExporter(endpoint=endpoint, insecure=True)
        metrics = OTLPMetricExporter(endpoint=endpoint, insecure=True)
    else:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        logs = OTLPLogExporter(endpoint=endpoint + "/v1/logs")
        metrics = OTLPMetricExporter(endpoint=endpoint + "/v1/metrics")
    resource = Resource.create({"service.name": "python-peer"})

    provider = LoggerProvider(resource=resource)
    provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    parent = trace.NonRecordingSpan(
        trace.SpanContext(
            trace_id=int(trace_id, 16),
            span_id=int(span_id, 16),
            is_remote=True,
            trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
        )
    )
    context = trace.set_span_in_context(parent)
    provider.get_logger("peer_scope").emit(
        context=context,
        timestamp=time.time_ns(),
        severity_number=SeverityNumber.WARN,
        severity_text="WARN",
        body="charging failed",
        attributes={"amount": 10.5, "declined": True, "code": -3, "card": "4111"},
        event_name="order.charge",
    )
    provider.shutdown()

    reader = PeriodicExportingMetricReader(metrics, export_interval_millis=3_600_000)
    meters = MeterProvider(
        resource=resource,
        metric_readers=[reader],
        views=[
            View(
                instrument_name="work_duration_seconds",
                aggregation=ExplicitBucketHistogramAggregation(boundaries=BUCKETS),
            )
        ],
    )
    meter = meters.get_meter("peer_scope")
    meter.create_counter("jobs_total").add(7, {"queue": "a"})
    histogram = meter.create_histogram("work_duration_seconds")
    histogram.record(0.3, {"kind": "x"})
    histogram.record(2.0, {"kind": "x"})
    meters.shutdown()


if __name__ == "__main__":
    main()
